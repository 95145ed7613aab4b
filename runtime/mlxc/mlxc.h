// C ABI of the otel-mlx shim over the MLX C++ API. Every function catches every C++ exception
// and reports it through *err (a malloc'd string the caller frees with mlxc_free_string); none
// of them throws, exits or aborts.
#ifndef OTELMLX_MLXC_H
#define OTELMLX_MLXC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlxc_weights mlxc_weights;

enum { MLXC_DEVICE_CPU = 0, MLXC_DEVICE_GPU = 1 };
enum { MLXC_FORMAT_SAFETENSORS = 1, MLXC_FORMAT_GGUF = 2, MLXC_FORMAT_NPY = 3 };

// One .npy member of a stored (uncompressed) .npz archive: its name and the byte range of its
// data inside the archive file. The archive is parsed in Go (archive/zip); MLX reads the ranges.
typedef struct {
  const char* name;
  int64_t offset;
  int64_t size;
} mlxc_npy_member;

// mlxc_load loads a weight file (safetensors, gguf or npy) onto the device and evaluates every
// array, so the file has been read when it returns. Returns 0 on success.
int mlxc_load(const char* path, int format, int device, mlxc_weights** out, char** err);
// mlxc_load_npz loads the members of an .npz archive at path.
int mlxc_load_npz(const char* path, const mlxc_npy_member* members, int n, int device,
                  mlxc_weights** out, char** err);
void mlxc_weights_free(mlxc_weights* w);
int64_t mlxc_weights_count(const mlxc_weights* w);
int64_t mlxc_weights_nbytes(const mlxc_weights* w);
// mlxc_weights_name copies the name of the i-th array (sorted order) into buf (NUL-terminated,
// truncated to cap) and returns its full length, or -1 when i is out of range.
int64_t mlxc_weights_name(const mlxc_weights* w, int64_t i, char* buf, int64_t cap);
// mlxc_weights_shape writes up to cap dimensions of the named array and returns its rank, or -1.
int mlxc_weights_shape(const mlxc_weights* w, const char* name, int64_t* dims, int cap);

// mlxc_mlp_forward runs the MLP stored as layers.N.weight [out,in] / layers.N.bias [out]:
// linear layers with ReLU between them and a softmax at the end, on a [batch, in_dim] float32
// input. The [batch, classes] probabilities go to out (capacity out_cap floats); *classes gets
// the class count. Evaluates and synchronizes before returning.
int mlxc_mlp_forward(const mlxc_weights* w, const float* in, int64_t batch, int64_t in_dim,
                     float* out, int64_t out_cap, int64_t* classes, char** err);

// The shape of a llama-architecture language model (mlx_lm's "llama" model_type), with the
// weights named as mlx_lm saves them (model.embed_tokens.weight, model.layers.N.self_attn.
// q_proj.weight, ..., model.norm.weight, lm_head.weight unless tied).
typedef struct {
  int32_t hidden, layers, heads, kv_heads, vocab;
  float rms_norm_eps, rope_theta;
  int32_t tie_word_embeddings, rope_traditional;
} mlxc_lm_config;

// mlxc_lm_logits writes the logits of the last position of tokens (vocab floats) to out.
int mlxc_lm_logits(const mlxc_weights* w, const mlxc_lm_config* cfg, const int32_t* tokens, int64_t n,
                   float* out, int64_t out_cap, char** err);
// mlxc_lm_generate continues tokens greedily for up to max_new tokens (stopping after eos when
// eos >= 0), writing the new tokens to out and their count to *n_out. Every step evaluates and
// synchronizes.
int mlxc_lm_generate(const mlxc_weights* w, const mlxc_lm_config* cfg, const int32_t* tokens, int64_t n,
                     int64_t max_new, int32_t eos, int32_t* out, int64_t* n_out, char** err);

typedef struct {
  int64_t active, peak, cache, limit;
} mlxc_memory_stats;
int mlxc_memory(mlxc_memory_stats* s, char** err);
int mlxc_reset_peak_memory(char** err);
int mlxc_clear_cache(char** err);
// mlxc_set_memory_limit sets the allocator limit and returns the previous one in *prev.
int mlxc_set_memory_limit(int64_t limit, int64_t* prev, char** err);

const char* mlxc_version(void);
int mlxc_device_available(int device);
// mlxc_device_info returns "key=value\n" lines from mx::device_info in a malloc'd string.
int mlxc_device_info(int device, char** info, char** err);
void mlxc_free_string(char* s);

#ifdef __cplusplus
}
#endif
#endif
