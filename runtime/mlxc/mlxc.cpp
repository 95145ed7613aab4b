//go:build mlx

// The shim between Go and the MLX C++ API. Written for this project (mlx-c is not on the
// package registries here). Rules every entry point keeps:
//   - no C++ exception crosses the C boundary: each body runs in guard(), which turns any
//     exception into an error string, so an MLX failure is a Go error and never a terminate();
//   - every graph is built and evaluated inside one call, on the calling thread, and
//     synchronized before returning, so no lazy array outlives the call that made it except
//     the loaded weights, which are evaluated at load time.
#include "mlxc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mlx/mlx.h"

namespace mx = mlx::core;

struct mlxc_weights {
  std::map<std::string, mx::array> arrays;  // sorted: names are listed in a stable order
  mx::Device device{mx::Device::cpu};
  int64_t nbytes = 0;
};

namespace {

char* dup_cstr(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
  }
  return p;
}

void set_err(char** err, const std::string& msg) {
  if (err != nullptr) {
    *err = dup_cstr(msg);
  }
}

template <typename F>
int guard(char** err, F&& f) {
  try {
    f();
    return 0;
  } catch (const std::bad_alloc&) {
    set_err(err, "out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    set_err(err, e.what());
  } catch (...) {
    set_err(err, "unknown C++ exception");
  }
  return 1;
}

mx::Device to_device(int device) {
  switch (device) {
    case MLXC_DEVICE_CPU:
      return mx::Device(mx::Device::cpu);
    case MLXC_DEVICE_GPU: {
      mx::Device d(mx::Device::gpu);
      if (!mx::is_available(d)) {
        throw std::runtime_error("the gpu device is not available in this MLX build");
      }
      return d;
    }
    default:
      throw std::invalid_argument("unknown device " + std::to_string(device));
  }
}

// A read-only window [base, base+size) of a file, read with pread so concurrent reads at
// explicit offsets are safe. MLX's npy loader reads the header through it and may keep it for
// the lazy data read, hence shared ownership of the descriptor.
class WindowReader : public mx::io::Reader {
 public:
  WindowReader(std::shared_ptr<int> fd, std::string label, int64_t base, int64_t size)
      : fd_(std::move(fd)), label_(std::move(label)), base_(base), size_(size) {}
  bool is_open() const override { return *fd_ >= 0; }
  bool good() const override { return good_; }
  size_t tell() override { return static_cast<size_t>(pos_); }
  void seek(int64_t off, std::ios_base::seekdir way) override {
    int64_t p = way == std::ios_base::beg ? off : way == std::ios_base::cur ? pos_ + off : size_ + off;
    if (p < 0 || p > size_) {
      good_ = false;
      throw std::runtime_error("seek outside " + label_);
    }
    pos_ = p;
  }
  void read(char* data, size_t n) override {
    read(data, n, static_cast<size_t>(pos_));
    pos_ += static_cast<int64_t>(n);
  }
  void read(char* data, size_t n, size_t offset) override {
    if (offset > static_cast<size_t>(size_) || n > static_cast<size_t>(size_) - offset) {
      good_ = false;
      throw std::runtime_error("read past the end of " + label_);
    }
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(*fd_, data + done, n - done, base_ + static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        good_ = false;
        throw std::runtime_error("short read in " + label_);
      }
      done += static_cast<size_t>(r);
    }
  }
  std::string label() const override { return label_; }

 private:
  std::shared_ptr<int> fd_;
  std::string label_;
  int64_t base_, size_, pos_ = 0;
  bool good_ = true;
};

std::shared_ptr<int> open_fd(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  }
  return std::shared_ptr<int>(new int(fd), [](int* p) {
    if (*p >= 0) ::close(*p);
    delete p;
  });
}

// finish evaluates every loaded array (so the load has read the file when it returns) and
// moves them into a new handle.
mlxc_weights* finish(std::map<std::string, mx::array> arrays, mx::Device dev) {
  std::vector<mx::array> all;
  all.reserve(arrays.size());
  for (auto& kv : arrays) all.push_back(kv.second);
  mx::eval(all);
  mx::synchronize();
  auto w = std::make_unique<mlxc_weights>();
  w->device = dev;
  for (auto& kv : arrays) w->nbytes += static_cast<int64_t>(kv.second.nbytes());
  w->arrays = std::move(arrays);
  return w.release();
}

}  // namespace

