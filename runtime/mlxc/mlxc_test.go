//go:build mlx

package mlxc

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// modelsDir is where scripts/mlx/make_models.py wrote the test models (make test-mlx sets it).
func modelsDir(t testing.TB) string {
	d := os.Getenv("OTELMLX_MODELS_DIR")
	if d == "" {
		t.Skip("OTELMLX_MODELS_DIR is not set: run `make test-mlx`")
	}
	return d
}

type reference struct {
	Input []float32 `json:"input"`
	Probs []float32 `json:"probs"`
	Dims  []int     `json:"dims"`
}

func loadReference(t *testing.T, dir string) reference {
	b, err := os.ReadFile(filepath.Join(dir, "classifier", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLoadFormatsAndForwardMatchesMLXPython(t *testing.T) {
	dir := modelsDir(t)
	ref := loadReference(t, dir)
	for _, tc := range []struct {
		file   string
		format Format
	}{
		{"classifier.safetensors", FormatSafetensors},
		{"classifier.gguf", FormatGGUF},
		{"classifier.npz", FormatNPZ},
		{"classifier.safetensors", FormatAuto},
		{"classifier.gguf", FormatAuto},
		{"classifier.npz", FormatAuto},
	} {
		t.Run(tc.file+"/"+string(tc.format), func(t *testing.T) {
			w, err := Load(filepath.Join(dir, "classifier", tc.file), tc.format, CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			want := []string{"layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight", "layers.2.bias", "layers.2.weight"}
			if got := w.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("names %v, want %v", got, want)
			}
			if s := w.Shape("layers.0.weight"); len(s) != 2 || s[0] != int64(ref.Dims[1]) || s[1] != int64(ref.Dims[0]) {
				t.Fatalf("layers.0.weight shape %v", s)
			}
			var params int64
			for i := 0; i+1 < len(ref.Dims); i++ {
				params += int64(ref.Dims[i]*ref.Dims[i+1] + ref.Dims[i+1])
			}
			if w.NumBytes() != params*4 {
				t.Fatalf("NumBytes %d, want %d", w.NumBytes(), params*4)
			}
			probs, classes, err := w.PredictMLP(ref.Input, 1)
			if err != nil {
				t.Fatal(err)
			}
			if classes != len(ref.Probs) {
				t.Fatalf("classes %d, want %d", classes, len(ref.Probs))
			}
			var sum float64
			for i, p := range probs {
				sum += float64(p)
				if math.Abs(float64(p-ref.Probs[i])) > 1e-5 {
					t.Fatalf("prob[%d] = %v, MLX Python computed %v", i, p, ref.Probs[i])
				}
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Fatalf("probabilities sum to %v", sum)
			}
		})
	}
}

func TestForwardBatchAndInputErrors(t *testing.T) {
	dir := modelsDir(t)
	ref := loadReference(t, dir)
	w, err := Load(filepath.Join(dir, "classifier", "classifier.safetensors"), FormatAuto, CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	in := append(append([]float32{}, ref.Input...), ref.Input...)
	probs, classes, err := w.PredictMLP(in, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 2*classes {
		t.Fatalf("got %d values for 2 rows of %d classes", len(probs), classes)
	}
	for i := 0; i < classes; i++ {
		if probs[i] != probs[classes+i] {
			t.Fatalf("identical rows gave different outputs: %v", probs)
		}
	}
	// Wrong feature count: MLX would throw on the matmul; the shim reports it as an error.
	if _, _, err := w.PredictMLP(make([]float32, 15), 1); err == nil || !strings.Contains(err.Error(), "want (out,15)") {
		t.Fatalf("wrong input size: err = %v", err)
	}
	if _, _, err := w.PredictMLP(make([]float32, 15), 2); err == nil {
		t.Fatal("ragged batch accepted")
	}
	if _, _, err := w.PredictMLP(nil, 1); err == nil {
		t.Fatal("empty input accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, _, err := w.PredictMLP(ref.Input, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("use after Close: %v", err)
	}
}

func TestNotAnMLP(t *testing.T) {
	dir := modelsDir(t)
	w, err := Load(filepath.Join(dir, "tiny-lm", "model.safetensors"), FormatSafetensors, CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(w.Names()) < 10 {
		t.Fatalf("tiny LM has only %d arrays", len(w.Names()))
	}
	if _, _, err := w.PredictMLP(make([]float32, 64), 1); err == nil || !strings.Contains(err.Error(), "not an MLP") {
		t.Fatalf("err = %v", err)
	}
}

// Every malformed input must come back as an error, with the process still alive.
func TestMLXErrorsBecomeGoErrors(t *testing.T) {
	dir := modelsDir(t)
	tmp := t.TempDir()
	good, err := os.ReadFile(filepath.Join(dir, "classifier", "classifier.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lying := make([]byte, 8, 64)
	binary.LittleEndian.PutUint64(lying, 1<<40) // header claims a terabyte
	lying = append(lying, `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`...)
	badOffsets := make([]byte, 8)
	hdr := `{"a":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}}`
	binary.LittleEndian.PutUint64(badOffsets, uint64(len(hdr)))
	badOffsets = append(badOffsets, hdr...)
	ggufTrunc, _ := os.ReadFile(filepath.Join(dir, "classifier", "classifier.gguf"))
	cases := map[string]struct {
		path   string
		format Format
	}{
		"missing":          {filepath.Join(tmp, "nope.safetensors"), FormatSafetensors},
		"truncated":        {write("trunc.safetensors", good[:len(good)/2]), FormatSafetensors},
		"lying header":     {write("lying.safetensors", lying), FormatSafetensors},
		"offsets past end": {write("offsets.safetensors", badOffsets), FormatSafetensors},
		"garbage gguf":     {write("garbage.gguf", []byte("GGUF\x03\x00\x00\x00garbage")), FormatGGUF},
		"truncated gguf":   {write("trunc.gguf", ggufTrunc[:len(ggufTrunc)/3]), FormatGGUF},
		"not npy":          {write("x.npy", []byte("\x93NUMPY\x01\x00\xff\xffnot a header")), FormatNPY},
		"unknown content":  {write("x.bin", []byte("hello world, not weights")), FormatAuto},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w, err := Load(c.path, c.format, CPU)
			if err == nil {
				w.Close()
				t.Fatal("loaded a malformed file")
			}
			t.Logf("%v", err)
		})
	}
	// A compressed npz: the members cannot be read in place.
	zp := filepath.Join(tmp, "c.npz")
	f, _ := os.Create(zp)
	zw := zip.NewWriter(f)
	fw, _ := zw.CreateHeader(&zip.FileHeader{Name: "a.npy", Method: zip.Deflate})
	fw.Write([]byte("\x93NUMPY"))
	zw.Close()
	f.Close()
	if _, err := Load(zp, FormatNPZ, CPU); err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Fatalf("compressed npz: %v", err)
	}
	// A GPU load on a CPU-only build is an error, not a crash.
	if !DeviceAvailable(GPU) {
		if _, err := Load(filepath.Join(dir, "classifier", "classifier.safetensors"), FormatAuto, GPU); err == nil {
			t.Fatal("gpu load succeeded without a gpu")
		}
	}
}

func TestMemoryStatsFollowLoadsAndClose(t *testing.T) {
	dir := modelsDir(t)
	before, err := Memory()
	if err != nil {
		t.Fatal(err)
	}
	if err := ResetPeakMemory(); err != nil {
		t.Fatal(err)
	}
	w, err := Load(filepath.Join(dir, "tiny-lm", "model.safetensors"), FormatSafetensors, CPU)
	if err != nil {
		t.Fatal(err)
	}
	loaded, _ := Memory()
	if loaded.Active-before.Active < w.NumBytes() {
		t.Fatalf("active grew by %d, the model has %d bytes", loaded.Active-before.Active, w.NumBytes())
	}
	if loaded.Peak < loaded.Active {
		t.Fatalf("peak %d < active %d", loaded.Peak, loaded.Active)
	}
	w.Close()
	after, _ := Memory()
	if after.Active > loaded.Active-w.NumBytes() {
		t.Fatalf("Close did not release: active %d after, %d loaded, model %d", after.Active, loaded.Active, w.NumBytes())
	}
	prev, err := SetMemoryLimit(1 << 40)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := Memory(); m.Limit != 1<<40 {
		t.Fatalf("limit %d after SetMemoryLimit", m.Limit)
	}
	SetMemoryLimit(prev)
	if err := ClearCache(); err != nil {
		t.Fatal(err)
	}
}

// A Weights that is dropped without Close is freed by its cleanup.
func TestCleanupFreesUnclosedWeights(t *testing.T) {
	dir := modelsDir(t)
	base, _ := Memory()
	for i := 0; i < 5; i++ {
		if _, err := Load(filepath.Join(dir, "tiny-lm", "model.safetensors"), FormatSafetensors, CPU); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		m, _ := Memory()
		if m.Active <= base.Active+(64<<10) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("active memory %d, was %d before the unclosed loads", m.Active, base.Active)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestVersionAndDevice(t *testing.T) {
	v := Version()
	if want := os.Getenv("OTELMLX_MLX_VERSION"); want != "" && v != want {
		t.Fatalf("Version() = %q, the installed wheel is %q", v, want)
	}
	if parts := strings.Split(v, "."); len(parts) < 3 {
		t.Fatalf("Version() = %q", v)
	}
	if !DeviceAvailable(CPU) {
		t.Fatal("cpu not available")
	}
	info, err := DeviceInfo(CPU)
	if err != nil {
		t.Fatal(err)
	}
	if len(info) == 0 {
		t.Fatal("empty device info")
	}
	t.Logf("mlx %s cpu %v", v, info)
}

// The source plugs into otelmlx: a real MLX load records the allocator figures.
func TestStatsSourceWithOtelmlx(t *testing.T) {
	dir := modelsDir(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	in, err := otelmlx.New(otelmlx.WithTracerProvider(tp), otelmlx.WithMemoryStats(StatsSource{Dev: CPU}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "classifier", "classifier.safetensors")
	w, info, err := otelmlx.Load(context.Background(), in, otelmlx.ModelRef{Name: "classifier", Source: path},
		func(context.Context) (*Weights, error) { return Load(path, FormatAuto, CPU) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if info.Format != "safetensors" || len(info.SHA256) != 64 {
		t.Fatalf("info %+v", info)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range spans[0].Attributes() {
		attrs[kv.Key] = kv.Value
	}
	if a := attrs[otelmlx.KeyMemoryActive]; a.AsInt64() < w.NumBytes() {
		t.Fatalf("mlx.memory.active = %v, model holds %d bytes", a.Emit(), w.NumBytes())
	}
	if attrs[otelmlx.KeyDevice].AsString() != "cpu" || attrs[otelmlx.KeyVersion].AsString() != Version() {
		t.Fatalf("device/version attributes: %v %v", attrs[otelmlx.KeyDevice].Emit(), attrs[otelmlx.KeyVersion].Emit())
	}
}

// The in-process llama forward pass gives the logits mlx_lm computes in Python for the same
// weights and prompt.
func TestLanguageModelMatchesMLXLM(t *testing.T) {
	dir := filepath.Join(modelsDir(t), "tiny-lm")
	cfg, err := LoadLMConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Prompt     []int32   `json:"prompt"`
		LastLogits []float32 `json:"last_logits"`
		Greedy     []int32   `json:"greedy"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	w, err := Load(filepath.Join(dir, "model.safetensors"), FormatAuto, CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	logits, err := w.LMLogits(cfg, ref.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != len(ref.LastLogits) {
		t.Fatalf("%d logits, mlx_lm gave %d", len(logits), len(ref.LastLogits))
	}
	for i := range logits {
		if d := math.Abs(float64(logits[i] - ref.LastLogits[i])); d > 1e-4*(1+math.Abs(float64(ref.LastLogits[i]))) {
			t.Fatalf("logit %d = %v, mlx_lm computed %v", i, logits[i], ref.LastLogits[i])
		}
	}
	gen, err := w.Generate(cfg, ref.Prompt, len(ref.Greedy), -1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gen) != fmt.Sprint(ref.Greedy) {
		t.Fatalf("greedy %v, mlx_lm %v", gen, ref.Greedy)
	}
	// Out-of-vocabulary ids and oversize requests are errors, not reads past the embedding.
	if _, err := w.LMLogits(cfg, []int32{int32(cfg.Vocab)}); err == nil {
		t.Fatal("token outside the vocabulary accepted")
	}
	if _, err := w.Generate(cfg, ref.Prompt, MaxSequence, -1); err == nil {
		t.Fatal("sequence past the bound accepted")
	}
	// A config that does not match the weights: MLX's shape error comes back as a Go error.
	bad := cfg
	bad.Hidden *= 2
	if _, err := w.LMLogits(bad, ref.Prompt); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("mismatched config: %v", err)
	}
}
