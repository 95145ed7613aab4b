package modelsig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkVerify measures what verification adds to a load beyond hashing: a model of 8
// files of 4 MiB (plus a config) signed by model-signing with the files method, verified with
// the file digests supplied (as Load supplies the digests it computed anyway). hash-alone is
// the SHA-256 of the same files, the work the digest does whether or not a signature is
// required; shards verifies the shards serialization, which hashes here (in parallel).
func BenchmarkVerify(b *testing.B) {
	py := venvPython(b)
	dir := b.TempDir()
	priv, pub := keyPair(b, dir, "k")
	model := filepath.Join(dir, "model")
	buf := make([]byte, 4<<20)
	for i := 0; i < 8; i++ {
		for j := range buf {
			buf[j] = byte(i*31 + j)
		}
		write(b, filepath.Join(model, fmt.Sprintf("model-%05d-of-00008.safetensors", i+1)), buf)
	}
	write(b, filepath.Join(model, "config.json"), []byte(`{"layers":8}`))
	sig := filepath.Join(model, "model.sig")
	sign(b, py, model, priv, sig, "files")
	shardDir := filepath.Join(dir, "sharded")
	if err := os.CopyFS(shardDir, os.DirFS(model)); err != nil {
		b.Fatal(err)
	}
	os.Remove(filepath.Join(shardDir, "model.sig"))
	shardSig := filepath.Join(shardDir, "model.sig")
	signShards(b, py, shardDir, priv, shardSig, "shards", 1<<20)

	digests := map[string]string{}
	hashAll := func() {
		entries, _ := os.ReadDir(model)
		for _, e := range entries {
			if e.Name() == "model.sig" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(model, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			s := sha256.Sum256(data)
			digests[e.Name()] = hex.EncodeToString(s[:])
		}
	}
	hashAll()
	v := verifier(b, pub)
	m := Model{Root: model, Signature: sig, FileDigest: func(rel string) (string, bool) { d, ok := digests[rel]; return d, ok }}
	if r := v.Verify(context.Background(), m); r.Status != Valid {
		b.Fatalf("%+v", r)
	}
	b.Run("files-digests-supplied", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if r := v.Verify(context.Background(), m); r.Status != Valid {
				b.Fatal(r.Reason)
			}
		}
		// On a shared machine wall time includes waiting for a core; process CPU time per
		// verification is the cost itself.
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("hash-alone", func(b *testing.B) {
		b.SetBytes(8 << 22)
		cpu := cpuTime()
		for b.Loop() {
			hashAll()
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("shards-with-hashing", func(b *testing.B) {
		b.SetBytes(8 << 22)
		sm := Model{Root: shardDir, Signature: shardSig}
		for b.Loop() {
			if r := v.Verify(context.Background(), sm); r.Status != Valid {
				b.Fatal(r.Reason)
			}
		}
	})
}
