// Package nab implements the scoring method of the Numenta Anomaly Benchmark (NAB) as its
// README describes it: labelled windows, a probationary period, the scaled sigmoid that rewards
// early detections, the application profiles, one corpus-wide threshold chosen to maximize the raw
// score, and normalization between the null and the perfect detector.
//
// It is written from the method's description, not ported from NAB's code.
package nab

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Profile holds the weights of one NAB application profile.
type Profile struct {
	Name string
	TP   float64
	FP   float64
	FN   float64
}

// Profiles are NAB's three application profiles, in the order NAB reports them.
var Profiles = []Profile{
	{Name: "standard", TP: 1, FP: 0.11, FN: 1},
	{Name: "reward_low_FP_rate", TP: 1, FP: 0.22, FN: 1},
	{Name: "reward_low_FN_rate", TP: 1, FP: 0.11, FN: 2},
}

// maxRows bounds how much of one CSV file is read, so that a wrong path cannot exhaust memory.
const maxRows = 10_000_000

// ParseTime parses NAB timestamps: "2014-04-10 07:15:00" with optional fractional seconds, and
// RFC 3339 as a courtesy.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither \"YYYY-MM-DD hh:mm:ss[.ffffff]\" nor RFC 3339", truncate(s))
}

func truncate(s string) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return s
}

// Series is one NAB series: rows in file order.
type Series struct {
	Times  []time.Time
	Values []float64
	// Extra holds the columns after value, one row per entry (the anomaly_score of a results
	// file); nil when the file has only two columns.
	Extra [][]float64
}

