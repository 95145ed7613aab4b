package sniff

import (
	"encoding/binary"
	"fmt"
)

// ggufHeader checks the fixed GGUF header: magic, version and the two counts that size every
// later read. The smallest possible tensor-info and key/value records bound what a file of the
// given size can hold, so an absurd count is rejected without reading further.
func ggufHeader(h []byte, size int64) Result {
	if len(h) < 8 {
		return fault(GGUF, "header truncated at %d bytes", len(h))
	}
	version := binary.LittleEndian.Uint32(h[4:8])
	var tensors, kvs uint64
	switch version {
	case 1:
		if len(h) < 16 {
			return fault(GGUF, "v1 header truncated at %d bytes", len(h))
		}
		tensors = uint64(binary.LittleEndian.Uint32(h[8:12]))
		kvs = uint64(binary.LittleEndian.Uint32(h[12:16]))
	case 2, 3:
		if len(h) < 24 {
			return fault(GGUF, "v%d header truncated (file is %d bytes, header needs 24)", version, size)
		}
		tensors = binary.LittleEndian.Uint64(h[8:16])
		kvs = binary.LittleEndian.Uint64(h[16:24])
	default:
		return fault(GGUF, "unsupported version %d (known: 1, 2, 3)", version)
	}
	return ggufCounts(version, tensors, kvs, size)
}

const (
	minTensorInfo = 8 + 1 + 4 + 8 + 4 + 8 // name length, 1-byte name, n_dims, one dim, type, offset
	minKV         = 8 + 1 + 4 + 1         // key length, 1-byte key, value type, 1-byte value
)

func ggufCounts(version uint32, tensors, kvs uint64, size int64) Result {
	if tensors > MaxGGUFTensors {
		return fault(GGUF, "tensor count %d exceeds the limit of %d", tensors, MaxGGUFTensors)
	}
	if tensors*minTensorInfo > uint64(size) {
		return fault(GGUF, "tensor count %d cannot fit in a %d byte file", tensors, size)
	}
	if kvs > MaxGGUFMetadata {
		return fault(GGUF, "metadata count %d exceeds the limit of %d", kvs, MaxGGUFMetadata)
	}
	if kvs*minKV > uint64(size) {
		return fault(GGUF, "metadata count %d cannot fit in a %d byte file", kvs, size)
	}
	return Result{Format: GGUF, Detail: fmt.Sprintf("v%d, %d tensors", version, tensors)}
}
