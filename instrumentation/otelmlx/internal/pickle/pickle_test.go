package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// p concatenates opcodes and arguments: strings and bytes as they are, byte values as one byte.
func p(parts ...any) []byte {
	var b []byte
	for _, x := range parts {
		switch v := x.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case rune:
			b = append(b, byte(v))
		default:
			panic("p: unsupported part")
		}
	}
	return b
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// sbu is SHORT_BINUNICODE s.
func sbu(s string) []byte { return p(opSHORTBINUNICODE, len(s), s) }

// frame wraps a protocol 4 body in PROTO 4 and one FRAME, as pickle.dumps(protocol=4) writes.
func frame(proto int, body []byte) []byte {
	return p(opPROTO, proto, opFRAME, u64(uint64(len(body))), body)
}

type tcase struct {
	name    string
	data    []byte
	sev     Severity
	globals []string // "module.name", "*" suffix when called
	proto   int
	ext     bool // uses the copyreg extension registry (Python needs a registration)
}

// cases are crafted by hand, opcode by opcode, for every protocol and grade.
var cases = []tcase{
	// Protocol 0: text opcodes.
	{name: "p0/os.system", data: p("cos\nsystem\n(S'echo hi'\ntR."), sev: SeverityCritical, globals: []string{"os.system*"}},
	{name: "p0/mark-first-inst", data: p("(S'echo hi'\nios\nsystem\n."), sev: SeverityCritical, globals: []string{"os.system*"}},
	{name: "p0/builtin-eval", data: p("c__builtin__\neval\n(Vprint(1)\ntR."), sev: SeverityCritical, globals: []string{"__builtin__.eval*"}},
	{name: "p0/webbrowser", data: p("cwebbrowser\nopen\n(S\"http://example.com\"\ntR."), sev: SeverityHigh, globals: []string{"webbrowser.open*"}},
	{name: "p0/ordereddict", data: p("ccollections\nOrderedDict\np0\n(tRp1\n."), sev: SeverityLow, globals: []string{"collections.OrderedDict*"}},
	{name: "p0/data", data: p("(lp0\nI1\naL2L\naF1.5\naS'a\\'b\\x41'\np1\nag1\naV\\u00e9\na(dp2\nI00\nNsI01\nI-3\ns."), sev: SeverityNone},
	{name: "p0/custom-class", data: p("(imymodule\nMyClass\np0\n(dp1\nS'w'\nI1\nsb."), sev: SeverityMedium, globals: []string{"mymodule.MyClass*"}},
	{name: "p0/persid", data: p("(lPstorage0\naPstorage1\na."), sev: SeverityNone},
	// Protocol 1: binary arguments, no PROTO.
	{name: "p1/empty-list-first", data: p("]q\x00(K\x01M\x02\x01J\xff\xff\xff\xffe.")},
	{name: "p1/socket", data: p("csocket\nsocket\nq\x00)Rq\x01h\x00)R0."), sev: SeverityHigh, globals: []string{"socket.socket*"}},
	{name: "p1/subprocess-obj", data: p("(csubprocess\nPopen\nq\x00U\x02lsT\x02\x00\x00\x00-lo."), sev: SeverityCritical, globals: []string{"subprocess.Popen*"}},
	{name: "p1/binfloat-tuple", data: p("(G?\xf0\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00abc)}t.")},
	// Protocol 2: PROTO, NEWOBJ, TUPLEn, LONG1, EXT.
	{name: "p2/torch-rebuild", proto: 2, sev: SeverityLow,
		data:    p(opPROTO, 2, "ctorch._utils\n_rebuild_tensor_v2\nq\x00(ctorch\nFloatStorage\nq\x01K\x00\x85q\x02Rq\x03K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\x04Rq\x05."),
		globals: []string{"torch._utils._rebuild_tensor_v2*", "torch.FloatStorage*", "collections.OrderedDict*"}},
	{name: "p2/copyreg-newobj", proto: 2, sev: SeverityMedium,
		data:    p(opPROTO, 2, "cmymodule\nThing\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00aq\x03\x8a\x02\x00\x01sb\x88\x89\x86\x86."),
		globals: []string{"mymodule.Thing*"}},
	{name: "p2/ext1", proto: 2, sev: SeverityMedium, ext: true, data: p(opPROTO, 2, opEXT1, 7, ")R."), globals: []string{"copyreg._extension_registry.code 7*"}},
	{name: "p2/posix", proto: 2, sev: SeverityCritical, data: p(opPROTO, 2, "cposix\nsystem\nU\x02idK\x00\x86\x85R."), globals: []string{"posix.system*"}},
	// Protocol 3: bytes.
	{name: "p3/bytes", proto: 3, data: p(opPROTO, 3, "C\x03abcq\x00B", u32(5), "helloh\x00\x86.")},
	{name: "p3/codecs-encode", proto: 3, sev: SeverityLow, data: p(opPROTO, 3, "c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xa9X\x06\x00\x00\x00latin1\x86R."), globals: []string{"_codecs.encode*"}},
	// Protocol 4: STACK_GLOBAL, MEMOIZE, FRAME, BINUNICODE8, sets.
	{name: "p4/stack-global", proto: 4, sev: SeverityCritical,
		data:    frame(4, p(sbu("os"), opMEMOIZE, sbu("system"), opMEMOIZE, opSTACKGLOBAL, opMEMOIZE, sbu("id"), opMEMOIZE, opTUPLE1, opMEMOIZE, opREDUCE, opMEMOIZE, opSTOP)),
		globals: []string{"os.system*"}},
	// Module and name strings memoized early inside unrelated data, fetched back by BINGET.
	{name: "p4/stack-global-from-memo", proto: 4, sev: SeverityCritical,
		data: frame(4, p(opEMPTYLIST, opMEMOIZE, opMARK, sbu("weights"), opMEMOIZE, sbu("sub"), opMEMOIZE, sbu("process"), opMEMOIZE,
			opBINUNICODE8, u64(3), "run", opMEMOIZE, opAPPENDS, opPOP,
			opBINGET, 1, opPOP, opSHORTBINUNICODE, 10, "subprocess", opMEMOIZE,
			opBINGET, 4, opSTACKGLOBAL, opBINPUT, 200, opPOP,
			opMARK, sbu("x"), opFROZENSET, opEMPTYSET, opMARK, sbu("y"), opADDITEMS, opPOP, opPOP,
			opBINGET, 200, sbu("true"), opTUPLE1, opREDUCE, opSTOP)),
		globals: []string{"subprocess.run*"}},
	{name: "p4/long-binput-get", proto: 4, sev: SeverityCritical,
		data:    frame(4, p(sbu("builtins"), opLONGBINPUT, u32(70000), opPOP, sbu("exec"), opLONGBINPUT, u32(3), opLONGBINGET, u32(70000), opLONGBINGET, u32(3), opSTACKGLOBAL, sbu("1"), opTUPLE1, opREDUCE, opSTOP)),
		globals: []string{"builtins.exec*"}},
	{name: "p4/dotted-torch-os", proto: 4, sev: SeverityCritical,
		data:    frame(4, p(sbu("torch"), sbu("os.system"), opSTACKGLOBAL, sbu("id"), opTUPLE1, opREDUCE, opSTOP)),
		globals: []string{"torch.os.system*"}},
	{name: "p4/dunder-chain", proto: 4, sev: SeverityCritical,
		data:    frame(4, p(sbu("collections"), sbu("OrderedDict.__init__.__globals__"), opSTACKGLOBAL, opSTOP)),
		globals: []string{"collections.OrderedDict.__init__.__globals__"}},
	{name: "p4/dotted-low", proto: 4, sev: SeverityLow,
		data:    frame(4, p(sbu("torch"), sbu("_utils._rebuild_tensor_v2"), opSTACKGLOBAL, opSTOP)),
		globals: []string{"torch._utils._rebuild_tensor_v2"}},
	{name: "p4/newobj-ex", proto: 4, sev: SeverityMedium,
		data:    frame(4, p(sbu("mymodule"), sbu("Thing"), opSTACKGLOBAL, opEMPTYTUPLE, opEMPTYDICT, opNEWOBJEX, opSTOP)),
		globals: []string{"mymodule.Thing*"}},
	{name: "p4/numpy", proto: 4, sev: SeverityLow,
		data: frame(4, p(sbu("numpy.core.multiarray"), sbu("_reconstruct"), opSTACKGLOBAL, sbu("numpy"), sbu("ndarray"), opSTACKGLOBAL, opMEMOIZE,
			opBININT1, 0, opTUPLE1, opSHORTBINBYTES, 1, "b", opTUPLE3, opREDUCE,
			opMARK, opBININT1, 1, opBININT1, 1, opTUPLE1, sbu("numpy"), sbu("dtype"), opSTACKGLOBAL, sbu("f4"), opNEWFALSE, opNEWTRUE, opTUPLE3, opREDUCE,
			opNEWFALSE, opBINBYTES8, u64(4), "\x00\x00\x80?", opTUPLE, opBUILD, opSTOP)),
		globals: []string{"numpy.core.multiarray._reconstruct*", "numpy.ndarray", "numpy.dtype*"}},
	// Protocol 5: out-of-band buffers and bytearray.
	{name: "p5/buffers", proto: 5, data: frame(5, p(opBYTEARRAY8, u64(3), "abc", opNEXTBUFFER, opREADONLYBUFFER, opTUPLE2, opSTOP))},
	{name: "p5/runpy", proto: 5, sev: SeverityCritical, data: frame(5, p(sbu("runpy"), sbu("_run_code"), opSTACKGLOBAL, sbu("print(1)"), opEMPTYDICT, opTUPLE2, opREDUCE, opSTOP)), globals: []string{"runpy._run_code*"}},
}

