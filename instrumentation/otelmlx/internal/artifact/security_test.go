package artifact

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// Issue 10 item 6: a link to a directory inside a model directory is followed, so a shard
// replaced behind it changes the file count and the digest.
func TestDirectoryLinksAreFollowed(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "elsewhere")
	write(t, filepath.Join(elsewhere, "shard-1.npy"), npyBytes(8))
	model := filepath.Join(dir, "model")
	write(t, filepath.Join(model, "config.json"), []byte("{}"))
	if err := os.Symlink(elsewhere, filepath.Join(model, "shards")); err != nil {
		t.Skip(err)
	}
	in := NewInspector(64)
	m, err := in.Scan(model)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[1].Rel != "shards/shard-1.npy" {
		t.Fatalf("files %+v, want config.json and shards/shard-1.npy", m.Files)
	}
	d1, _ := in.Hash(context.Background(), m)
	write(t, filepath.Join(elsewhere, "shard-1.npy"), npyBytes(9))
	m, _ = in.Scan(model)
	if d2, _ := in.Hash(context.Background(), m); d1 == d2 {
		t.Fatal("a shard replaced behind a directory link left the digest unchanged")
	}
}

// A link loop, or a link fan-out that would visit more directories than a model can hold, is
// refused rather than followed forever or skipped.
func TestDirectoryLinkLoopsAreRefused(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	write(t, filepath.Join(model, "sub", "w.npy"), npyBytes(4))
	if err := os.Symlink(model, filepath.Join(model, "sub", "loop")); err != nil {
		t.Skip(err)
	}
	if _, err := NewInspector(8).Scan(model); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("err %v, want a link loop error", err)
	}
	// Fan-out: each level links twice to the next, 2^15 paths without a loop.
	fan := filepath.Join(dir, "fan")
	levels := 15
	for i := range levels {
		os.MkdirAll(filepath.Join(fan, "l"+string(rune('a'+i))), 0o755)
	}
	for i := range levels - 1 {
		next := filepath.Join(fan, "l"+string(rune('a'+i+1)))
		os.Symlink(next, filepath.Join(fan, "l"+string(rune('a'+i)), "x"))
		os.Symlink(next, filepath.Join(fan, "l"+string(rune('a'+i)), "y"))
	}
	write(t, filepath.Join(fan, "l"+string(rune('a'+levels-1)), "w.npy"), npyBytes(1))
	if _, err := NewInspector(8).Scan(filepath.Join(fan, "la")); err == nil {
		t.Fatal("a fan-out of directory links was walked to the end")
	}
}

// Issue 10 item 12: the digest cache is bounded in bytes, not only in entries: long paths do
// not let it grow past its byte budget.
func TestCacheIsBoundedInBytes(t *testing.T) {
	c := newCache(4096)
	long := strings.Repeat("p", 64<<10)
	for i := range 4096 {
		c.put(fileKey{path: long + string(rune(i)), ino: uint64(i)}, entry{digest: strings.Repeat("d", 64)})
	}
	held := 0
	for k, el := range c.items {
		held += len(k.path) + len(el.Value.(*cacheItem).val.digest)
	}
	if held > maxCacheBytes {
		t.Fatalf("cache holds %d MiB of paths and digests, budget %d MiB", held>>20, maxCacheBytes>>20)
	}
	if c.len() == 0 {
		t.Fatal("cache holds nothing")
	}
}

// Issue 10 item 3: every file a loader could pick up counts toward a directory's format: a
// weight-named file the sniffer cannot classify makes the model unknown, not the format of its
// neighbours.
func TestUnclassifiedWeightFilesCount(t *testing.T) {
	dir := t.TempDir()
	st := func(name string) {
		hdr := `{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
		b := []byte{byte(len(hdr)), 0, 0, 0, 0, 0, 0, 0}
		write(t, filepath.Join(dir, name), append(append(b, hdr...), 0))
	}
	st("model.safetensors")
	write(t, filepath.Join(dir, "config.json"), []byte(`{"model_type":"llama"}`))
	write(t, filepath.Join(dir, "tokenizer.json"), []byte(`{}`))
	in := NewInspector(64)
	m, err := in.Scan(dir)
	if err != nil || m.Format() != sniff.Safetensors {
		t.Fatalf("safetensors with configs: %v %v", m.Format(), err)
	}
	for _, name := range []string{"pytorch_model.bin", "model.pt", "weights.pth", "model.ckpt", "data.pkl", "w.joblib", "extra.safetensors", "model.gguf", "flax_model.msgpack", "tf_model.h5", "model.onnx"} {
		write(t, filepath.Join(dir, name), []byte("\x00\x01 not a format the sniffer knows \xff"))
		m, err := in.Scan(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Format() == sniff.Safetensors {
			t.Errorf("%s beside model.safetensors: format %s, want it to count", name, m.Format())
		}
		os.Remove(filepath.Join(dir, name))
	}
}
