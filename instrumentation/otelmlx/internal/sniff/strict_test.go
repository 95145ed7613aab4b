package sniff

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func rawSafetensors(hdr string, data int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.WriteString(hdr)
	b.Write(make([]byte, data))
	return b.Bytes()
}

// Issue 10 item 19: the safetensors header is read as the reference implementation reads it:
// field names match exactly, a field or tensor given twice is refused, required fields must be
// there.
func TestSafetensorsHeaderIsReadStrictly(t *testing.T) {
	bad := map[string]string{
		"upper-case field names":  `{"w":{"DTYPE":"F32","SHAPE":[1],"DATA_OFFSETS":[0,4]}}`,
		"mixed-case dtype":        `{"w":{"Dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"duplicate dtype":         `{"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`,
		"duplicate data_offsets":  `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,2],"data_offsets":[0,4]}}`,
		"duplicate tensor":        `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"duplicate __metadata__":  `{"__metadata__":{"a":"b"},"__metadata__":{"a":"c"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"duplicate metadata key":  `{"__metadata__":{"a":"b","a":"c"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"missing shape":           `{"w":{"dtype":"F32","data_offsets":[0,4]}}`,
		"missing dtype":           `{"w":{"shape":[1],"data_offsets":[0,4]}}`,
		"null shape":              `{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`,
		"upper-case __METADATA__": `{"__METADATA__":{"a":"b"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"trailing data":           `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}{}`,
		"metadata of null values": `{"__metadata__":{"a":null},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"metadata list":           `{"__metadata__":[],"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
	}
	for name, hdr := range bad {
		r := sniffBytes(t, rawSafetensors(hdr, 4))
		if r.Err == nil {
			t.Errorf("%s: %s accepted as %s (%s)", name, hdr, r.Format, r.Detail)
		}
	}
	good := map[string]string{
		"plain":                 `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"metadata":              `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"null metadata":         `{"__metadata__":null,"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		"scalar":                `{"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`,
		"unknown field ignored": `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`,
	}
	for name, hdr := range good {
		if r := sniffBytes(t, rawSafetensors(hdr, 4)); r.Err != nil || r.Format != Safetensors {
			t.Errorf("%s: %s refused: %v", name, hdr, r.Err)
		}
	}
}
