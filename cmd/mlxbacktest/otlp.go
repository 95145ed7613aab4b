package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// maxLine bounds one export request line; the collector's file exporter writes one request per
// line, and a request this large is not one a collector would have accepted either.
const maxLine = 64 << 20

func runOTLP(args []string, _, stderr io.Writer) error {
	fs := newFlags("otlp", stderr)
	in := fs.String("in", "", "input file: OTLP JSON, one export request per line")
	out := fs.String("out", "", "output file (same format)")
	cfgPath := fs.String("config", "", "processor configuration (YAML); defaults without one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("--in and --out are required")
	}
	cfg := backtest.DefaultConfig()
	if *cfgPath != "" {
		var err error
		if cfg, err = backtest.LoadConfigFile(*cfgPath, nil); err != nil {
			return err
		}
	}
	fin, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer fin.Close()
	fout, err := os.Create(*out)
	if err != nil {
		return err
	}
	r, err := newReplayer(cfg)
	if err != nil {
		fout.Close()
		return err
	}
	defer r.shutdown()
	w := bufio.NewWriter(fout)
	bad, err := r.replay(fin, w, stderr)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := fout.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d bad line(s) skipped (listed above); the other lines were written to %s", bad, *out)
	}
	return nil
}

// replayer runs the processor built by the component factory, exactly as a collector would.
type replayer struct {
	traces    processor.Traces
	logs      processor.Logs
	lastTrace ptrace.Traces
	lastLogs  plog.Logs
}

func newReplayer(cfg *mlxanomaly.Config) (*replayer, error) {
	r := &replayer{}
	f := mlxanomaly.NewFactory()
	set := processortest.NewNopSettings(mlxanomaly.Type)
	tc, _ := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error { r.lastTrace = td; return nil })
	lc, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error { r.lastLogs = ld; return nil })
	var err error
	ctx := context.Background()
	if r.traces, err = f.CreateTraces(ctx, set, cfg, tc); err != nil {
		return nil, err
	}
	if r.logs, err = f.CreateLogs(ctx, set, cfg, lc); err != nil {
		return nil, err
	}
	host := componenttest.NewNopHost()
	if err := errors.Join(r.traces.Start(ctx, host), r.logs.Start(ctx, host)); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *replayer) shutdown() {
	ctx := context.Background()
	_ = r.traces.Shutdown(ctx)
	_ = r.logs.Shutdown(ctx)
}

// lineKind tells a traces request from a logs request by its top-level field.
func lineKind(line []byte) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return "", fmt.Errorf("not a JSON object: %w", err)
	}
	_, spans := top["resourceSpans"]
	_, logs := top["resourceLogs"]
	switch {
	case spans && logs:
		return "", errors.New("has both resourceSpans and resourceLogs: want one export request per line")
	case spans:
		return "traces", nil
	case logs:
		return "logs", nil
	}
	return "", errors.New("neither resourceSpans nor resourceLogs: not an OTLP traces or logs export request")
}

// replay processes each line in order and writes each processed request as one line. A bad
// line is reported with its number and skipped; the others are still written.
func (r *replayer) replay(in io.Reader, out io.Writer, stderr io.Writer) (bad int, err error) {
	br := bufio.NewReaderSize(in, 1<<20)
	ctx := context.Background()
	for lineNo := 1; ; lineNo++ {
		line, rerr := readLine(br)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			if errors.Is(rerr, errLineTooLong) {
				fmt.Fprintf(stderr, "line %d: %v\n", lineNo, rerr)
				bad++
				continue
			}
			return bad, rerr
		}
		if len(trimSpace(line)) > 0 {
			if perr := r.processLine(ctx, line, out); perr != nil {
				fmt.Fprintf(stderr, "line %d: %v\n", lineNo, perr)
				bad++
			}
		}
		if errors.Is(rerr, io.EOF) {
			return bad, nil
		}
	}
}

func (r *replayer) processLine(ctx context.Context, line []byte, out io.Writer) error {
	kind, err := lineKind(line)
	if err != nil {
		return err
	}
	var b []byte
	switch kind {
	case "traces":
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			return fmt.Errorf("traces request: %w", err)
		}
		if err := r.traces.ConsumeTraces(ctx, td); err != nil {
			return err
		}
		if b, err = (&ptrace.JSONMarshaler{}).MarshalTraces(r.lastTrace); err != nil {
			return err
		}
	case "logs":
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return fmt.Errorf("logs request: %w", err)
		}
		if err := r.logs.ConsumeLogs(ctx, ld); err != nil {
			return err
		}
		if b, err = (&plog.JSONMarshaler{}).MarshalLogs(r.lastLogs); err != nil {
			return err
		}
	}
	if _, err := out.Write(b); err != nil {
		return err
	}
	_, err = out.Write([]byte{'\n'})
	return err
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes: skipped", maxLine)

// readLine reads one line without its newline, bounded by maxLine; a longer line is consumed
// and reported as errLineTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 && buf[len(buf)-1] == '\n' {
			buf = buf[:len(buf)-1]
		}
		return buf, err
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