extern "C" {

int mlxc_load(const char* path, int format, int device, mlxc_weights** out, char** err) {
  return guard(err, [&] {
    if (path == nullptr || out == nullptr) throw std::invalid_argument("nil path or output");
    *out = nullptr;
    mx::Device dev = to_device(device);
    std::map<std::string, mx::array> arrays;
    switch (format) {
      case MLXC_FORMAT_SAFETENSORS: {
        auto loaded = mx::load_safetensors(std::string(path), dev);
        for (auto& kv : loaded.first) arrays.emplace(kv.first, kv.second);
        break;
      }
      case MLXC_FORMAT_GGUF: {
        auto loaded = mx::load_gguf(std::string(path), dev);
        for (auto& kv : loaded.first) arrays.emplace(kv.first, kv.second);
        break;
      }
      case MLXC_FORMAT_NPY:
        arrays.emplace("array", mx::load(std::string(path), dev));
        break;
      default:
        throw std::invalid_argument("unknown format " + std::to_string(format));
    }
    *out = finish(std::move(arrays), dev);
  });
}

int mlxc_load_npz(const char* path, const mlxc_npy_member* members, int n, int device,
                  mlxc_weights** out, char** err) {
  return guard(err, [&] {
    if (path == nullptr || out == nullptr || (n > 0 && members == nullptr) || n < 0) {
      throw std::invalid_argument("invalid npz arguments");
    }
    *out = nullptr;
    mx::Device dev = to_device(device);
    auto fd = open_fd(path);
    struct stat st;
    if (::fstat(*fd, &st) != 0) throw std::runtime_error(std::string("stat: ") + std::strerror(errno));
    std::map<std::string, mx::array> arrays;
    for (int i = 0; i < n; i++) {
      const auto& m = members[i];
      if (m.name == nullptr || m.offset < 0 || m.size < 0 || m.offset > st.st_size ||
          m.size > st.st_size - m.offset) {
        throw std::invalid_argument("npz member outside the file");
      }
      std::string name(m.name);
      auto reader = std::make_shared<WindowReader>(fd, std::string(path) + ":" + name, m.offset, m.size);
      if (!arrays.emplace(name, mx::load(reader, dev)).second) {
        throw std::invalid_argument("duplicate npz member " + name);
      }
    }
    *out = finish(std::move(arrays), dev);
  });
}

void mlxc_weights_free(mlxc_weights* w) {
  try {
    delete w;
  } catch (...) {
  }
}

int64_t mlxc_weights_count(const mlxc_weights* w) { return w ? static_cast<int64_t>(w->arrays.size()) : 0; }

int64_t mlxc_weights_nbytes(const mlxc_weights* w) { return w ? w->nbytes : 0; }

int64_t mlxc_weights_name(const mlxc_weights* w, int64_t i, char* buf, int64_t cap) {
  if (w == nullptr || i < 0 || i >= static_cast<int64_t>(w->arrays.size())) return -1;
  auto it = w->arrays.begin();
  std::advance(it, i);
  const std::string& s = it->first;
  if (buf != nullptr && cap > 0) {
    size_t n = std::min<size_t>(s.size(), static_cast<size_t>(cap - 1));
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int64_t>(s.size());
}

int mlxc_weights_shape(const mlxc_weights* w, const char* name, int64_t* dims, int cap) {
  if (w == nullptr || name == nullptr) return -1;
  auto it = w->arrays.find(name);
  if (it == w->arrays.end()) return -1;
  const auto& shape = it->second.shape();
  for (int i = 0; i < cap && i < static_cast<int>(shape.size()); i++) dims[i] = shape[i];
  return static_cast<int>(shape.size());
}

int mlxc_mlp_forward(const mlxc_weights* w, const float* in, int64_t batch, int64_t in_dim,
                     float* out, int64_t out_cap, int64_t* classes, char** err) {
  return guard(err, [&] {
    if (w == nullptr || in == nullptr || out == nullptr || classes == nullptr) {
      throw std::invalid_argument("nil argument");
    }
    if (batch <= 0 || in_dim <= 0 || batch > (1 << 20) || in_dim > (1 << 20)) {
      throw std::invalid_argument("batch and input size must be in [1, 2^20]");
    }
    // Collect layers.0 .. layers.N-1; the chain ends at the first missing index.
    std::vector<std::pair<const mx::array*, const mx::array*>> layers;
    for (int i = 0;; i++) {
      auto wi = w->arrays.find("layers." + std::to_string(i) + ".weight");
      if (wi == w->arrays.end()) break;
      auto bi = w->arrays.find("layers." + std::to_string(i) + ".bias");
      layers.emplace_back(&wi->second, bi == w->arrays.end() ? nullptr : &bi->second);
    }
    if (layers.empty()) throw std::invalid_argument("no layers.0.weight: not an MLP classifier");
    int64_t dim = in_dim;
    for (size_t i = 0; i < layers.size(); i++) {
      const auto& W = *layers[i].first;
      if (W.ndim() != 2 || W.shape(1) != dim) {
        std::ostringstream os;
        os << "layers." << i << ".weight has shape (";
        for (size_t k = 0; k < W.shape().size(); k++) os << (k ? "," : "") << W.shape()[k];
        os << "), want (out," << dim << ")";
        throw std::invalid_argument(os.str());
      }
      if (layers[i].second != nullptr) {
        const auto& b = *layers[i].second;
        if (b.ndim() != 1 || b.shape(0) != W.shape(0)) {
          throw std::invalid_argument("layers." + std::to_string(i) + ".bias does not match its weight");
        }
      }
      dim = W.shape(0);
    }
    if (batch * dim > out_cap) throw std::invalid_argument("output buffer too small");

    mx::StreamOrDevice s = w->device;
    mx::array x(in, mx::Shape{static_cast<int>(batch), static_cast<int>(in_dim)}, mx::float32);
    for (size_t i = 0; i < layers.size(); i++) {
      const auto& W = *layers[i].first;
      x = mx::matmul(x, mx::transpose(mx::astype(W, mx::float32, s), s), s);
      if (layers[i].second != nullptr) x = mx::add(x, mx::astype(*layers[i].second, mx::float32, s), s);
      if (i + 1 < layers.size()) x = mx::maximum(x, mx::array(0.0f), s);
    }
    x = mx::contiguous(mx::softmax(x, std::vector<int>{-1}, true, s), false, s);
    mx::eval(x);
    mx::synchronize();
    std::memcpy(out, x.data<float>(), static_cast<size_t>(batch * dim) * sizeof(float));
    *classes = dim;
  });
}

}  // extern "C"

namespace {

// Bounds of the language-model entry points: positions of one sequence, and model sizes that
// keep index arithmetic far from overflow.
constexpr int64_t kMaxSeq = 4096;

const mx::array& weight(const mlxc_weights* w, const std::string& name) {
  auto it = w->arrays.find(name);
  if (it == w->arrays.end()) throw std::invalid_argument("missing weight " + name);
  return it->second;
}

void want_shape(const mx::array& a, const std::string& name, std::initializer_list<int> shape) {
  mx::Shape want(shape);
  if (a.shape() != want) {
    std::ostringstream os;
    os << name << " has shape (";
    for (size_t k = 0; k < a.shape().size(); k++) os << (k ? "," : "") << a.shape()[k];
    os << "), the config says (";
    size_t k = 0;
    for (int d : shape) os << (k++ ? "," : "") << d;
    os << ")";
    throw std::invalid_argument(os.str());
  }
}

void check_lm(const mlxc_weights* w, const mlxc_lm_config& c) {
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.vocab <= 0 ||
      c.hidden > (1 << 16) || c.layers > 1024 || c.vocab > (1 << 22) || c.hidden % c.heads != 0 ||
      c.heads % c.kv_heads != 0) {
    throw std::invalid_argument("invalid language-model config");
  }
  int hd = c.hidden / c.heads;
  want_shape(weight(w, "model.embed_tokens.weight"), "model.embed_tokens.weight", {c.vocab, c.hidden});
  for (int i = 0; i < c.layers; i++) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    want_shape(weight(w, p + "self_attn.q_proj.weight"), p + "self_attn.q_proj.weight", {c.heads * hd, c.hidden});
    want_shape(weight(w, p + "self_attn.k_proj.weight"), p + "self_attn.k_proj.weight", {c.kv_heads * hd, c.hidden});
    want_shape(weight(w, p + "self_attn.v_proj.weight"), p + "self_attn.v_proj.weight", {c.kv_heads * hd, c.hidden});
    want_shape(weight(w, p + "self_attn.o_proj.weight"), p + "self_attn.o_proj.weight", {c.hidden, c.heads * hd});
    want_shape(weight(w, p + "input_layernorm.weight"), p + "input_layernorm.weight", {c.hidden});
    want_shape(weight(w, p + "post_attention_layernorm.weight"), p + "post_attention_layernorm.weight", {c.hidden});
    const auto& gate = weight(w, p + "mlp.gate_proj.weight");
    if (gate.ndim() != 2 || gate.shape(1) != c.hidden) throw std::invalid_argument(p + "mlp.gate_proj.weight: wrong shape");
    int inter = gate.shape(0);
    want_shape(weight(w, p + "mlp.up_proj.weight"), p + "mlp.up_proj.weight", {inter, c.hidden});
    want_shape(weight(w, p + "mlp.down_proj.weight"), p + "mlp.down_proj.weight", {c.hidden, inter});
  }
  want_shape(weight(w, "model.norm.weight"), "model.norm.weight", {c.hidden});
  if (!c.tie_word_embeddings) want_shape(weight(w, "lm_head.weight"), "lm_head.weight", {c.vocab, c.hidden});
}

