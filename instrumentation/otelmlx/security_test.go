package otelmlx

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// Issue 10 item 13: the operation name and a custom ErrorType() are recorded sanitized.
func TestOperationAndErrorTypeAreSanitized(t *testing.T) {
	h := newHarness(t, WithMaxAttributeLength(64))
	op := "chat\r\nINFO forged\x1b[31m\u2060" + strings.Repeat("o", 300)
	Infer(context.Background(), h.in, Request{Operation: op, Model: "m"}, func(context.Context) (int, Response, error) {
		return 0, Response{}, hostileTypedErr{"bad\r\ntype\x1b[0m\u202e" + strings.Repeat("t", 5000)}
	})
	s := h.onlySpan(t)
	check := func(where, v string) {
		t.Helper()
		if strings.ContainsAny(v, "\r\n\x1b\u2060\u202e") {
			t.Errorf("%s holds raw control or invisible characters: %.120q", where, v)
		}
		if len(v) > 300 {
			t.Errorf("%s is %d bytes", where, len(v))
		}
	}
	check("span name", s.Name())
	for _, kv := range s.Attributes() {
		if kv.Value.Type() == attribute.STRING {
			check(string(kv.Key), kv.Value.AsString())
		}
	}
	for _, r := range h.events() {
		for _, kv := range r.Attributes {
			if kv.Value.Type() == attribute.STRING {
				check("event "+string(kv.Key), kv.Value.AsString())
			}
		}
	}
}

type hostileTypedErr struct{ t string }

func (e hostileTypedErr) Error() string     { return "typed failure" }
func (e hostileTypedErr) ErrorType() string { return e.t }

// Issue 10 item 14: Infer records at most as many finish reasons as the transport keeps.
func TestFinishReasonsAreCapped(t *testing.T) {
	h := newHarness(t)
	reasons := make([]string, 100_000)
	for i := range reasons {
		reasons[i] = fmt.Sprintf("r%d", i)
	}
	Infer(context.Background(), h.in, Request{Model: "m"}, func(context.Context) (int, Response, error) {
		return 0, Response{FinishReasons: reasons}, nil
	})
	got := attrMap(h.onlySpan(t).Attributes())["gen_ai.response.finish_reasons"].AsStringSlice()
	if len(got) == 0 || len(got) > 16 {
		t.Fatalf("%d finish reasons recorded, want 1..%d", len(got), 16)
	}
}

// Issue 10 item 20: an empty identity key is a key shorter than 16 bytes, not "no key".
func TestEmptyIdentityKeyIsRejected(t *testing.T) {
	for _, k := range [][]byte{{}, make([]byte, 0, 32), []byte("x")} {
		if _, err := New(WithIdentityKey(k)); err == nil {
			t.Errorf("identity key of %d bytes accepted", len(k))
		}
	}
	if _, err := New(WithIdentityKey(nil)); err == nil {
		t.Error("WithIdentityKey(nil) accepted: a nil key from a failed secret lookup must not silently become random")
	}
	if _, err := New(); err != nil {
		t.Errorf("no identity key option: %v", err)
	}
}

// heapAfter returns the live heap after fn ran and a collection.
func heapAfter(fn func()) uint64 {
	var m runtime.MemStats
	fn()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Issue 10 item 12: what the Instrumenter remembers (pseudonyms, per-model shapes) is bounded
// in bytes, not only in entries: long identities and model names are not retained.
func TestRetainedMemoryIsBoundedInBytes(t *testing.T) {
	h := newHarness(t, WithAuditRecords(false))
	h.spans = nil
	const limit = 24 << 20
	base := heapAfter(func() {})
	after := heapAfter(func() {
		for i := range 1024 {
			id := strings.Repeat(string(rune('a'+i%26)), 64<<10) + fmt.Sprint(i)
			h.in.Pseudonym(id)
		}
	})
	if grown := int64(after) - int64(base); grown > limit {
		t.Errorf("1024 identities of 64 KiB retained %d MiB", grown>>20)
	}
	in, err := New(WithAuditRecords(false), WithMaxModels(256))
	if err != nil {
		t.Fatal(err)
	}
	base = heapAfter(func() {})
	after = heapAfter(func() {
		for i := range 64 {
			model := strings.Repeat("m", 1<<20) + fmt.Sprint(i)
			Infer(context.Background(), in, Request{Operation: strings.Repeat("o", 64<<10), Model: model},
				func(context.Context) (int, Response, error) {
					return 0, Response{}, hostileTypedErr{strings.Repeat("e", 64<<10) + fmt.Sprint(i)}
				})
		}
	})
	if grown := int64(after) - int64(base); grown > limit {
		t.Errorf("64 model names of 1 MiB retained %d MiB", grown>>20)
	}
	runtime.KeepAlive(h)
	runtime.KeepAlive(in)
}
