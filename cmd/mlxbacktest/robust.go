package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/internal/scenario"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// shapeResult is the outcome of one shape of the robustness suite.
type shapeResult struct {
	shape   scenario.Shape
	rep     scenario.Report
	items   int
	recall  float64       // over every incident
	minType float64       // the lowest recall of one type
	worstMD time.Duration // the largest median delay of one type
	took    time.Duration
}

func runShape(cfg *mlxanomaly.Config, sh scenario.Shape) (shapeResult, error) {
	start := time.Now()
	rep, n, err := runScenario(cfg, sh.Config)
	if err != nil {
		return shapeResult{}, err
	}
	r := shapeResult{shape: sh, rep: rep, items: n, minType: 1, took: time.Since(start)}
	det, all := 0, 0
	for _, t := range rep.Types {
		det += t.Detected
		all += t.Incidents
		r.minType = min(r.minType, t.Recall)
		r.worstMD = max(r.worstMD, t.MedianDelay)
	}
	if all > 0 {
		r.recall = float64(det) / float64(all)
	}
	return r, nil
}

// robustShapes is the suite: the sparse-callers shape and n random shapes per seed.
func robustShapes(seeds []uint64, n, days int, maxRate float64, strength string) []scenario.Shape {
	var out []scenario.Shape
	for _, s := range seeds {
		out = append(out, scenario.SparseCallers(s, days))
		for i := 0; i < n; i++ {
			out = append(out, scenario.RandomShape(s*1000+uint64(i), days, maxRate, strength))
		}
	}
	return out
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not a number: use e.g. 101,102", s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func runRobust(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("robust", stderr)
	cfgPath := fs.String("config", "", "processor configuration (YAML); defaults without one")
	seedList := fs.String("seeds", "101,102", "shape seeds (held out: the detectors were tuned on seeds 1 to 4)")
	n := fs.Int("shapes", 6, "random shapes per seed, besides the sparse-callers shape")
	days := fs.Int("days", 2, "days of event time per shape")
	maxRate := fs.Float64("max-rate", scenario.MaxRate, "highest total request rate drawn (requests a second)")
	strength := fs.String("strength", "stated", "incident strength: stated or weak")
	verbose := fs.Bool("v", false, "list false alarms and each shape's figures per incident type")
	only := fs.String("only", "", "run only the shapes whose name contains this text (e.g. sparse-callers)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *strength != "stated" && *strength != "weak" {
		return fmt.Errorf("--strength %q: use stated or weak", *strength)
	}
	if *days < 1 || *days > 30 || *n < 0 || *n > 200 {
		return fmt.Errorf("--days %d / --shapes %d: use 1 to 30 days and 0 to 200 shapes", *days, *n)
	}
	seeds, err := parseSeeds(*seedList)
	if err != nil {
		return err
	}
	cfg, err := loadOr(*cfgPath, backtest.DefaultConfig())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "robustness suite: seeds %s, %d days, incidents %s (targets: recall >= 0.95, <= 1 false alarm per service-day, median delay <= 2m)\n",
		*seedList, *days, *strength)
	fmt.Fprintln(stdout, "columns: recall over all incidents and the lowest of one type; false alarms per key-day and per service-day (all keys and types); median delay over all incidents and the largest of one type")
	fmt.Fprintf(stdout, "%-70s %9s %6s %6s %9s %9s %7s %7s %8s\n", "shape", "items", "recall", "min", "FA/key-d", "FA/svc-d", "median", "worst", "took")
	var res []shapeResult
	for _, sh := range robustShapes(seeds, *n, *days, *maxRate, *strength) {
		if *only != "" && !strings.Contains(sh.Name, *only) {
			continue
		}
		r, err := runShape(cfg, sh)
		if err != nil {
			return err
		}
		res = append(res, r)
		fmt.Fprintf(stdout, "%-70s %9d %6.2f %6.2f %9.4f %9.2f %7s %7s %8s\n", sh.Name, r.items, r.recall, r.minType,
			r.rep.PerKeyDay, r.rep.PerServiceDay, r.rep.MedianDelay.Round(time.Second), r.worstMD.Round(time.Second), r.took.Round(100*time.Millisecond))
		if *verbose {
			for _, t := range r.rep.Types {
				fmt.Fprintf(stdout, "    %-22s recall %.2f (%d/%d)  median delay %-8s max delay %s\n",
					t.Type, t.Recall, t.Detected, t.Incidents, t.MedianDelay.Round(time.Second), t.MaxDelay.Round(time.Second))
			}
			r.rep.PrintFalse(stdout)
		}
	}
	printRobustSummary(stdout, res)
	printRobustTypes(stdout, res)
	return nil
}

// printRobustTypes writes, per incident type over every shape, the recall, the median delay
// of all its detections and the largest median delay of that type in one shape.
func printRobustTypes(w io.Writer, res []shapeResult) {
	if len(res) == 0 {
		return
	}
	fmt.Fprintln(w, "per incident type, all shapes: recall, median delay, largest median delay in one shape (that shape)")
	for _, typ := range scenario.Types {
		det, all := 0, 0
		var delays []time.Duration
		var worst time.Duration
		worstShape := ""
		for _, r := range res {
			for _, t := range r.rep.Types {
				if t.Type != typ {
					continue
				}
				det += t.Detected
				all += t.Incidents
				delays = append(delays, t.Delays...)
				if t.Detected > 0 && (worstShape == "" || t.MedianDelay > worst) {
					worst, worstShape = t.MedianDelay, r.shape.Name
				}
			}
		}
		if all == 0 {
			continue
		}
		name, _, _ := strings.Cut(worstShape, ":")
		fmt.Fprintf(w, "  %-22s recall %.3f (%d/%d)  median delay %-8s largest in one shape %-8s (%s)\n",
			typ, float64(det)/float64(all), det, all, scenario.Median(delays).Round(time.Second), worst.Round(time.Second), name)
	}
}

func printRobustSummary(w io.Writer, res []shapeResult) {
	if len(res) == 0 {
		return
	}
	worstFA, minRecall := 0.0, 1.0
	var mds []time.Duration
	var worstPooled time.Duration
	det, all := 0, 0
	for _, r := range res {
		worstFA = max(worstFA, r.rep.PerServiceDay)
		minRecall = min(minRecall, r.recall)
		mds = append(mds, r.worstMD)
		worstPooled = max(worstPooled, r.rep.MedianDelay)
		for _, t := range r.rep.Types {
			det += t.Detected
			all += t.Incidents
		}
	}
	sort.Slice(mds, func(i, j int) bool { return mds[i] < mds[j] })
	fmt.Fprintf(w, "robustness: %d shapes, recall %.3f overall (lowest shape %.2f), worst %.2f false alarms per service-day, largest median delay of a shape %s (of one type in a shape %s)\n",
		len(res), float64(det)/float64(max(all, 1)), minRecall, worstFA, worstPooled.Round(time.Second), mds[len(mds)-1].Round(time.Second))
}

// loadOr reads a processor configuration file over base, or returns base without one.
func loadOr(path string, base *mlxanomaly.Config) (*mlxanomaly.Config, error) {
	if path == "" {
		return base, nil
	}
	return backtest.LoadConfigFile(path, base)
}