// lm_forward is mlx_lm's llama forward pass without a KV cache: logits for every position.
mx::array lm_forward(const mlxc_weights* w, const mlxc_lm_config& c, const std::vector<int32_t>& toks) {
  mx::StreamOrDevice s = w->device;
  const int L = static_cast<int>(toks.size());
  const int hd = c.hidden / c.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto linear = [&](const mx::array& x, const std::string& name) {
    return mx::matmul(x, mx::transpose(weight(w, name), s), s);
  };
  mx::array ids(toks.data(), mx::Shape{1, L}, mx::int32);
  const auto& embed = weight(w, "model.embed_tokens.weight");
  mx::array h = mx::take(embed, ids, 0, s);  // [1, L, hidden]
  for (int i = 0; i < c.layers; i++) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    mx::array x = mx::fast::rms_norm(h, weight(w, p + "input_layernorm.weight"), c.rms_norm_eps, s);
    auto heads = [&](const std::string& proj, int n) {
      return mx::transpose(mx::reshape(linear(x, p + proj), {1, L, n, hd}, s), {0, 2, 1, 3}, s);
    };
    mx::array q = heads("self_attn.q_proj.weight", c.heads);
    mx::array k = heads("self_attn.k_proj.weight", c.kv_heads);
    mx::array v = heads("self_attn.v_proj.weight", c.kv_heads);
    q = mx::fast::rope(q, hd, c.rope_traditional != 0, c.rope_theta, 1.0f, 0, std::nullopt, s);
    k = mx::fast::rope(k, hd, c.rope_traditional != 0, c.rope_theta, 1.0f, 0, std::nullopt, s);
    mx::array o = mx::fast::scaled_dot_product_attention(q, k, v, scale, L > 1 ? "causal" : "", {}, {}, false, s);
    o = mx::reshape(mx::transpose(o, {0, 2, 1, 3}, s), {1, L, c.heads * hd}, s);
    h = mx::add(h, linear(o, p + "self_attn.o_proj.weight"), s);
    x = mx::fast::rms_norm(h, weight(w, p + "post_attention_layernorm.weight"), c.rms_norm_eps, s);
    mx::array g = linear(x, p + "mlp.gate_proj.weight");
    mx::array act = mx::multiply(mx::multiply(g, mx::sigmoid(g, s), s), linear(x, p + "mlp.up_proj.weight"), s);
    h = mx::add(h, linear(act, p + "mlp.down_proj.weight"), s);
  }
  h = mx::fast::rms_norm(h, weight(w, "model.norm.weight"), c.rms_norm_eps, s);
  return c.tie_word_embeddings ? mx::matmul(h, mx::transpose(embed, s), s) : linear(h, "lm_head.weight");
}

