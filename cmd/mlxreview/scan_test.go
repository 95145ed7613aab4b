package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileLines are OTLP JSON lines the selective reader must read as pdata does: escapes,
// other key orders, snake_case names, repeated fields and keys, every attribute value type,
// ids in upper case, findings, resource after the scope list, control characters, broken
// and trailing input. Some it reads itself, the rest it hands back to pdata.
var hostileLines = []string{
	// a finding, a flagged denial, escaped strings, value before key, resource last
	`{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"x","version":"1","attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":1.5e3}}]}}]}}}]},"logRecords":[` +
		`{"timeUnixNano":"1764300000000000000","eventName":"mlx.anomaly.detected","traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"0102030405060708","body":{"stringValue":"b\u00e9\n"},"attributes":[{"value":{"stringValue":"model\"q\\u\/"},"key":"gen_ai.request.model"},{"key":"mlxanomaly.type","value":{"stringValue":"token_spike"}},{"key":"mlxanomaly.atlas_technique","value":{"stringValue":"AML.T0029"}},{"key":"mlxanomaly.key","value":{"stringValue":"k\t1"}}]},` +
		`{"observedTimeUnixNano":1764300060000000000,"eventName":"mlx.model.policy.denied","severityNumber":13,"severityText":"WARN","flags":1,"attributes":[{"key":"mlx.policy.decision","value":{"stringValue":"deny"}},{"key":"mlxanomaly.flag","value":{"stringValue":"true"}},{"key":"mlx.model.unsafe","value":{"boolValue":true}},{"key":"mlx.model.format","value":{"stringValue":"pickle"}},{"key":"gen_ai.request.model","value":{"intValue":-7}},{"key":"service.name","value":{"stringValue":""}},{"key":"service.name","value":{"boolValue":false}}]}]}],` +
		`"resource":{"droppedAttributesCount":0,"attributes":[{"key":"service.name","value":{"stringValue":"svc\u001b[31m"}},{"key":"service.name","value":{"stringValue":"second"}}]},"schemaUrl":"s"}]}`,
	// spans: error status, events and links, a load and an integrity mismatch, empty ids
	`{ "resourceSpans" : [ { "resource" : { "attributes" : [ ] } , "scopeSpans" : [ { "spans" : [ ` +
		`{"traceId":"","spanId":"","name":"chat m","kind":3,"startTimeUnixNano":5,"endTimeUnixNano":"2000000005","status":{"code":2,"message":"boom"},"events":[{"timeUnixNano":"1","name":"exception","attributes":[{"key":"exception.message","value":{"stringValue":"x"}}],"droppedAttributesCount":1}],"links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","traceState":"a=b","flags":256,"attributes":[]}],"droppedEventsCount":0,"droppedLinksCount":0,"attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"enduser.pseudo.id","value":{"stringValue":"c1"}},{"key":"service.name","value":{"stringValue":"from-span"}},{"key":"error.type","value":{"stringValue":"timeout"}},{"key":"mlxanomaly.flag","value":{"boolValue":true}},{"key":"mlxanomaly.type","value":{"stringValue":"latency_spike"}}]},` +
		`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"a1a2a3a4a5a6a7a8","parentSpanId":"0102030405060708","traceState":"","flags":0,"name":"load_model m","startTimeUnixNano":"10","endTimeUnixNano":"20","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"load_model"}},{"key":"mlx.model.sha256","value":{"stringValue":"ab"}},{"key":"mlx.model.source","value":{"stringValue":"file:///x\n[fake]"}},{"key":"error.type","value":{"stringValue":"integrity_mismatch"}},{"key":"mlx.policy.rule","value":{"stringValue":"r1"}},{"key":"bytes","value":{"bytesValue":"aGVsbG8="}},{"key":"empty","value":{}},{"key":"d","value":{"doubleValue":-0.5E-3}}],"status":{}}` +
		` ] } ] } ] }`,
	// handed back to pdata, read there: snake_case, a repeated field, an enum name, null,
	// a double-valued review attribute, a surrogate escape and trailing bytes; then an
	// escaped key (the scanner decodes it) and lines malformed for both
	`{"resource_spans":[{"scope_spans":[{"spans":[{"span_id":"0102030405060708","end_time_unix_nano":"7","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"snake"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a","name":"b","endTimeUnixNano":"9","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"rep"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SERVER","status":{"code":"STATUS_CODE_ERROR"},"endTimeUnixNano":"9","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"enum"}}]}]}]}]}`,
	`{"resourceSpans":[{"resource":null,"scopeSpans":[{"spans":[{"endTimeUnixNano":"9","attributes":[{"key":"gen_ai.request.model","value":{"doubleValue":2.5}}]}]}]}]}`,
	`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"mlx.model.load.succeeded","timeUnixNano":"3","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"\ud83d\ude00"}},{"key":"mlx.model.source","value":{"stringValue":"s"}}]}]}]}]} trailing`,
	`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"mlx.model.load.succeeded","timeUnixNano":"3","attributes":[{"key":"gen_ai.request\u002emodel","value":{"stringValue":"esc-key"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","endTimeUnixNano":"9"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"-9"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"99999999999999999999"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a` + "\x01" + `b","endTimeUnixNano":"9"}]}]}]}`,
	`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"!!"}}]}]}]}`,
	`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"intValue":"1.5"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"9",}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"9"}]}]}]`,
	`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asInt":"1"},{"asDouble":2}]}}]}]}]}`,
	`{"x":1}`,
	`not json`,
	``,
}

