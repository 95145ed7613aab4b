package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/internal/scenario"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

func runScenarios(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("scenarios", stderr)
	cfgPath := fs.String("config", "", "processor configuration (YAML); defaults without one")
	seed := fs.Uint64("seed", 1, "random seed of the generated traffic")
	days := fs.Int("days", 3, "days of event time")
	verbose := fs.Bool("v", false, "list the false alarms with their evidence")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *days < 1 || *days > 30 {
		return fmt.Errorf("--days %d: use 1 to 30", *days)
	}
	cfg := backtest.DefaultConfig()
	if *cfgPath != "" {
		var err error
		if cfg, err = backtest.LoadConfigFile(*cfgPath, nil); err != nil {
			return err
		}
	}
	sc := scenario.DefaultConfig()
	sc.Seed, sc.Days = *seed, *days
	start := time.Now()
	inc, n, err := runScenario(cfg, sc)
	if err != nil {
		return err
	}
	inc.Print(stdout, fmt.Sprintf("scenario suite with incidents (seed %d, %d days, %d items, %d per type, %s)",
		sc.Seed, sc.Days, n, sc.PerType, time.Since(start).Round(time.Millisecond)))
	sc.PerType = 0
	clean, n, err := runScenario(cfg, sc)
	if err != nil {
		return err
	}
	clean.Print(stdout, fmt.Sprintf("clean traffic (seed %d, %d days, %d items)", sc.Seed, sc.Days, n))
	if *verbose {
		inc.PrintFalse(stdout)
		clean.PrintFalse(stdout)
	}
	return nil
}

// runScenario generates a scenario, replays it through the processor built by its factory and
// scores the flags. It returns the report and the number of items processed.
func runScenario(cfg *mlxanomaly.Config, sc scenario.Config) (scenario.Report, int, error) {
	s := scenario.Generate(sc)
	r, err := newReplayer(cfg)
	if err != nil {
		return scenario.Report{}, 0, err
	}
	defer r.shutdown()
	var flags []scenario.Flag
	n := 0
	ctx := context.Background()
	err = s.Batches(10*time.Second, func(td ptrace.Traces, ld plog.Logs) error {
		n += td.SpanCount() + ld.LogRecordCount()
		if td.SpanCount() > 0 {
			if err := r.traces.ConsumeTraces(ctx, td); err != nil {
				return err
			}
			flags = append(flags, scenario.Flags(r.lastTrace, plog.NewLogs())...)
		}
		if ld.LogRecordCount() > 0 {
			if err := r.logs.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
			flags = append(flags, scenario.Flags(ptrace.NewTraces(), r.lastLogs)...)
		}
		return nil
	})
	if err != nil {
		return scenario.Report{}, n, err
	}
	return scenario.Evaluate(s, flags), n, nil
}
