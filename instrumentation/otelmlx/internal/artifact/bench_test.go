package artifact

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkHashFile hashes the file named by OTELMLX_BENCH_FILE (make bench makes a 1 GiB one
// and runs openssl on the same file), or a 64 MiB temporary file.
func BenchmarkHashFile(b *testing.B) {
	p := os.Getenv("OTELMLX_BENCH_FILE")
	if p == "" {
		p = filepath.Join(b.TempDir(), "blob")
		write(b, p, make([]byte, 64<<20))
	}
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := HashFile(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashSharded hashes a model of 8 shards; shards are hashed in parallel.
func BenchmarkHashSharded(b *testing.B) {
	dir := b.TempDir()
	const shards, size = 8, 16 << 20
	for i := range shards {
		write(b, filepath.Join(dir, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, shards)), make([]byte, size))
	}
	b.SetBytes(shards * size)
	for b.Loop() {
		in := NewInspector(64)
		m, err := in.Scan(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := in.Hash(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedModel is the digest work of loading an unchanged, already hashed model of
// several files: a stat per file and the combined digest.
func BenchmarkCachedModel(b *testing.B) {
	for _, files := range []int{1, 8, 32} {
		b.Run(strconv.Itoa(files)+"files", func(b *testing.B) {
			dir := b.TempDir()
			for i := range files {
				write(b, filepath.Join(dir, fmt.Sprintf("model-%05d.safetensors", i)), make([]byte, 4096))
			}
			in := NewInspector(64)
			m, _ := in.Scan(dir)
			in.Hash(context.Background(), m)
			b.ResetTimer()
			for b.Loop() {
				m, err := in.Scan(dir)
				if err != nil {
					b.Fatal(err)
				}
				if !m.Hashed() {
					b.Fatal("cache missed")
				}
				if _, err := in.Hash(context.Background(), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