std::vector<int32_t> checked_tokens(const mlxc_lm_config& c, const int32_t* tokens, int64_t n, int64_t extra) {
  if (tokens == nullptr || n <= 0 || extra < 0 || n > kMaxSeq || extra > kMaxSeq - n) {
    throw std::invalid_argument("need 1 to " + std::to_string(kMaxSeq) + " positions in all");
  }
  std::vector<int32_t> v(tokens, tokens + n);
  for (int32_t t : v) {
    if (t < 0 || t >= c.vocab) throw std::invalid_argument("token id " + std::to_string(t) + " outside the vocabulary");
  }
  return v;
}

}  // namespace

extern "C" {

int mlxc_lm_logits(const mlxc_weights* w, const mlxc_lm_config* cfg, const int32_t* tokens, int64_t n,
                   float* out, int64_t out_cap, char** err) {
  return guard(err, [&] {
    if (w == nullptr || cfg == nullptr || out == nullptr) throw std::invalid_argument("nil argument");
    check_lm(w, *cfg);
    if (out_cap < cfg->vocab) throw std::invalid_argument("output buffer smaller than the vocabulary");
    auto toks = checked_tokens(*cfg, tokens, n, 0);
    mx::StreamOrDevice s = w->device;
    mx::array logits = lm_forward(w, *cfg, toks);
    int L = static_cast<int>(toks.size());
    mx::array last = mx::contiguous(mx::astype(mx::reshape(mx::slice(logits, mx::Shape{0, L - 1, 0}, mx::Shape{1, L, cfg->vocab}, s), {cfg->vocab}, s), mx::float32, s), false, s);
    mx::eval(last);
    mx::synchronize();
    std::memcpy(out, last.data<float>(), static_cast<size_t>(cfg->vocab) * sizeof(float));
  });
}

int mlxc_lm_generate(const mlxc_weights* w, const mlxc_lm_config* cfg, const int32_t* tokens, int64_t n,
                     int64_t max_new, int32_t eos, int32_t* out, int64_t* n_out, char** err) {
  return guard(err, [&] {
    if (w == nullptr || cfg == nullptr || out == nullptr || n_out == nullptr) throw std::invalid_argument("nil argument");
    *n_out = 0;
    check_lm(w, *cfg);
    auto toks = checked_tokens(*cfg, tokens, n, max_new);
    mx::StreamOrDevice s = w->device;
    for (int64_t i = 0; i < max_new; i++) {
      mx::array logits = lm_forward(w, *cfg, toks);
      int L = static_cast<int>(toks.size());
      mx::array next = mx::argmax(mx::slice(logits, mx::Shape{0, L - 1, 0}, mx::Shape{1, L, cfg->vocab}, s), -1, false, s);
      mx::eval(next);
      mx::synchronize();
      int32_t t = static_cast<int32_t>(next.item<uint32_t>());
      out[i] = t;
      *n_out = i + 1;
      toks.push_back(t);
      if (eos >= 0 && t == eos) break;
    }
  });
}

int mlxc_memory(mlxc_memory_stats* st, char** err) {
  return guard(err, [&] {
    if (st == nullptr) throw std::invalid_argument("nil stats");
    st->active = static_cast<int64_t>(mx::get_active_memory());
    st->peak = static_cast<int64_t>(mx::get_peak_memory());
    st->cache = static_cast<int64_t>(mx::get_cache_memory());
    st->limit = static_cast<int64_t>(mx::get_memory_limit());
  });
}

int mlxc_reset_peak_memory(char** err) {
  return guard(err, [] { mx::reset_peak_memory(); });
}

int mlxc_clear_cache(char** err) {
  return guard(err, [] { mx::clear_cache(); });
}

int mlxc_set_memory_limit(int64_t limit, int64_t* prev, char** err) {
  return guard(err, [&] {
    if (limit < 0) throw std::invalid_argument("negative memory limit");
    size_t p = mx::set_memory_limit(static_cast<size_t>(limit));
    if (prev != nullptr) *prev = static_cast<int64_t>(p);
  });
}

const char* mlxc_version(void) {
  try {
    return mx::version();
  } catch (...) {
    return "unknown";
  }
}

int mlxc_device_available(int device) {
  try {
    return mx::is_available(device == MLXC_DEVICE_GPU ? mx::Device(mx::Device::gpu) : mx::Device(mx::Device::cpu)) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int mlxc_device_info(int device, char** info, char** err) {
  return guard(err, [&] {
    if (info == nullptr) throw std::invalid_argument("nil output");
    const auto& m = mx::device_info(to_device(device));
    std::ostringstream os;
    for (const auto& kv : m) {
      os << kv.first << "=";
      if (const auto* s = std::get_if<std::string>(&kv.second)) os << *s;
      else os << std::get<size_t>(kv.second);
      os << "\n";
    }
    *info = dup_cstr(os.str());
  });
}

void mlxc_free_string(char* s) { std::free(s); }

}  // extern "C"
