package sniff

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// safetensorsFile builds a safetensors file from a header object and a data section.
func safetensorsFile(t testing.TB, header map[string]any, data []byte) []byte {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return safetensorsRaw(uint64(len(h)), h, data)
}

func safetensorsRaw(hlen uint64, h, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, hlen)
	b.Write(h)
	b.Write(data)
	return b.Bytes()
}

func tensor(dtype string, shape []int, begin, end int) map[string]any {
	return map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{begin, end}}
}

func ggufFile(version uint32, tensors, kvs uint64, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("GGUF")
	_ = binary.Write(&b, binary.LittleEndian, version)
	_ = binary.Write(&b, binary.LittleEndian, tensors)
	_ = binary.Write(&b, binary.LittleEndian, kvs)
	b.Write(make([]byte, pad))
	return b.Bytes()
}

func npyFile(descr string, payload int) []byte {
	dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (4,), }"
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(make([]byte, payload))
	return b.Bytes()
}

func zipFile(t testing.TB, members map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sniffBytes(t testing.TB, b []byte) Result {
	t.Helper()
	r, err := Reader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Reader: unexpected I/O error %v", err)
	}
	return r
}

func TestHostileCorpus(t *testing.T) {
	valid := safetensorsFile(t, map[string]any{
		"__metadata__": map[string]string{"format": "mlx"},
		"w":            tensor("F32", []int{2, 2}, 0, 16),
		"b":            tensor("BF16", []int{2}, 16, 20),
	}, make([]byte, 20))
	pickleProto4 := append([]byte{0x80, 0x04, 0x95}, []byte("cos\nsystem\n")...)

	tests := []struct {
		name       string
		file       []byte
		format     Format
		unsafe     bool
		errContain string // empty: no format error expected
	}{
		{"valid safetensors", valid, Safetensors, false, ""},
		{"truncated safetensors", valid[:len(valid)-5], Safetensors, false, "outside the 15 byte data section"},
		{"padded safetensors", append(valid, 0, 0), Safetensors, false, "cover 20 of 22"},
		{"header length larger than file", safetensorsRaw(1<<20, []byte(`{"a":1}`), nil), Safetensors, false, "larger than"},
		{"header length over cap", safetensorsRaw(MaxSafetensorsHeader+1, []byte(`{}`), nil), Safetensors, false, "cap"},
		{"header not json", safetensorsRaw(4, []byte(`{"a"`), nil), Safetensors, false, "not a JSON object"},
		{"overlapping offsets", safetensorsFile(t, map[string]any{
			"a": tensor("F32", []int{2}, 0, 8), "b": tensor("F32", []int{2}, 4, 12),
		}, make([]byte, 12)), Safetensors, false, "overlaps"},
		{"offsets outside file", safetensorsFile(t, map[string]any{
			"a": tensor("F32", []int{1 << 20}, 0, 4<<20),
		}, make([]byte, 8)), Safetensors, false, "outside"},
		{"gap in data", safetensorsFile(t, map[string]any{
			"a": tensor("U8", []int{4}, 0, 4), "b": tensor("U8", []int{4}, 8, 12),
		}, make([]byte, 12)), Safetensors, false, "gap"},
		{"shape mismatch", safetensorsFile(t, map[string]any{
			"a": tensor("F32", []int{3}, 0, 8),
		}, make([]byte, 8)), Safetensors, false, "need 12 bytes"},
		{"shape overflow", safetensorsFile(t, map[string]any{
			"a": tensor("F32", []int{1 << 40, 1 << 40}, 0, 8),
		}, make([]byte, 8)), Safetensors, false, "overflow"},
		{"unknown dtype", safetensorsFile(t, map[string]any{
			"a": tensor("Q4", []int{2}, 0, 2),
		}, make([]byte, 2)), Safetensors, false, "unknown dtype"},
		{"pickle renamed safetensors", pickleProto4, Pickle, true, ""},
		{"pickle protocol 0", []byte("ctorch._utils\n_rebuild_tensor\n"), Pickle, true, ""},
		{"gguf v3", ggufFile(3, 2, 3, 4096), GGUF, false, ""},
		{"gguf bad version", ggufFile(7, 2, 3, 64), GGUF, false, "unsupported version 7"},
		{"gguf absurd tensor count", ggufFile(3, 1<<40, 1, 64), GGUF, false, "tensor count"},
		{"gguf tensor count too large for file", ggufFile(3, 1000, 1, 64), GGUF, false, "cannot fit"},
		{"gguf absurd kv count", ggufFile(2, 1, 1<<50, 64), GGUF, false, "metadata count"},
		{"gguf truncated", []byte("GGUF\x03\x00\x00\x00\x01"), GGUF, false, "truncated"},
		{"npy", npyFile("<f4", 16), NPY, false, ""},
		{"npy object dtype", npyFile("|O", 32), NPY, true, ""},
		{"npy bad version", append([]byte("\x93NUMPY\x09\x00"), make([]byte, 8)...), NPY, false, "unsupported version"},
		{"npy header larger than file", []byte("\x93NUMPY\x01\x00\xff\xff{'descr'"), NPY, false, "larger than the file"},
		{"npz", zipFile(t, map[string][]byte{"w.npy": npyFile("<f4", 16), "b.npy": npyFile("<i8", 32)}), NPZ, false, ""},
		{"npz with object array", zipFile(t, map[string][]byte{"w.npy": npyFile("|O", 16)}), NPZ, true, ""},
		{"torch zip with pickle", zipFile(t, map[string][]byte{"archive/data.pkl": pickleProto4, "archive/data/0": {1, 2}}), Pickle, true, ""},
		{"zip of text", zipFile(t, map[string][]byte{"readme.txt": []byte("hello")}), Unknown, false, ""},
		{"corrupt zip", []byte("PK\x03\x04garbage"), NPZ, false, "not a readable zip"},
		{"json config", []byte(`{"model_type": "llama"}`), Unknown, false, ""},
		{"empty", nil, Unknown, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sniffBytes(t, tt.file)
			if got.Format != tt.format || got.Unsafe != tt.unsafe {
				t.Fatalf("got format %q unsafe %v (err %v), want %q unsafe %v", got.Format, got.Unsafe, got.Err, tt.format, tt.unsafe)
			}
			if tt.errContain == "" {
				if got.Err != nil {
					t.Fatalf("unexpected format error: %v", got.Err)
				}
				return
			}
			var fe *FormatError
			if !errors.As(got.Err, &fe) || fe.Format != tt.format {
				t.Fatalf("want a *FormatError for %q, got %v", tt.format, got.Err)
			}
			if !strings.Contains(got.Err.Error(), tt.errContain) {
				t.Fatalf("error %q does not mention %q", got.Err, tt.errContain)
			}
		})
	}
}

