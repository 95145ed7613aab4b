package main

import (
	"os"
	"path/filepath"
	"testing"
)

func loadClassifierFromBytes(t *testing.T, b []byte) (*classifier, error) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return loadClassifier(p)
}