// reviewLines reviews data as one file with the given reader.
func reviewLines(t testing.TB, dir string, data string, rd reader) *agg {
	p := filepath.Join(dir, "in.json")
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	return reviewWith([]string{p}, 2, nil, rd)
}

// sameReview asserts that two aggregates are equal and render the same report.
func sameReview(t testing.TB, want, got *agg) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("aggregates differ:\npdata:     %s\nselective: %s", summary(want), summary(got))
	}
	if summary(want) != summary(got) || htmlOf(t, want) != htmlOf(t, got) {
		t.Fatal("reports differ")
	}
}

func summary(a *agg) string {
	var b bytes.Buffer
	_ = writeSummary(&b, buildView(a, 1))
	return b.String()
}

func htmlOf(t testing.TB, a *agg) string {
	var b bytes.Buffer
	require.NoError(t, writeHTML(&b, buildView(a, 1)))
	return b.String()
}

// TestSelectiveMatchesPdataOnScenario: on scenario traffic as the distribution writes it
// (plain and gzip'ed, 2 files), the selective reader reads every line itself and the report is
// the one pdata's decoder gives.
func TestSelectiveMatchesPdataOnScenario(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json.gz")
	writeScenario(t, a, smallScenario(3), false)
	writeScenario(t, b, smallScenario(4), true)
	files := []string{a, b}
	want := reviewWith(files, 2, nil, readPdata)
	got := reviewWith(files, 2, nil, readSelective)
	require.Positive(t, want.spans)
	require.Positive(t, want.flags.total)
	require.Positive(t, want.denials())
	sameReview(t, want, got)
	// Determinism: one worker or eight give the same report.
	sameReview(t, got, reviewWith(files, 1, nil, readSelective))
	sameReview(t, got, reviewWith(files, 8, nil, readSelective))

	// Every line was read by the scanner, none handed back.
	f, err := os.Open(a)
	require.NoError(t, err)
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var sc scanner
	sc.in = &interner{}
	lines := 0
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			lines++
			traces := bytes.HasPrefix(line[1:], keySpans)
			require.True(t, sc.scanLine(line, traces, newAgg()), "line %d handed back to pdata", lines)
		}
		if err != nil {
			break
		}
	}
	require.Positive(t, lines)
}

