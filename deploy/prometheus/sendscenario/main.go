// Command sendscenario sends scenario traffic (internal/scenario: two services, three models
// each, callers, and three injected incidents of every type the mlxanomaly processor detects)
// to an OTLP/HTTP endpoint as JSON export requests, as an SDK exporter would: the input of the
// alerting end-to-end test (deploy/prometheus/e2e.py).
//
//	sendscenario -endpoint http://127.0.0.1:4318 [-seed N] [-rate R]
//	sendscenario -endpoint http://127.0.0.1:4318 -live 2m
//
// With -live, it sends instead the instrumentation library's own security events (integrity
// mismatch, allowlist denial, admitted pickle, out-of-memory inferences), then live inference
// spans, timed now, for that long: the input of the integrity and resource alerts and of the
// per-model error-rate and latency alerts, which the collector's spanmetrics connector turns
// into request and duration metrics (see live.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otel-mlx/otel-mlx/internal/scenario"
)

func main() {
	endpoint := flag.String("endpoint", "", "OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318")
	seed := flag.Uint64("seed", 7, "scenario seed")
	rate := flag.Float64("rate", 0.1, "mean inference requests per second of event time")
	live := flag.Duration("live", 0, "send live traffic (a failing, a slow and a healthy model) for this long instead")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "usage: sendscenario -endpoint http://127.0.0.1:4318 [-seed N] [-rate R] [-live DURATION]")
		os.Exit(2)
	}
	sc := scenario.DefaultConfig()
	sc.Seed, sc.Days, sc.PerType, sc.Rate = *seed, 1, 3, *rate
	c := &http.Client{Timeout: 30 * time.Second}
	post := func(path string, body []byte) error {
		resp, err := c.Post(*endpoint+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
		}
		return nil
	}
	if *live > 0 {
		if err := sendLive(*live, post); err != nil {
			fmt.Fprintln(os.Stderr, "sendscenario:", err)
			os.Exit(1)
		}
		return
	}
	var spans, logs int
	var tm ptrace.JSONMarshaler
	var lm plog.JSONMarshaler
	err := scenario.Generate(sc).Batches(time.Minute, func(td ptrace.Traces, ld plog.Logs) error {
		if td.SpanCount() > 0 {
			b, err := tm.MarshalTraces(td)
			if err != nil {
				return err
			}
			if err := post("/v1/traces", b); err != nil {
				return err
			}
			spans += td.SpanCount()
		}
		if ld.LogRecordCount() > 0 {
			b, err := lm.MarshalLogs(ld)
			if err != nil {
				return err
			}
			if err := post("/v1/logs", b); err != nil {
				return err
			}
			logs += ld.LogRecordCount()
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendscenario:", err)
		os.Exit(1)
	}
	fmt.Printf("sent %d spans and %d log records\n", spans, logs)
}