// A header that claims a huge length must be refused before anything of that size is allocated.
// A valid safetensors file whose header length starts with the bytes of a pickle PROTO opcode
// (0x0380 = 896) is safetensors, not pickle.
func TestSafetensorsLengthThatLooksLikePickle(t *testing.T) {
	name := strings.Repeat("n", 896-len(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`))
	hdr := `{"` + name + `":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
	file := safetensorsRaw(uint64(len(hdr)), []byte(hdr), []byte{7})
	if file[0] != 0x80 || file[1] != 0x03 {
		t.Fatalf("test file does not start like a pickle: % x", file[:2])
	}
	if got := sniffBytes(t, file); got.Format != Safetensors || got.Err != nil {
		t.Fatalf("got %+v", got)
	}
}

func TestHugeHeaderDoesNotAllocate(t *testing.T) {
	file := safetensorsRaw(MaxSafetensorsHeader-1, []byte(`{"a":1}`), nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := sniffBytes(t, file)
	runtime.ReadMemStats(&after)
	if res.Err == nil {
		t.Fatal("lying header accepted")
	}
	if allocs := after.TotalAlloc - before.TotalAlloc; allocs > 64<<10 {
		t.Fatalf("sniffing a lying header allocated %d bytes per call", allocs)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(safetensorsFile(f, map[string]any{"w": tensor("F32", []int{1}, 0, 4)}, make([]byte, 4)))
	f.Add(ggufFile(3, 1, 1, 64))
	f.Add(npyFile("<f4", 16))
	f.Add(zipFile(f, map[string][]byte{"a.npy": npyFile("<f4", 16)}))
	f.Add([]byte{0x80, 0x02, '}', '.'})
	f.Add([]byte("cos\nsystem\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Reader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("in-memory reader returned I/O error %v", err)
		}
		switch r.Format {
		case Safetensors, GGUF, NPZ, NPY, Pickle, Unknown:
		default:
			t.Fatalf("format %q outside the contract", r.Format)
		}
		if r.Format == Pickle && !r.Unsafe {
			t.Fatal("pickle must be flagged unsafe")
		}
		if r.Err != nil && r.Format == Unknown {
			t.Fatalf("unknown format with a parse fault: %v", r.Err)
		}
	})
}
