package otelmlx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 10 item 2: unknown content is not safe content. An enforcing policy denies it unless
// allowed_formats lists unknown, with or without other allowed formats; audit mode records it.
func TestUnknownFormatIsDeniedInEnforceMode(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, "weights.bin")
	os.WriteFile(blob, []byte("\x00\x01 no format the sniffer knows \xff"), 0o644)
	cases := []struct {
		name   string
		policy Policy
		ref    ModelRef
		deny   bool
	}{
		{"enforce, no allowed_formats, unknown file", Policy{Mode: Enforce}, ModelRef{Name: "m", Source: blob}, true},
		{"enforce, remote without Path", Policy{Mode: Enforce}, ModelRef{Name: "m", Source: "hf://mlx-community/tiny"}, true},
		{"enforce, unknown listed", Policy{Mode: Enforce, AllowedFormats: []string{"unknown"}}, ModelRef{Name: "m", Source: blob}, false},
		{"audit", Policy{Mode: Audit}, ModelRef{Name: "m", Source: blob}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, WithPolicy(&tc.policy))
			called := false
			_, info, err := Load(context.Background(), h.in, tc.ref, func(context.Context) (int, error) { called = true; return 1, nil })
			var pe *PolicyError
			if denied := errors.As(err, &pe); denied != tc.deny || called == tc.deny {
				t.Fatalf("err %v called %v, want denied=%v", err, called, tc.deny)
			}
			if tc.deny && pe.Rule != RuleFormatAllowed {
				t.Fatalf("rule %s", pe.Rule)
			}
			if tc.policy.Mode == Audit && (info.Decision != DecisionAudit || info.Rule != RuleFormatAllowed) {
				t.Fatalf("audit recorded %s/%s", info.Decision, info.Rule)
			}
		})
	}
}

// Issue 10 items 2 and 3: a MARK-first pickle beside safetensors makes the directory unsafe, and
// an allowed_formats of safetensors does not admit it.
func TestMarkFirstPickleBesideSafetensorsIsDenied(t *testing.T) {
	for _, p := range []string{"(S'echo pwned'\nios\nsystem\n.", "]q\x00(K\x01K\x02e.", "\x8c\x05posix\x8c\x06system\x93\x8c\x04echo\x85R."} {
		dir := t.TempDir()
		writeSafetensors(t, dir, "model.safetensors")
		os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte(p), 0o644)
		for _, policy := range []Policy{{Mode: Enforce, AllowedFormats: []string{"safetensors"}}, {Mode: Enforce}} {
			h := newHarness(t, WithPolicy(&policy))
			_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: dir}, func(context.Context) (int, error) { t.Fatal("loader called"); return 0, nil })
			var pe *PolicyError
			if !errors.As(err, &pe) || !info.Unsafe || info.Format != "pickle" {
				t.Fatalf("%q: err %v info %+v, want a denial of an unsafe pickle", p, err, info)
			}
		}
	}
}

// Issue 10 item 4: a safetensors/pickle polyglot is refused whatever grade of pickle the policy
// admits, and mlx.model.format.detail says it is a polyglot.
func TestPolyglotIsRefused(t *testing.T) {
	payload := []byte("00cbuiltins\nlen\n(S'x'\ntR.")
	hlen := uint64(0x560480)
	head := fmt.Sprintf(`{"__metadata__":{"pad":"%%s"},"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}`, len(payload), len(payload))
	hdr := fmt.Sprintf(head, strings.Repeat("x", int(hlen)-(len(head)-2)-2)) + "\n}"
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, hlen)
	b.WriteString(hdr)
	b.Write(payload)
	p := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(p, b.Bytes(), 0o644)
	for _, policy := range []Policy{{Mode: Enforce}, {Mode: Enforce, AllowedFormats: []string{"safetensors", "pickle"}, AllowPickleUpTo: "high"}} {
		h := newHarness(t, WithPolicy(&policy))
		_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (int, error) { t.Fatal("loader called"); return 0, nil })
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Rule != RuleUnsafeFormat {
			t.Fatalf("err %v, want a format.unsafe denial", err)
		}
		if d := attrMap(h.onlySpan(t).Attributes())["mlx.model.format.detail"].AsString(); !strings.Contains(d, "polyglot") || !info.Unsafe {
			t.Fatalf("detail %q unsafe %v", d, info.Unsafe)
		}
	}
}
