package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/internal/nab"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runNAB(args []string, _, stderr io.Writer) error {
	fs := newFlags("nab", stderr)
	data := fs.String("data", "", "directory of NAB-style CSV series (searched recursively)")
	out := fs.String("out", "", "output directory")
	cfgPath := fs.String("config", "", "processor configuration (YAML); NAB defaults without one")
	spread := fs.Float64("spread", backtest.NABSpread, "ratio between the detector's timescales (1: one timescale, the processor's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("--data and --out are required")
	}
	cfg := backtest.NABConfig()
	if *cfgPath != "" {
		var err error
		if cfg, err = backtest.LoadConfigFile(*cfgPath, cfg); err != nil {
			return err
		}
	}
	names, err := nab.ListSeries(*data)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no .csv series under %s", *data)
	}
	for _, n := range names {
		if err := scoreSeries(filepath.Join(*data, filepath.FromSlash(n)), filepath.Join(*out, filepath.FromSlash(n)), cfg, *spread); err != nil {
			return err
		}
	}
	return nil
}

// scoreSeries scores one series row by row (each score uses only the rows before it) and writes
// timestamp,value,anomaly_score.
func scoreSeries(in, out string, cfg *mlxanomaly.Config, spread float64) error {
	s, err := nab.ReadCSVFile(in)
	if err != nil {
		return err
	}
	sc, err := backtest.NewSeriesScorer(cfg, spread)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	stamps := rawStamps(raw, len(s.Times))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "timestamp,value,anomaly_score")
	for i, t := range s.Times {
		score, _ := sc.Score(t, s.Values[i])
		w.WriteString(stamps[i])
		w.WriteByte(',')
		w.WriteString(strconv.FormatFloat(s.Values[i], 'g', -1, 64))
		w.WriteByte(',')
		w.WriteString(strconv.FormatFloat(score, 'f', 6, 64))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rawStamps returns the timestamp text of each data row as written in the input, so the output
// keeps the input's timestamps byte for byte.
func rawStamps(raw []byte, rows int) []string {
	out := make([]string, 0, rows)
	line := 0
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i < len(raw) && raw[i] != '\n' {
			continue
		}
		l := raw[start:i]
		start = i + 1
		line++
		if line == 1 || len(l) == 0 {
			continue
		}
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		j := 0
		for j < len(l) && l[j] != ',' {
			j++
		}
		out = append(out, string(l[:j]))
	}
	for len(out) < rows {
		out = append(out, "")
	}
	return out[:rows]
}

func runNABScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("nabscore", stderr)
	windows := fs.String("windows", "", "NAB windows.json")
	results := fs.String("results", "", "directory of results written by `mlxbacktest nab`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *windows == "" || *results == "" {
		return errors.New("--windows and --results are required")
	}
	series, err := nab.LoadResults(*windows, *results)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "NAB scores over %d series (the development subset in %s, not the whole benchmark)\n", len(series), filepath.Dir(*windows))
	for _, p := range nab.Profiles {
		r := nab.Score(series, p)
		fmt.Fprintf(stdout, "NAB %-20s normalized %6.2f  (raw %.2f, threshold %.4f, TP %d, FP %d, FN %d)\n",
			p.Name, r.Normalized, r.Raw, r.Threshold, r.TP, r.FP, r.FN)
	}
	return nil
}
