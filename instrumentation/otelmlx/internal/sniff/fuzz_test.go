package sniff

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Each sniffer gets its own target whose input is forced into that sniffer's branch, so the
// fuzzer spends its time past the magic bytes instead of rediscovering them.

func checkResult(t *testing.T, r Result, err error, want Format) {
	t.Helper()
	if err != nil {
		t.Fatalf("in-memory reader returned I/O error %v", err)
	}
	if r.Err != nil && r.Format != want {
		t.Fatalf("fault reported under format %q, want %q: %v", r.Format, want, r.Err)
	}
}

func FuzzSafetensorsHeader(f *testing.F) {
	f.Add([]byte(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`), []byte{0, 0, 0, 0}, uint64(0))
	f.Add([]byte(`{"__metadata__":{"a":"b"},"x":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}`), make([]byte, 8), uint64(0))
	f.Add([]byte(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`), make([]byte, 6), uint64(0))
	f.Fuzz(func(t *testing.T, header, data []byte, lenDelta uint64) {
		if len(header) == 0 || header[0] != '{' {
			header = append([]byte{'{'}, header...)
		}
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, uint64(len(header))+lenDelta%4096)
		b.Write(header)
		b.Write(data)
		r, err := Reader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		checkResult(t, r, err, Safetensors)
		// Safetensors-shaped input is safetensors, or a pickle (it starts like one, or reads as
		// one whatever its first byte: a polyglot), which is always unsafe.
		if r.Format != Safetensors && !(r.Format == Pickle && r.Unsafe && r.Detail != "") {
			t.Fatalf("safetensors-shaped input classified %q (%s)", r.Format, r.Detail)
		}
		if r.Format == Safetensors && r.Err == nil && !bytes.HasPrefix(b.Bytes()[8:], []byte("{")) {
			t.Fatal("accepted a header that is not a JSON object")
		}
	})
}

func FuzzGGUFHeader(f *testing.F) {
	f.Add(uint32(3), uint64(1), uint64(1), 64)
	f.Add(uint32(1), uint64(1<<33), uint64(7), 8)
	f.Fuzz(func(t *testing.T, version uint32, tensors, kvs uint64, pad int) {
		file := ggufFile(version, tensors, kvs, pad&0xffff)
		r, err := Reader(bytes.NewReader(file), int64(len(file)))
		checkResult(t, r, err, GGUF)
		if r.Format != GGUF {
			t.Fatalf("GGUF magic classified %q", r.Format)
		}
	})
}

func FuzzNPY(f *testing.F) {
	f.Add(npyFile("<f4", 16)[6:])
	f.Add(npyFile("|O", 16)[6:])
	f.Fuzz(func(t *testing.T, rest []byte) {
		file := append([]byte("\x93NUMPY"), rest...)
		r, err := Reader(bytes.NewReader(file), int64(len(file)))
		checkResult(t, r, err, NPY)
		if r.Format != NPY {
			t.Fatalf("npy magic classified %q", r.Format)
		}
	})
}

func FuzzNPZ(f *testing.F) {
	f.Add(zipFile(f, map[string][]byte{"a.npy": npyFile("<f4", 16)})[4:])
	f.Add(zipFile(f, map[string][]byte{"archive/data.pkl": {0x80, 2, '.'}})[4:])
	f.Fuzz(func(t *testing.T, rest []byte) {
		file := append([]byte("PK\x03\x04"), rest...)
		r, err := Reader(bytes.NewReader(file), int64(len(file)))
		checkResult(t, r, err, NPZ)
		if r.Format == Pickle && !r.Unsafe {
			t.Fatal("pickle member not flagged unsafe")
		}
	})
}