// ReadCSV reads a NAB CSV: a header line, then `timestamp,value[,more numbers]` rows. Errors name
// the line.
func ReadCSV(r io.Reader) (*Series, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	s := &Series{}
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 {
			if len(rec) < 2 || !strings.EqualFold(strings.TrimSpace(rec[0]), "timestamp") {
				return nil, fmt.Errorf("line 1: want the header \"timestamp,value\", got %d fields starting %q", len(rec), truncate(strings.Join(rec, ",")))
			}
			continue
		}
		if line > maxRows {
			return nil, fmt.Errorf("more than %d rows: not a NAB series", maxRows)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("line %d: want timestamp,value, got %d field(s)", line, len(rec))
		}
		t, err := ParseTime(rec[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: value %q is not a finite number", line, truncate(rec[1]))
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
		if len(rec) > 2 {
			extra := make([]float64, len(rec)-2)
			for i, f := range rec[2:] {
				x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil || math.IsNaN(x) {
					return nil, fmt.Errorf("line %d: column %d %q is not a number", line, i+3, truncate(f))
				}
				extra[i] = x
			}
			s.Extra = append(s.Extra, extra)
		}
	}
	if s.Extra != nil && len(s.Extra) != len(s.Values) {
		return nil, errors.New("some rows have a score column and some do not")
	}
	return s, nil
}

// ReadCSVFile reads a NAB CSV from a file.
func ReadCSVFile(path string) (*Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Windows maps "category/name.csv" to its labelled windows [start, end], inclusive.
type Windows map[string][][2]time.Time

// ReadWindows reads NAB's windows.json.
func ReadWindows(path string) (Windows, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string][][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: want {\"category/name.csv\": [[start, end], ...]}: %w", path, err)
	}
	w := make(Windows, len(raw))
	for name, list := range raw {
		w[name] = make([][2]time.Time, 0, len(list))
		for i, pair := range list {
			if len(pair) != 2 {
				return nil, fmt.Errorf("%s: %s window %d: want [start, end], got %d values", path, name, i, len(pair))
			}
			a, err := ParseTime(pair[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %s window %d: %w", path, name, i, err)
			}
			b, err := ParseTime(pair[1])
			if err != nil {
				return nil, fmt.Errorf("%s: %s window %d: %w", path, name, i, err)
			}
			if b.Before(a) {
				return nil, fmt.Errorf("%s: %s window %d ends before it starts", path, name, i)
			}
			w[name] = append(w[name], [2]time.Time{a, b})
		}
	}
	return w, nil
}

// Labeled is one scored series: the detector's score per row and the windows as row indices
// [left, right], inclusive, sorted and disjoint.
type Labeled struct {
	Name    string
	Scores  []float64
	Windows [][2]int
}

// WindowRows turns time windows into row indices: the first row at or after the start and the
// last row at or before the end. Windows with no row are dropped.
func WindowRows(times []time.Time, windows [][2]time.Time) [][2]int {
	var out [][2]int
	for _, w := range windows {
		l := sort.Search(len(times), func(i int) bool { return !times[i].Before(w[0]) })
		r := sort.Search(len(times), func(i int) bool { return times[i].After(w[1]) }) - 1
		if l <= r && l < len(times) {
			out = append(out, [2]int{l, r})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Probation is the number of leading rows that NAB does not score.
func Probation(rows int) int {
	p := int(math.Floor(0.15 * float64(rows)))
	if p > 750 {
		p = 750
	}
	return p
}

// sigma is NAB's scaled sigmoid: 1 near p=-1 (early in a window), 0 at the right edge, -1 far after.
func sigma(p float64) float64 {
	if p > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*p)) - 1
}

// point is one scored row: its window (-1 outside every window) and its unweighted value, the
// relative reward inside a window or the (negative) relative cost outside.
type point struct {
	score  float64
	window int
	value  float64
}

func points(series []Labeled) (pts []point, numWindows int) {
	for _, s := range series {
		prob := Probation(len(s.Scores))
		base := numWindows
		numWindows += len(s.Windows)
		w := 0           // next window
		prevRight := -1  // right index of the last window passed
		prevWidth := 0.0 // its width
		for i, sc := range s.Scores {
			for w < len(s.Windows) && i > s.Windows[w][1] {
				prevRight = s.Windows[w][1]
				prevWidth = float64(s.Windows[w][1] - s.Windows[w][0] + 1)
				w++
			}
			if i < prob {
				continue
			}
			if math.IsNaN(sc) {
				sc = 0
			}
			var p point
			p.score = sc
			if w < len(s.Windows) && i >= s.Windows[w][0] {
				width := float64(s.Windows[w][1] - s.Windows[w][0] + 1)
				pos := -float64(s.Windows[w][1]-i+1) / width
				p.window = base + w
				p.value = sigma(pos) / sigma(-1)
			} else {
				p.window = -1
				p.value = -1
				if prevRight >= 0 && prevWidth > 1 {
					p.value = sigma(math.Abs(float64(i-prevRight)) / (prevWidth - 1))
				}
			}
			pts = append(pts, p)
		}
	}
	return pts, numWindows
}

// Result is the outcome of one profile on the whole corpus.
type Result struct {
	Profile    Profile
	Threshold  float64
	Raw        float64
	Null       float64
	Perfect    float64
	Normalized float64
	TP, FP, FN int
}

// Score scores the corpus under one profile: it sweeps every distinct score as the threshold
// (detections are scores at or above it), keeps the one with the highest raw score, and
// normalizes it.
func Score(series []Labeled, prof Profile) Result {
	pts, nw := points(series)
	res := Result{Profile: prof, Null: -prof.FN * float64(nw), Perfect: prof.TP * float64(nw)}
	sort.Slice(pts, func(i, j int) bool { return pts[i].score > pts[j].score })
	// best[w] is the value of the earliest detection in window w so far, NaN when none. Points of
	// a window are ordered by row, and the earliest row has the highest value, so the window's
	// reward is the maximum value among its detections.
	best := make([]float64, nw)
	for i := range best {
		best[i] = math.NaN()
	}
	total := res.Null
	res.Raw, res.Threshold = total, math.Inf(1)
	for i := 0; i < len(pts); {
		j := i
		for ; j < len(pts) && pts[j].score == pts[i].score; j++ {
			p := pts[j]
			if p.window < 0 {
				total += prof.FP * p.value
				continue
			}
			old := best[p.window]
			switch {
			case math.IsNaN(old):
				total += prof.TP*p.value + prof.FN
				best[p.window] = p.value
			case p.value > old:
				total += prof.TP * (p.value - old)
				best[p.window] = p.value
			}
		}
		if total > res.Raw+1e-12 {
			res.Raw, res.Threshold = total, pts[i].score
		}
		i = j
	}
	for i := range best {
		best[i] = math.NaN()
	}
	for _, p := range pts {
		if p.score < res.Threshold {
			continue
		}
		if p.window < 0 {
			res.FP++
		} else if math.IsNaN(best[p.window]) {
			best[p.window] = p.value
			res.TP++
		}
	}
	res.FN = nw - res.TP
	if res.Perfect != res.Null {
		res.Normalized = 100 * (res.Raw - res.Null) / (res.Perfect - res.Null)
	}
	return res
}

// ListSeries returns the series under dir as "category/name.csv" paths relative to dir, sorted.
func ListSeries(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".csv") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(names)
	return names, err
}

// LoadResults reads detector results (OUT/<category>/<name>.csv with an anomaly_score column)
// for every series in windows, and their labels, ready for Score. A missing results file is an
// error: a detector that skips a series must not look better for it.
func LoadResults(windowsPath, resultsDir string) ([]Labeled, error) {
	wins, err := ReadWindows(windowsPath)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(wins))
	for n := range wins {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Labeled, 0, len(names))
	for _, n := range names {
		s, err := ReadCSVFile(filepath.Join(resultsDir, filepath.FromSlash(n)))
		if err != nil {
			return nil, err
		}
		if s.Extra == nil {
			return nil, fmt.Errorf("%s: no anomaly_score column", n)
		}
		scores := make([]float64, len(s.Extra))
		for i, e := range s.Extra {
			scores[i] = e[len(e)-1]
		}
		out = append(out, Labeled{Name: n, Scores: scores, Windows: WindowRows(s.Times, wins[n])})
	}
	return out, nil
}

// ScoreAt scores the corpus under one profile at a fixed threshold, chosen elsewhere (on other
// series, for cross-validation), instead of the best one for these series.
func ScoreAt(series []Labeled, prof Profile, threshold float64) Result {
	pts, nw := points(series)
	res := Result{Profile: prof, Threshold: threshold, Null: -prof.FN * float64(nw), Perfect: prof.TP * float64(nw)}
	best := make([]float64, nw)
	for i := range best {
		best[i] = math.NaN()
	}
	res.Raw = res.Null
	for _, p := range pts {
		if p.score < threshold {
			continue
		}
		if p.window < 0 {
			res.Raw += prof.FP * p.value
			res.FP++
			continue
		}
		if old := best[p.window]; math.IsNaN(old) || p.value > old {
			best[p.window] = p.value
		}
	}
	for _, b := range best {
		if !math.IsNaN(b) {
			res.Raw += prof.TP*b + prof.FN
			res.TP++
		}
	}
	res.FN = nw - res.TP
	if res.Perfect != res.Null {
		res.Normalized = 100 * (res.Raw - res.Null) / (res.Perfect - res.Null)
	}
	return res
}
