package sniff

import (
	"encoding/json"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// dtypeSize is the element size in bytes of each safetensors dtype.
var dtypeSize = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8, "C64": 8,
}

type tensorInfo struct {
	Dtype       string   `json:"dtype"`
	Shape       []uint64 `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
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
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf, &raw); err != nil {
		return fault(Safetensors, "header is not a JSON object: %v", err), nil
	}
	dataLen := uint64(size) - 8 - headerLen
	spans := make([][2]uint64, 0, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(msg, &md); err != nil {
				return fault(Safetensors, "__metadata__ must map strings to strings: %v", err), nil
			}
			continue
		}
		var ti tensorInfo
		if err := json.Unmarshal(msg, &ti); err != nil {
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
