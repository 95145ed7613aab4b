package sniff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/jsonexact"
)

// dtypeSize is the element size in bytes of each safetensors dtype.
var dtypeSize = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8, "C64": 8,
}

type tensorInfo struct {
	Dtype       string
	Shape       []uint64
	DataOffsets []uint64
}

// parseTensorInfo reads one tensor's entry as the reference implementation (serde) reads it:
// exact field names, each at most once, dtype, shape and data_offsets all present; unknown
// fields are ignored.
func parseTensorInfo(msg []byte) (tensorInfo, error) {
	var ti tensorInfo
	var has [3]bool
	err := jsonexact.Unique(msg, func(k string, v json.RawMessage) error {
		var i int
		var dst any
		switch k {
		case "dtype":
			i, dst = 0, &ti.Dtype
		case "shape":
			i, dst = 1, &ti.Shape
		case "data_offsets":
			i, dst = 2, &ti.DataOffsets
		default:
			return nil
		}
		if string(v) == "null" {
			return fmt.Errorf("%s is null", k)
		}
		has[i] = true
		return json.Unmarshal(v, dst)
	})
	if err != nil {
		return ti, err
	}
	for i, name := range []string{"dtype", "shape", "data_offsets"} {
		if !has[i] {
			return ti, fmt.Errorf("missing field %s", name)
		}
	}
	return ti, nil
}

func safetensors(r io.ReaderAt, size int64, headerLen uint64) (Result, error) {
	if headerLen > MaxSafetensorsHeader {
		return fault(Safetensors, "header length %d exceeds the %d byte cap", headerLen, MaxSafetensorsHeader), nil
	}
	if size < 8 || headerLen > uint64(size-8) {
		return fault(Safetensors, "header length %d is larger than the %d bytes after the length field", headerLen, max(size-8, 0)), nil
	}
	if headerLen < 2 {
		return fault(Safetensors, "header length %d cannot hold a JSON object", headerLen), nil
	}
	buf := make([]byte, headerLen)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return Result{}, err
	}
	// Keys are read exactly and once each: a name given twice (or a field, below) is a header
	// two readers could read differently.
	type member struct {
		name string
		msg  json.RawMessage
	}
	var raw []member
	if err := jsonexact.Unique(buf, func(k string, v json.RawMessage) error {
		raw = append(raw, member{k, v})
		return nil
	}); err != nil {
		return fault(Safetensors, "header is not a JSON object with unique keys: %v", err), nil
	}
	dataLen := uint64(size) - 8 - headerLen
	spans := make([][2]uint64, 0, len(raw))
	for _, m := range raw {
		name, msg := m.name, m.msg
		if name == "__metadata__" {
			// The reference reads it as an optional map: null is no metadata (MLX writes that
			// for a model saved without any).
			if string(bytes.TrimSpace(msg)) == "null" {
				continue
			}
			err := jsonexact.Unique(msg, func(_ string, v json.RawMessage) error {
				if v = bytes.TrimSpace(v); len(v) == 0 || v[0] != '"' {
					return fmt.Errorf("value %s is not a string", clip(string(v)))
				}
				var val string
				return json.Unmarshal(v, &val)
			})
			if err != nil {
				return fault(Safetensors, "__metadata__ must map strings to strings, each key once: %v", err), nil
			}
			continue
		}
		ti, err := parseTensorInfo(msg)
		if err != nil {
			return fault(Safetensors, "tensor %s: %v", strconv.Quote(clip(name)), err), nil
		}
		es, ok := dtypeSize[ti.Dtype]
		if !ok {
			return fault(Safetensors, "tensor %s: unknown dtype %s", strconv.Quote(clip(name)), strconv.Quote(clip(ti.Dtype))), nil
		}
		if len(ti.DataOffsets) != 2 {
			return fault(Safetensors, "tensor %s: data_offsets must hold 2 numbers, has %d", strconv.Quote(clip(name)), len(ti.DataOffsets)), nil
		}
		begin, end := ti.DataOffsets[0], ti.DataOffsets[1]
		if begin > end || end > dataLen {
			return fault(Safetensors, "tensor %s: offsets [%d,%d] outside the %d byte data section", strconv.Quote(clip(name)), begin, end, dataLen), nil
		}
		n := es
		for _, d := range ti.Shape {
			hi, lo := bits.Mul64(n, d)
			if hi != 0 || lo > math.MaxInt64 {
				return fault(Safetensors, "tensor %s: shape overflows", strconv.Quote(clip(name))), nil
			}
			n = lo
		}
		if n != end-begin {
			return fault(Safetensors, "tensor %s: shape and dtype need %d bytes, offsets give %d", strconv.Quote(clip(name)), n, end-begin), nil
		}
		spans = append(spans, [2]uint64{begin, end})
	}
	slices.SortFunc(spans, func(a, b [2]uint64) int {
		switch {
		case a[0] != b[0]:
			return cmpU(a[0], b[0])
		default:
			return cmpU(a[1], b[1])
		}
	})
	var next uint64
	for _, s := range spans {
		if s[0] != next {
			if s[0] < next {
				return fault(Safetensors, "tensor data overlaps at offset %d", s[0]), nil
			}
			return fault(Safetensors, "gap in tensor data at offset %d", next), nil
		}
		next = s[1]
	}
	if next != dataLen {
		return fault(Safetensors, "tensors cover %d of %d data bytes (truncated or padded file)", next, dataLen), nil
	}
	return Result{Format: Safetensors, Detail: strconv.Itoa(len(spans)) + " tensors"}, nil
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// clip keeps error messages short when a hostile header carries huge names.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
