package otelmlx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A Policy built in Go decides malformed files exactly as the same policy parsed from YAML:
// refused by default, loaded only when deny_malformed is explicitly false.
func TestMalformedDefaultSameInGoAndYAML(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, uint64(1<<30)); err != nil {
		t.Fatal(err)
	}
	b.WriteString(`{"w":1}`)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(y string) *Policy {
		t.Helper()
		pol, err := ParsePolicy([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return pol
	}
	no := false
	tests := []struct {
		name    string
		policy  *Policy
		refused bool
	}{
		{"go enforce", &Policy{Mode: Enforce}, true},
		{"yaml enforce", parse("mode: enforce\n"), true},
		{"go allow malformed", &Policy{Mode: Enforce, DenyMalformed: &no}, false},
		{"yaml allow malformed", parse("mode: enforce\ndeny_malformed: false\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, WithPolicy(tt.policy))
			called := false
			_, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (int, error) {
				called = true
				return 1, nil
			})
			var pe *PolicyError
			refused := errors.As(err, &pe) && pe.Rule == RuleMalformed
			if refused != tt.refused || called == tt.refused {
				t.Fatalf("refused %v (err %v), loader called %v; want refused %v", refused, err, called, tt.refused)
			}
		})
	}
}