func describe(r *Result) []string {
	var out []string
	for _, g := range r.Globals {
		s := g.String()
		if g.Called {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func TestScanCases(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withTrailer := append(slices.Clip(c.data), "trailing bytes after STOP"...)
			for mode, scan := range scanModes(withTrailer) {
				r, err := scan(Limits{})
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if r.Length != int64(len(c.data)) {
					t.Errorf("%s: Length %d, want %d", mode, r.Length, len(c.data))
				}
				if r.Severity != c.sev {
					t.Errorf("%s: severity %v, want %v", mode, r.Severity, c.sev)
				}
				if got := describe(r); !slices.Equal(got, c.globals) {
					t.Errorf("%s: globals %q, want %q", mode, got, c.globals)
				}
				if r.Protocol != c.proto {
					t.Errorf("%s: protocol %d, want %d", mode, r.Protocol, c.proto)
				}
			}
		})
	}
}

// scanModes runs the three entry points over the same bytes; a one-byte reader exercises every
// refill path of reader mode.
func scanModes(b []byte) map[string]func(Limits) (*Result, error) {
	return map[string]func(Limits) (*Result, error){
		"bytes": func(l Limits) (*Result, error) { return ScanBytes(b, l) },
		"readerAt": func(l Limits) (*Result, error) {
			return ScanAt(bytes.NewReader(b), int64(len(b)), l)
		},
		"reader": func(l Limits) (*Result, error) { return Scan(iotest.OneByteReader(bytes.NewReader(b)), l) },
	}
}

