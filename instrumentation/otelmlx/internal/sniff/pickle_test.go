package sniff

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Issue 10 item 2: content that parses as a pickle stream is pickle whatever its first byte;
// so is a prefix that would import and call something before failing.
func TestPicklesWhateverTheirFirstByte(t *testing.T) {
	pickles := map[string]string{
		"protocol 0, MARK first":               "(S'echo pwned'\nios\nsystem\n.",
		"protocol 0, MARK first, INST call":    "(S'x'\nI1\nibuiltins\nprint\n.",
		"protocol 4 opcodes without PROTO":     "\x8c\x05posix\x8c\x06system\x93\x8c\x04echo\x85R.",
		"protocol 1, EMPTY_LIST first":         "]q\x00(K\x01K\x02e.",
		"protocol 1, EMPTY_DICT first":         "}q\x00(X\x01\x00\x00\x00aK\x01u.",
		"protocol 0 list":                      "(lp0\nI1\naI2\na.",
		"protocol 3 opcodes without PROTO":     "C\x03abcq\x00.",
		"NONE":                                 "N.",
		"calls, then garbage before any STOP":  "(S'x'\nios\nsystem\n\xff\xfe garbage",
		"STACK_GLOBAL call, then truncated":    "\x8c\x02os\x8c\x06system\x93\x8c\x01x\x85R",
		"EMPTY_TUPLE, BINUNICODE, frame later": ")X\x02\x00\x00\x00hi\x86.",
	}
	for name, p := range pickles {
		t.Run(name, func(t *testing.T) {
			r := sniffBytes(t, []byte(p))
			if r.Format != Pickle || !r.Unsafe {
				t.Fatalf("%q: format %s unsafe %v (detail %q), want pickle, unsafe", p, r.Format, r.Unsafe, r.Detail)
			}
		})
	}
	notPickles := map[string]string{
		"json":            `{"model_type": "llama", "vocab_size": 32000}`,
		"text":            "hello world, these are not weights\n",
		"readme":          "# Model card\n\nNot a pickle.\n",
		"lone NONE":       "N",
		"binary":          "\x00\x01\x02\x03\xff\xfe\xfd",
		"tokenizer.model": "\n\x0e\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02",
	}
	for name, p := range notPickles {
		if r := sniffBytes(t, []byte(p)); r.Format == Pickle || r.Unsafe {
			t.Errorf("%s: %q reported %s unsafe=%v", name, p, r.Format, r.Unsafe)
		}
	}
}

// polyglot builds a file that is valid safetensors and a pickle stream at once: the header
// length's bytes are PROTO 4 and the UNICODE opcode, whose line swallows the header up to a
// newline that JSON reads as whitespace; the '}' after it is EMPTY_DICT, and the tensor data is
// the rest of the pickle, which calls call and ends in STOP.
func polyglot(t testing.TB, call string) []byte {
	payload := []byte("00" + call + "(S'echo pwned'\ntR.")
	hlen := uint64(0x560480) // bytes 80 04 56 00 00 00 00 00: PROTO 4, UNICODE
	head := fmt.Sprintf(`{"__metadata__":{"pad":"%%s"},"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}`, len(payload), len(payload))
	pad := int(hlen) - (len(head) - 2) - len("\n}")
	hdr := fmt.Sprintf(head, strings.Repeat("x", pad)) + "\n}"
	if uint64(len(hdr)) != hlen || !json.Valid([]byte(hdr)) {
		t.Fatalf("polyglot header is %d bytes (want %d), valid JSON %v", len(hdr), hlen, json.Valid([]byte(hdr)))
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, hlen)
	b.WriteString(hdr)
	b.Write(payload)
	return b.Bytes()
}

// Issue 10 item 4: a file that is valid safetensors and an executable pickle at once is unsafe,
// with a detail that says it is a polyglot.
func TestSafetensorsPicklePolyglot(t *testing.T) {
	b := polyglot(t, "cos\nsystem\n")
	if h := b[:8]; !bytes.Equal(h[:3], []byte{0x80, 0x04, 'V'}) {
		t.Fatalf("length bytes % x", h)
	}
	// The safetensors parser alone accepts it.
	if res, err := safetensors(bytes.NewReader(b), int64(len(b)), binary.LittleEndian.Uint64(b[:8])); err != nil || res.Err != nil || res.Format != Safetensors {
		t.Fatalf("the polyglot is not valid safetensors: %+v %v", res, err)
	}
	r := sniffBytes(t, b)
	if r.Format != Pickle || !r.Unsafe || !r.Polyglot || !strings.HasPrefix(r.Detail, "polyglot") {
		t.Fatalf("polyglot reported %s unsafe=%v detail %q, want pickle, unsafe, detail polyglot…", r.Format, r.Unsafe, r.Detail)
	}
}

// A zip member is read as a pickle whatever its first byte and its name.
func TestZipMemberPickleWhateverItsFirstByte(t *testing.T) {
	z := zipFile(t, map[string][]byte{"archive/data": []byte("(S'echo pwned'\nios\nsystem\n."), "archive/w.npy": npyFile("<f4", 4)})
	if r := sniffBytes(t, z); r.Format != Pickle || !r.Unsafe {
		t.Fatalf("zip with a MARK-first pickle member: %s unsafe=%v", r.Format, r.Unsafe)
	}
}
