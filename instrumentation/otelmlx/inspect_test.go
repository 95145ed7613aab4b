package otelmlx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

func TestSniffFileAndHashFile(t *testing.T) {
	dir := t.TempDir()
	p, _ := writeSafetensors(t, dir, "m.bin")
	got, err := SniffFile(p)
	if err != nil || got.Format != mlxconv.FormatSafetensors || got.Unsafe || got.Fault != nil {
		t.Fatalf("SniffFile = %+v, %v; want safetensors, safe", got, err)
	}
	pk := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(pk, []byte("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := SniffFile(pk); err != nil || got.Format != mlxconv.FormatPickle || !got.Unsafe {
		t.Fatalf("pickle named .safetensors: SniffFile = %+v, %v", got, err)
	}
	if _, err := SniffFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}

	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if h, err := HashFile(context.Background(), p); err != nil || h != hex.EncodeToString(sum[:]) {
		t.Fatalf("HashFile = %q, %v; want %x", h, err, sum)
	}
}