// Every proper prefix of a valid stream is a truncation, never "malformed": the sniffer relies
// on that to ask for more bytes instead of calling a short read something else.
func TestPrefixesAreTruncated(t *testing.T) {
	for _, c := range cases {
		for n := 0; n < len(c.data); n++ {
			for mode, scan := range scanModes(c.data[:n]) {
				_, err := scan(Limits{})
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("%s: prefix %d/%d (%s): err %v, want ErrTruncated", c.name, n, len(c.data), mode, err)
				}
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, c := range []struct {
		name, reason string
		data         []byte
		offset       int64
	}{
		{"invalid opcode", "invalid opcode", p(opPROTO, 2, 0xff), 2},
		{"text is not a pickle", "invalid opcode", p("#!/bin/sh\n"), 0},
		{"underflow", "stack underflow", p(opPROTO, 2, opREDUCE, opSTOP), 2},
		{"stop on empty", "stack underflow", p(opSTOP), 0},
		{"append below mark", "stack underflow", p(opEMPTYLIST, opMARK, opNONE, opPOPMARK, opMARK, opNONE, opAPPEND, opSTOP), 6},
		{"no mark", "no MARK", p(opNONE, opTUPLE, opSTOP), 1},
		{"odd dict", "odd number", p(opMARK, opNONE, opDICT, opSTOP), 2},
		{"memo miss", "memo index 3 not set", p(opPROTO, 2, opBINGET, 3, opSTOP), 2},
		{"text memo miss", "memo index 9 not set", p("g9\n."), 0},
		{"bad memo index", "invalid memo index", p("Np-1\n."), 1},
		{"protocol 6", "unsupported protocol 6", p(opPROTO, 6, opNONE, opSTOP), 0},
		{"unquoted string", "not a quoted string", p("Sabc\n."), 0},
		{"bad escape", "not a quoted string", p("S'\\x4'\n."), 0},
		{"bad int", "invalid integer", p("I12a\n."), 0},
		{"negative binstring", "negative length", p("T\xff\xff\xff\xff."), 0},
		{"invalid utf-8", "not UTF-8", p(opSHORTBINUNICODE, 2, "\xff\xfe", opSTOP), 0},
		{"ext zero", "extension code not positive", p(opPROTO, 2, opEXT1, 0, opSTOP), 2},
		{"obj without class", "OBJ without a class", p(opMARK, opOBJ, opSTOP), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ScanBytes(c.data, Limits{})
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want a malformed *Error", err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q does not say %q", err, c.reason)
			}
			if e.Offset != c.offset {
				t.Errorf("offset %d, want %d (%v)", e.Offset, c.offset, err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	many := func(op byte, n int) []byte { return bytes.Repeat([]byte{op}, n) }
	memo := p(opPROTO, 4, opNONE, many(opMEMOIZE, 100), opSTOP)
	for _, c := range []struct {
		name string
		data []byte
		lim  Limits
		want string
	}{
		{"ops", p(many(opNONE, 50), opSTOP), Limits{MaxOps: 20}, "opcode limit"},
		{"stack", p(many(opNONE, 50), opSTOP), Limits{MaxStack: 10}, "stack limit"},
		{"marks", p(many(opMARK, 50), opSTOP), Limits{MaxStack: 10}, "stack limit"},
		{"memo", memo, Limits{MaxMemo: 10}, "memo limit"},
		{"input", p(opBINBYTES, u32(1<<20), make([]byte, 1<<20), opSTOP), Limits{MaxInput: 1000}, "input limit"},
		{"line", p("S'", strings.Repeat("a", 5000), "'\n."), Limits{MaxLine: 1000}, "line limit"},
		{"frame", p(opPROTO, 4, opFRAME, u64(1<<40), opNONE, opSTOP), Limits{MaxInput: 1 << 30}, "input limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for mode, scan := range scanModes(c.data) {
				_, err := scan(c.lim)
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: err %v, want a limit error about %q", mode, err, c.want)
				}
			}
		})
	}
	// The memo holds its distinct keys: rewriting one index many times stays within a small limit.
	if _, err := ScanBytes(p(opNONE, bytes.Repeat([]byte{opBINPUT, 1}, 100), opSTOP), Limits{MaxMemo: 1}); err != nil {
		t.Errorf("rewriting one memo key: %v", err)
	}
	// A far index set first is still found once the dense indices grow past it, as in CPython.
	var grow []byte
	for i := 0; i < 1000; i++ {
		grow = append(grow, p(opLONGBINPUT, u32(uint32(i)))...)
	}
	// 1050 is far when set (beyond 0+1024); PUT 1100 then pads the slice over it.
	far := p(opPROTO, 2, opNONE, opLONGBINPUT, u32(1050), grow, opLONGBINPUT, u32(1100), opLONGBINGET, u32(1050), opTUPLE2, opSTOP)
	for mode, scan := range scanModes(far) {
		if r, err := scan(Limits{}); err != nil || r.Length != int64(len(far)) {
			t.Errorf("%s: far memo index reached by dense ones: %v", mode, err)
		}
	}
	// A far memo index goes to the sparse map, not a slice grown to it.
	if r, err := ScanBytes(p(opNONE, opLONGBINPUT, u32(0xfffffff0), opLONGBINGET, u32(0xfffffff0), opTUPLE2, opSTOP), Limits{}); err != nil || r.Length == 0 {
		t.Errorf("far memo index: %v", err)
	}
}

func TestGlobalsBounded(t *testing.T) {
	var body []byte
	for i := 0; i < 40; i++ {
		body = append(body, p("cmod", itoa(int64(i)), "\nname\n", opPOP)...)
	}
	body = append(body, p("cos\nsystem\n.")...)
	r, err := ScanBytes(body, Limits{MaxGlobals: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Globals) != 8 || r.GlobalsDropped != 33 {
		t.Errorf("%d globals listed, %d dropped; want 8 and 33", len(r.Globals), r.GlobalsDropped)
	}
	if r.Severity != SeverityCritical {
		t.Errorf("a dropped critical global is still graded: severity %v", r.Severity)
	}
	// A name longer than MaxName is cut, and the cut name grades as unknown at least.
	r, err = ScanBytes(p("cos\n", strings.Repeat("x", 600), "\n."), Limits{MaxName: 64})
	if err != nil || len(r.Globals[0].Name) > 64+len("…") || r.Severity != SeverityCritical {
		t.Errorf("long name: %v %+v", err, r)
	}
}

func TestDynamicStackGlobal(t *testing.T) {
	// The module name is computed at load time (the result of a call), so the import cannot be
	// known statically: CRITICAL, marked dynamic.
	data := frame(4, p(sbu("codecs"), sbu("decode"), opSTACKGLOBAL, sbu("bf"), sbu("rot13"), opTUPLE2, opREDUCE, sbu("system"), opSTACKGLOBAL, opSTOP))
	r, err := ScanBytes(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Severity != SeverityCritical || len(r.Globals) != 2 || !r.Globals[1].Dynamic {
		t.Fatalf("dynamic import: %+v", r)
	}
	// A module string longer than the retained-name limit is not followed: dynamic as well.
	long := strings.Repeat("m", 300)
	r, err = ScanBytes(frame(4, p(opBINUNICODE, u32(uint32(len(long))), long, sbu("x"), opSTACKGLOBAL, opSTOP)), Limits{})
	if err != nil || r.Severity != SeverityCritical || !r.Globals[0].Dynamic {
		t.Fatalf("unretained module string: %v %+v", err, r)
	}
}

func TestPartialResultOnError(t *testing.T) {
	// What an unpickler would already have run before the fault still counts.
	r, err := ScanBytes(p("cos\nsystem\n(S'id'\ntR", 0xff), Limits{})
	if !errors.Is(err, ErrMalformed) || r.Severity != SeverityCritical || !r.Globals[0].Called {
		t.Fatalf("err %v, result %+v", err, r)
	}
}

func TestGrade(t *testing.T) {
	for _, c := range []struct {
		module, name string
		want         Severity
	}{
		{"os", "system", SeverityCritical},
		{"os.path", "join", SeverityCritical},
		{"nt", "system", SeverityCritical},
		{"builtins", "getattr", SeverityCritical},
		{"__builtin__", "eval", SeverityCritical},
		{"builtins", "__import__", SeverityCritical},
		{"importlib", "import_module", SeverityCritical},
		{"commands", "getoutput", SeverityCritical},
		{"operator", "attrgetter", SeverityCritical},
		{"socket", "create_connection", SeverityHigh},
		{"httplib", "HTTPSConnection", SeverityHigh},
		{"http.client", "HTTPConnection", SeverityHigh},
		{"requests.api", "get", SeverityHigh},
		{"urllib.request", "urlopen", SeverityHigh},
		{"ftplib", "FTP", SeverityHigh},
		{"smtplib", "SMTP", SeverityHigh},
		{"torch._utils", "_rebuild_tensor_v2", SeverityLow},
		{"torch", "BFloat16Storage", SeverityLow},
		{"numpy.core.multiarray", "_reconstruct", SeverityLow},
		{"numpy.dtypes", "Float32DType", SeverityLow},
		{"collections", "OrderedDict", SeverityLow},
		{"copy_reg", "_reconstructor", SeverityLow},
		{"builtins", "set", SeverityLow},
		{"__builtin__", "set", SeverityLow},
		{"mymodule", "MyClass", SeverityMedium},
		{"torch.nn.modules.linear", "Linear", SeverityMedium},
		{"torch", "load", SeverityCritical},
		{"torch", "_utils._rebuild_tensor_v2", SeverityLow},
		{"torch", "os.system", SeverityCritical},
		{"mymodule", "helper.socket", SeverityHigh},
		{"collections", "OrderedDict.__class__", SeverityCritical},
	} {
		if got := Grade(c.module, c.name); got != c.want {
			t.Errorf("Grade(%q, %q) = %v, want %v", c.module, c.name, got, c.want)
		}
	}
	for _, n := range []string{"none", "LOW", "Medium", "high", "critical"} {
		s, err := ParseSeverity(n)
		if err != nil || !strings.EqualFold(s.String(), n) {
			t.Errorf("ParseSeverity(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil || !strings.Contains(err.Error(), "none, low, medium, high, critical") {
		t.Errorf("ParseSeverity(severe) error %v does not list the choices", err)
	}
}

// TestAgainstCPython loads every case with CPython's own unpickler, whose find_class records the
// import and returns an inert stand-in (nothing named in the stream is ever imported or run),
// and checks that CPython accepts exactly the streams the scanner accepts, with the same imports.
// The truncated and malformed inputs of the other tests are checked the same way.
func TestAgainstCPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to cross-check the scanner against CPython's unpickler")
	}
	type in struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
		Ext  bool   `json:"ext"`
	}
	var inputs []in
	for _, c := range cases {
		inputs = append(inputs, in{c.name, hex.EncodeToString(c.data), c.ext})
		if len(c.data) > 4 {
			inputs = append(inputs, in{c.name + "/truncated", hex.EncodeToString(c.data[:len(c.data)-2]), c.ext})
		}
	}
	for i, m := range [][]byte{p(opPROTO, 2, opREDUCE, opSTOP), p(opMARK, opNONE, opDICT, opSTOP), p(opPROTO, 2, opBINGET, 3, opSTOP), p(opPROTO, 6, opNONE, opSTOP), p("Sabc\n."), p(opSHORTBINUNICODE, 2, "\xff\xfe", opSTOP), p(opNONE, opTUPLE, opSTOP), p(opSTOP)} {
		inputs = append(inputs, in{Name: "malformed/" + itoa(int64(i)), Hex: hex.EncodeToString(m)})
	}
	js, _ := json.Marshal(inputs)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.json"), js, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/cpython_load.py", filepath.Join(dir, "in.json"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpython_load.py: %v", err)
	}
	var got map[string]struct {
		OK      bool     `json:"ok"`
		Error   string   `json:"error"`
		Globals []string `json:"globals"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for _, c := range inputs {
		data, _ := hex.DecodeString(c.Hex)
		r, err := ScanBytes(data, Limits{})
		py := got[c.Name]
		if (err == nil) != py.OK {
			t.Errorf("%s: scanner err %v, CPython ok=%v (%s)", c.Name, err, py.OK, py.Error)
			continue
		}
		var gs []string
		for _, g := range r.Globals {
			gs = append(gs, g.String())
		}
		slices.Sort(gs)
		slices.Sort(py.Globals)
		if err == nil && !slices.Equal(gs, py.Globals) {
			t.Errorf("%s: scanner globals %q, CPython imported %q", c.Name, gs, py.Globals)
		}
	}
}
