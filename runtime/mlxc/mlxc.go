//go:build mlx

package mlxc

// The include and library directories of libmlx come from CGO_CXXFLAGS / CGO_LDFLAGS (see
// the package documentation): they depend on where the MLX wheel is installed.

/*
#cgo CXXFLAGS: -std=c++20 -O2
#cgo LDFLAGS: -lmlx -lstdc++
#include <stdlib.h>
#include "mlxc.h"
*/
import "C"

import (
	"archive/zip"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// maxMLPInput bounds the elements of one forward-pass input (batch times features), so a
// request cannot make the shim allocate without bound.
const maxMLPInput = 1 << 24

// computeMu serializes the calls that build and evaluate MLX graphs. MLX keeps a default stream
// per OS thread and its CPU backend is not documented as safe for concurrent evaluation from
// many threads; Go runs cgo calls on whatever thread the goroutine is on, so the shim takes
// this lock instead of relying on either. Allocator statistics do not need it.
var computeMu sync.Mutex

// Available reports whether this build runs MLX.
func Available() bool { return true }

// Weights is a model's arrays loaded by MLX and evaluated on a device.
type Weights struct {
	mu      sync.RWMutex
	h       *C.mlxc_weights
	cleanup runtime.Cleanup
	device  Device
	names   []string
	nbytes  int64
}

func takeErr(cerr *C.char) error {
	if cerr == nil {
		return errors.New("mlxc: MLX call failed without a message")
	}
	defer C.mlxc_free_string(cerr)
	return fmt.Errorf("mlxc: %s", C.GoString(cerr))
}

// Load loads the weight file at path onto dev and evaluates every array, so the file has
// been read when Load returns. FormatAuto sniffs the format from the content.
func Load(path string, format Format, dev Device) (*Weights, error) {
	if format == FormatAuto {
		f, err := SniffFormat(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if dev != CPU && dev != GPU {
		return nil, fmt.Errorf("mlxc: unknown device %d", dev)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h *C.mlxc_weights
	var cerr *C.char
	var rc C.int
	switch format {
	case FormatSafetensors, FormatGGUF, FormatNPY:
		cf := map[Format]C.int{FormatSafetensors: C.MLXC_FORMAT_SAFETENSORS, FormatGGUF: C.MLXC_FORMAT_GGUF, FormatNPY: C.MLXC_FORMAT_NPY}[format]
		computeMu.Lock()
		rc = C.mlxc_load(cpath, cf, C.int(dev), &h, &cerr)
		computeMu.Unlock()
	case FormatNPZ:
		return loadNPZ(path, cpath, dev)
	default:
		return nil, fmt.Errorf("mlxc: unsupported format %q", format)
	}
	if rc != 0 {
		return nil, takeErr(cerr)
	}
	return wrap(h, dev), nil
}

// maxNPZMembers bounds the arrays of one archive.
const maxNPZMembers = 1 << 16

// loadNPZ parses the zip directory in Go (archive/zip checks it) and hands MLX the byte range
// of each stored .npy member; MLX reads and parses the arrays. Compressed members (savez
// with compression) are refused: MLX reads arrays in place, it cannot inflate them.
func loadNPZ(path string, cpath *C.char, dev Device) (*Weights, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("mlxc: %s: %w", path, err)
	}
	defer zr.Close()
	if len(zr.File) > maxNPZMembers {
		return nil, fmt.Errorf("mlxc: %s: %d members, more than %d", path, len(zr.File), maxNPZMembers)
	}
	members := make([]C.mlxc_npy_member, 0, len(zr.File))
	var cnames []*C.char
	defer func() {
		for _, p := range cnames {
			C.free(unsafe.Pointer(p))
		}
	}()
	for _, f := range zr.File {
		if f.Method != zip.Store {
			return nil, fmt.Errorf("mlxc: %s: member %q is compressed; MLX loads stored members only", path, f.Name)
		}
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("mlxc: %s: member %q: %w", path, f.Name, err)
		}
		if f.UncompressedSize64 > 1<<62 {
			return nil, fmt.Errorf("mlxc: %s: member %q too large", path, f.Name)
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		cn := C.CString(name)
		cnames = append(cnames, cn)
		members = append(members, C.mlxc_npy_member{name: cn, offset: C.int64_t(off), size: C.int64_t(f.UncompressedSize64)})
	}
	var h *C.mlxc_weights
	var cerr *C.char
	var mp *C.mlxc_npy_member
	if len(members) > 0 {
		mp = &members[0]
	}
	// members and the names are C memory or Go memory without Go pointers inside: the names
	// are C strings, so passing the slice is allowed by the cgo pointer rules.
	computeMu.Lock()
	rc := C.mlxc_load_npz(cpath, mp, C.int(len(members)), C.int(dev), &h, &cerr)
	computeMu.Unlock()
	runtime.KeepAlive(members)
	if rc != 0 {
		return nil, takeErr(cerr)
	}
	return wrap(h, dev), nil
}

func wrap(h *C.mlxc_weights, dev Device) *Weights {
	w := &Weights{h: h, device: dev, nbytes: int64(C.mlxc_weights_nbytes(h))}
	n := int64(C.mlxc_weights_count(h))
	buf := make([]byte, 256)
	for i := int64(0); i < n; i++ {
		l := int64(C.mlxc_weights_name(h, C.int64_t(i), (*C.char)(unsafe.Pointer(&buf[0])), C.int64_t(len(buf))))
		if l >= int64(len(buf)) {
			buf = make([]byte, l+1)
			C.mlxc_weights_name(h, C.int64_t(i), (*C.char)(unsafe.Pointer(&buf[0])), C.int64_t(len(buf)))
		}
		w.names = append(w.names, string(buf[:l]))
	}
	sort.Strings(w.names)
	// The cleanup frees the C++ arrays of a Weights that was never closed. It must not refer
	// to w, or w would never become unreachable.
	w.cleanup = runtime.AddCleanup(w, freeWeights, h)
	return w
}

// freeWeights releases the arrays under computeMu, so that buffers never go back to the
// allocator in the middle of another thread's evaluation.
func freeWeights(h *C.mlxc_weights) {
	computeMu.Lock()
	C.mlxc_weights_free(h)
	computeMu.Unlock()
}

// Close frees the arrays. It is safe to call more than once.
func (w *Weights) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.h == nil {
		return nil
	}
	w.cleanup.Stop()
	freeWeights(w.h)
	w.h = nil
	return nil
}

// Names returns the array names, sorted.
func (w *Weights) Names() []string { return append([]string(nil), w.names...) }

// NumBytes returns the bytes of all arrays.
func (w *Weights) NumBytes() int64 { return w.nbytes }

// Device returns the device the arrays live on.
func (w *Weights) Device() Device { return w.device }

// Shape returns the shape of the named array, or nil when there is none.
func (w *Weights) Shape(name string) []int64 {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.h == nil {
		return nil
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var dims [16]C.int64_t
	r := int(C.mlxc_weights_shape(w.h, cn, &dims[0], C.int(len(dims))))
	if r < 0 || r > len(dims) {
		return nil
	}
	out := make([]int64, r)
	for i := range out {
		out[i] = int64(dims[i])
	}
	return out
}

// PredictMLP runs the classifier forward pass on batch rows of input (len(input)/batch
// features each) and returns the class probabilities, batch rows of classes values.
func (w *Weights) PredictMLP(input []float32, batch int) ([]float32, int, error) {
	if batch <= 0 || len(input) == 0 || len(input)%batch != 0 {
		return nil, 0, fmt.Errorf("mlxc: input of %d values is not %d equal rows", len(input), batch)
	}
	if len(input) > maxMLPInput {
		return nil, 0, fmt.Errorf("mlxc: input of %d values exceeds the limit of %d", len(input), maxMLPInput)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.h == nil {
		return nil, 0, ErrClosed
	}
	// The output has batch*classes values; classes is the first dimension of the last
	// layer's weight, bounded by what the model declares.
	classes := w.lastLayerOut()
	if classes <= 0 {
		return nil, 0, errors.New("mlxc: no layers.N.weight: not an MLP classifier")
	}
	if int64(batch)*classes > maxMLPInput {
		return nil, 0, fmt.Errorf("mlxc: output of %d x %d values exceeds the limit", batch, classes)
	}
	out := make([]float32, int64(batch)*classes)
	var got C.int64_t
	var cerr *C.char
	computeMu.Lock()
	rc := C.mlxc_mlp_forward(w.h, (*C.float)(unsafe.Pointer(&input[0])), C.int64_t(batch), C.int64_t(len(input)/batch),
		(*C.float)(unsafe.Pointer(&out[0])), C.int64_t(len(out)), &got, &cerr)
	computeMu.Unlock()
	if rc != 0 {
		return nil, 0, takeErr(cerr)
	}
	return out[:int64(batch)*int64(got)], int(got), nil
}

// lastLayerOut returns the output size of the last layers.N.weight, or 0.
func (w *Weights) lastLayerOut() int64 {
	last := int64(0)
	for i := 0; ; i++ {
		name := fmt.Sprintf("layers.%d.weight", i)
		idx := sort.SearchStrings(w.names, name)
		if idx >= len(w.names) || w.names[idx] != name {
			return last
		}
		cn := C.CString(name)
		var dims [2]C.int64_t
		r := C.mlxc_weights_shape(w.h, cn, &dims[0], 2)
		C.free(unsafe.Pointer(cn))
		if r != 2 {
			return last
		}
		last = int64(dims[0])
	}
}

// Memory reads the MLX allocator statistics.
func Memory() (Stats, error) {
	var s C.mlxc_memory_stats
	var cerr *C.char
	if C.mlxc_memory(&s, &cerr) != 0 {
		return Stats{}, takeErr(cerr)
	}
	return Stats{Active: int64(s.active), Peak: int64(s.peak), Cache: int64(s.cache), Limit: int64(s.limit)}, nil
}

// ResetPeakMemory sets the peak statistic to the current active memory.
func ResetPeakMemory() error {
	var cerr *C.char
	if C.mlxc_reset_peak_memory(&cerr) != 0 {
		return takeErr(cerr)
	}
	return nil
}

// ClearCache returns the allocator's cached buffers to the system.
func ClearCache() error {
	var cerr *C.char
	if C.mlxc_clear_cache(&cerr) != 0 {
		return takeErr(cerr)
	}
	return nil
}

// SetMemoryLimit sets the allocator's memory limit and returns the previous one.
func SetMemoryLimit(limit int64) (int64, error) {
	var prev C.int64_t
	var cerr *C.char
	if C.mlxc_set_memory_limit(C.int64_t(limit), &prev, &cerr) != 0 {
		return 0, takeErr(cerr)
	}
	return int64(prev), nil
}

var versionOnce = sync.OnceValue(func() string { return C.GoString(C.mlxc_version()) })

// Version returns the MLX runtime version (mx::version()).
func Version() string { return versionOnce() }

// DeviceAvailable reports whether MLX can run on dev in this build.
func DeviceAvailable(dev Device) bool { return C.mlxc_device_available(C.int(dev)) == 1 }

// DeviceInfo returns MLX's description of the device (device_name, architecture, memory size...).
func DeviceInfo(dev Device) (map[string]string, error) {
	var info, cerr *C.char
	if C.mlxc_device_info(C.int(dev), &info, &cerr) != 0 {
		return nil, takeErr(cerr)
	}
	defer C.mlxc_free_string(info)
	m := map[string]string{}
	for _, line := range strings.Split(C.GoString(info), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

func (c LMConfig) toC() C.mlxc_lm_config {
	tie, trad := 0, 0
	if c.TieWordEmbeddings {
		tie = 1
	}
	if c.RopeTraditional {
		trad = 1
	}
	return C.mlxc_lm_config{hidden: C.int32_t(c.Hidden), layers: C.int32_t(c.Layers), heads: C.int32_t(c.Heads),
		kv_heads: C.int32_t(c.KVHeads), vocab: C.int32_t(c.Vocab), rms_norm_eps: C.float(c.RMSNormEps),
		rope_theta: C.float(c.RopeTheta), tie_word_embeddings: C.int32_t(tie), rope_traditional: C.int32_t(trad)}
}

func checkTokens(c LMConfig, tokens []int32, extra int) error {
	if len(tokens) == 0 || extra < 0 || len(tokens) > MaxSequence || extra > MaxSequence-len(tokens) {
		return fmt.Errorf("mlxc: need 1 to %d positions in all, got %d prompt tokens and %d to generate", MaxSequence, len(tokens), extra)
	}
	for _, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("mlxc: token id %d outside the vocabulary of %d", t, c.Vocab)
		}
	}
	return nil
}

// LMLogits runs the language model on tokens and returns the logits of the last position.
func (w *Weights) LMLogits(c LMConfig, tokens []int32) ([]float32, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := checkTokens(c, tokens, 0); err != nil {
		return nil, err
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.h == nil {
		return nil, ErrClosed
	}
	out := make([]float32, c.Vocab)
	cc := c.toC()
	var cerr *C.char
	computeMu.Lock()
	rc := C.mlxc_lm_logits(w.h, &cc, (*C.int32_t)(unsafe.Pointer(&tokens[0])), C.int64_t(len(tokens)),
		(*C.float)(unsafe.Pointer(&out[0])), C.int64_t(len(out)), &cerr)
	computeMu.Unlock()
	if rc != 0 {
		return nil, takeErr(cerr)
	}
	return out, nil
}

// Generate continues tokens greedily with the language model, up to maxNew tokens, stopping
// after eos when eos >= 0. It returns the new tokens.
func (w *Weights) Generate(c LMConfig, tokens []int32, maxNew int, eos int32) ([]int32, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := checkTokens(c, tokens, maxNew); err != nil {
		return nil, err
	}
	if maxNew == 0 {
		return nil, nil
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.h == nil {
		return nil, ErrClosed
	}
	out := make([]int32, maxNew)
	cc := c.toC()
	var n C.int64_t
	var cerr *C.char
	computeMu.Lock()
	rc := C.mlxc_lm_generate(w.h, &cc, (*C.int32_t)(unsafe.Pointer(&tokens[0])), C.int64_t(len(tokens)),
		C.int64_t(maxNew), C.int32_t(eos), (*C.int32_t)(unsafe.Pointer(&out[0])), &n, &cerr)
	computeMu.Unlock()
	if rc != 0 {
		return nil, takeErr(cerr)
	}
	return out[:n], nil
}
