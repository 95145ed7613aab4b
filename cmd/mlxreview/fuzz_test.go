package main

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzDecodeLines: any input is reviewed without a panic; every non-blank line is either
// decoded or counted as malformed, and the aggregates stay consistent.
func FuzzDecodeLines(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat m","startTimeUnixNano":"1","endTimeUnixNano":"2000000","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"mlxanomaly.flag","value":{"boolValue":true}},{"key":"mlxanomaly.type","value":{"stringValue":"latency_spike"}}]}]}]}]}` + "\n"))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"5","eventName":"mlx.model.policy.denied","attributes":[{"key":"mlx.policy.decision","value":{"stringValue":"deny"}}]}]}]}]}` + "\n{\"resourceMetrics\":[]}\nnot json\n"))
	f.Add([]byte("{\"x\":1}\n\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newAgg()
		d := decoder{fast: true} // the review's reader: the selective scanner, pdata for the rest
		br := bufio.NewReader(bytes.NewReader(data))
		nonBlank := int64(0)
		for {
			line, err := readLine(br)
			if len(bytes.TrimSpace(line)) > 0 {
				nonBlank++
			}
			a.lines++
			if derr := d.decode(line, a); derr != nil {
				a.malformedf("fuzz: %v", derr)
			}
			if err != nil {
				break
			}
		}
		if a.lines != nonBlank {
			t.Fatalf("lines %d, want %d non-blank", a.lines, nonBlank)
		}
		if a.malformed > a.lines {
			t.Fatalf("malformed %d > lines %d", a.malformed, a.lines)
		}
		v := buildView(a, 1)
		var out bytes.Buffer
		if err := writeSummary(&out, v); err != nil {
			t.Fatal(err)
		}
		if err := writeHTML(&out, v); err != nil {
			t.Fatal(err)
		}
	})
}
