package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/internal/nab"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// The NAB parameter grid: four parameters with a few values each. The detector's other
// constants are fixed (chosen on the processor's own telemetry, not on NAB).
var (
	cvSensitivity = []float64{0.5, 0.7, 0.85, 1, 1.2, 1.4, 2}
	cvCooldown    = []int{20, 50, 100, 200}
	cvSeasonal    = []bool{false, true}
	cvSpread      = []float64{1, 2, 4, 8} // 1: one timescale, as in the processor
)

type cvParams struct {
	sens     float64
	cooldown int
	seasonal bool
	spread   float64
}

func (p cvParams) String() string {
	return fmt.Sprintf("sensitivity %.2f, cooldown_observations %d, seasonal %v, spread %g", p.sens, p.cooldown, p.seasonal, p.spread)
}

func (p cvParams) config() *mlxanomaly.Config {
	c := backtest.NABConfig()
	c.Latency.Sensitivity, c.CooldownObservations, c.Latency.Seasonal = p.sens, p.cooldown, p.seasonal
	return c
}

type nabSeries struct {
	name, category string
	s              *nab.Series
	windows        [][2]int
}

func loadNAB(data, windows string) ([]nabSeries, error) {
	wins, err := nab.ReadWindows(windows)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(wins))
	for n := range wins {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []nabSeries
	for _, n := range names {
		s, err := nab.ReadCSVFile(filepath.Join(data, filepath.FromSlash(n)))
		if err != nil {
			return nil, err
		}
		cat, _, _ := strings.Cut(n, "/")
		out = append(out, nabSeries{name: n, category: cat, s: s, windows: nab.WindowRows(s.Times, wins[n])})
	}
	return out, nil
}

// scoreAll scores every series with one parameter set.
func scoreAll(series []nabSeries, p cvParams) ([]nab.Labeled, error) {
	out := make([]nab.Labeled, len(series))
	for i, s := range series {
		sc, err := backtest.NewSeriesScorer(p.config(), p.spread)
		if err != nil {
			return nil, err
		}
		scores := make([]float64, len(s.s.Values))
		for j, v := range s.s.Values {
			scores[j], _ = sc.Score(s.s.Times[j], v)
		}
		out[i] = nab.Labeled{Name: s.name, Scores: scores, Windows: s.windows}
	}
	return out, nil
}

func pick(l []nab.Labeled, series []nabSeries, keep func(cat string) bool) []nab.Labeled {
	var out []nab.Labeled
	for i, s := range series {
		if keep(s.category) {
			out = append(out, l[i])
		}
	}
	return out
}

// plateau is the selection rule: a parameter set's training score averaged with its neighbours
// on the sensitivity and cool-down axes, so that a lone peak loses to a wide plateau.
func plateau(score map[cvParams]float64, p cvParams) float64 {
	si := index(cvSensitivity, p.sens)
	ci := index(cvCooldown, p.cooldown)
	sum, n := 0.0, 0
	for _, d := range [][2]int{{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
		s, c := si+d[0], ci+d[1]
		if s < 0 || s >= len(cvSensitivity) || c < 0 || c >= len(cvCooldown) {
			continue
		}
		sum += score[cvParams{cvSensitivity[s], cvCooldown[c], p.seasonal, p.spread}]
		n++
	}
	return sum / float64(n)
}

func index[T comparable](xs []T, x T) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func runNABCV(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("nabcv", stderr)
	data := fs.String("data", "", "NAB data directory (category/name.csv)")
	windows := fs.String("windows", "", "NAB windows.json")
	grid := fs.Bool("grid", false, "print the in-sample score of every parameter set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *windows == "" {
		return errors.New("--data and --windows are required")
	}
	series, err := loadNAB(*data, *windows)
	if err != nil {
		return err
	}
	var params []cvParams
	for _, sp := range cvSpread {
		for _, se := range cvSeasonal {
			for _, s := range cvSensitivity {
				for _, c := range cvCooldown {
					params = append(params, cvParams{s, c, se, sp})
				}
			}
		}
	}
	scored := map[cvParams][]nab.Labeled{}
	for _, p := range params {
		if scored[p], err = scoreAll(series, p); err != nil {
			return err
		}
	}
	std := nab.Profiles[0]
	cats := map[string]bool{}
	for _, s := range series {
		cats[s.category] = true
	}
	var catList []string
	for c := range cats {
		catList = append(catList, c)
	}
	sort.Strings(catList)

	// In sample: the rule applied to all 31 series.
	choose := func(keep func(string) bool) (cvParams, float64) {
		train := map[cvParams]float64{}
		for _, p := range params {
			train[p] = nab.Score(pick(scored[p], series, keep), std).Normalized
		}
		var best cvParams
		bestV := -1e9
		for _, p := range params {
			if v := plateau(train, p); v > bestV {
				best, bestV = p, v
			}
		}
		return best, nab.Score(pick(scored[best], series, keep), std).Threshold
	}
	all := func(string) bool { return true }
	inP, _ := choose(all)
	in := nab.Score(scored[inP], std)
	def := cvParams{backtest.NABConfig().Latency.Sensitivity, backtest.NABConfig().CooldownObservations, backtest.NABConfig().Latency.Seasonal, backtest.NABSpread}

	// Leave one category out: choose parameters and threshold on four, score the fifth.
	fmt.Fprintf(stdout, "NAB leave-one-category-out (standard profile; parameters by the plateau rule over %d sets, threshold on the training categories)\n", len(params))
	var raw, null, perfect float64
	for _, c := range catList {
		keep := func(cat string) bool { return cat != c }
		p, thr := choose(keep)
		r := nab.ScoreAt(pick(scored[p], series, func(cat string) bool { return cat == c }), std, thr)
		raw += r.Raw
		null += r.Null
		perfect += r.Perfect
		fmt.Fprintf(stdout, "  held out %-22s chose %s, threshold %.4f: raw %6.2f (TP %d FP %d FN %d)\n", c, p, thr, r.Raw, r.TP, r.FP, r.FN)
	}
	cv := 100 * (raw - null) / (perfect - null)
	fmt.Fprintf(stdout, "NAB standard cross-validated %.2f; in-sample %.2f (%s); shipped NAB configuration in-sample %.2f (%s)\n",
		cv, in.Normalized, inP, nab.Score(scored[def], std).Normalized, def)
	if *grid {
		for _, p := range params {
			fmt.Fprintf(stdout, "  grid %-60s %6.2f\n", p, nab.Score(scored[p], std).Normalized)
		}
	}
	return nil
}