// TestSelectiveMatchesPdataOnHostileInput: line by line and all together, hostile input
// reads the same with both readers; the canonical ones are read by the scanner itself.
func TestSelectiveMatchesPdataOnHostileInput(t *testing.T) {
	dir := t.TempDir()
	for i, line := range hostileLines {
		want := reviewLines(t, dir, line+"\n", readPdata)
		got := reviewLines(t, dir, line+"\n", readSelective)
		t.Run(fmt.Sprintf("line%02d", i), func(t *testing.T) { sameReview(t, want, got) })
	}
	all := strings.Join(hostileLines, "\n")
	want := reviewLines(t, dir, all, readPdata)
	sameReview(t, want, reviewLines(t, dir, all, readSelective))
	assert.Equal(t, int64(11), want.malformed, "malformed lines: %q", want.malformedMsgs)
	assert.Equal(t, int64(1), want.findings.total)
	assert.Equal(t, int64(1), want.integrity())
	assert.Equal(t, int64(1), want.denials())

	var sc scanner
	sc.in = &interner{}
	for i, line := range append(hostileLines[:2:2], hostileLines[7]) {
		assert.True(t, sc.scanLine([]byte(line), i == 1, newAgg()), "line %q read by the scanner", line)
	}
	for i, line := range hostileLines[2:7] {
		assert.False(t, sc.scanLine([]byte(line), !strings.Contains(line, "resourceLogs"), newAgg()), "line %d handed back", i+2)
	}
}

// FuzzSelectiveMatchesPdata: whatever the input, the selective reader's aggregate (and so the
// report, malformed lines and their messages included) is pdata's.
func FuzzSelectiveMatchesPdata(f *testing.F) {
	for _, l := range hostileLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got := newAgg(), newAgg()
		ref := decoder{}
		sel := decoder{fast: true}
		for _, line := range bytes.Split(data, []byte("\n")) {
			want.lines++
			got.lines++
			if err := ref.decode(line, want); err != nil {
				want.malformedf("f:%v", err)
			}
			if err := sel.decode(line, got); err != nil {
				got.malformedf("f:%v", err)
			}
		}
		sameReview(t, want, got)
	})
}

// TestPlainRun: the eight-bytes-at-a-time search finds what the byte-by-byte one finds, for
// every byte value at every position of a run of plain bytes, with a second special byte
// after it (a borrow in the word must not hide or move the first).
func TestPlainRun(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && !scanClass[b[i]] {
			i++
		}
		return i
	}
	for n := 0; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := bytes.Repeat([]byte{'a' + byte(pos)%20 + 0x60}, n) // plain bytes, some >= 0x80
				b[pos] = byte(c)
				if pos+1 < n {
					b[pos+1] = 0
				}
				for start := 0; start <= min(n, 3); start++ {
					if got, want := plainRun(b, start), naive(b, start); got != want {
						t.Fatalf("plainRun(%q, %d) = %d, want %d", b, start, got, want)
					}
				}
			}
		}
	}
}

// TestDeepNestingIsMalformed: an attribute value nested a million levels deep is one malformed
// line for both readers (pdata's recursive decoder never sees it), not the end of the process.
func TestDeepNestingIsMalformed(t *testing.T) {
	const depth = 1 << 20
	open := strings.Repeat(`{"arrayValue":{"values":[`, depth)
	shut := strings.Repeat(`]}}`, depth)
	line := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":` + open + shut + `}]}]}]}]}`
	dir := t.TempDir()
	for _, rd := range []reader{readPdata, readSelective} {
		a := reviewLines(t, dir, line+"\n"+hostileLines[1]+"\n", rd)
		require.Equal(t, int64(1), a.malformed, "reader %d", rd)
		assert.Contains(t, a.malformedMsgs[0], "nested deeper than 256")
		assert.Equal(t, int64(2), a.spans, "the next line is read")
	}
}
