package nab

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// series100 is one series of 100 rows (probation 15) with one window [50, 59], width 10.
func series100(hits map[int]float64) []Labeled {
	s := make([]float64, 100)
	for i, v := range hits {
		s[i] = v
	}
	return []Labeled{{Name: "a", Scores: s, Windows: [][2]int{{50, 59}}}}
}

func sig(p float64) float64 { return 2/(1+math.Exp(5*p)) - 1 }

func TestScoreByHand(t *testing.T) {
	std := Profiles[0]
	// A detection at the left edge of the window earns the full TP weight: a perfect score.
	r := Score(series100(map[int]float64{50: 1}), std)
	assert.InDelta(t, 1, r.Raw, 1e-12)
	assert.InDelta(t, 100, r.Normalized, 1e-9)
	assert.Equal(t, -1.0, r.Null)
	assert.Equal(t, 1.0, r.Perfect)
	assert.Equal(t, 1, r.TP)

	// At the right edge: p = -1/10.
	r = Score(series100(map[int]float64{59: 1}), std)
	assert.InDelta(t, sig(-0.1)/sig(-1), r.Raw, 1e-12)

	// Only the earliest detection in a window counts; later ones add nothing.
	r = Score(series100(map[int]float64{55: 1, 56: 1, 57: 1}), std)
	assert.InDelta(t, sig(-5.0/10)/sig(-1), r.Raw, 1e-12)

	// A stray detection with no window before it costs the full FP weight, and the threshold
	// sweep keeps it when the window's detection is worth more.
	r = Score(series100(map[int]float64{20: 0.9, 50: 0.8}), std)
	assert.InDelta(t, 1-0.11, r.Raw, 1e-12)
	assert.Equal(t, 0.8, r.Threshold)
	assert.Equal(t, 1, r.FP)
	assert.InDelta(t, 100*(1-0.11+1)/2, r.Normalized, 1e-9)

	// …and drops it (threshold above it) when it is not: low-FP profile, FP alone.
	r = Score(series100(map[int]float64{20: 0.9}), Profiles[1])
	assert.InDelta(t, -1, r.Raw, 1e-12, "no detection beats a lone FP")
	assert.Equal(t, 0.0, r.Normalized)
	assert.Equal(t, 1, r.FN)

	// A detection just after a window costs little: p = |65-59| / (10-1).
	r = Score(series100(map[int]float64{50: 1, 65: 1}), std)
	assert.InDelta(t, 1+0.11*sig(6.0/9), r.Raw, 1e-12)
	// More than 3 widths after it costs the full weight.
	r = Score(series100(map[int]float64{50: 1, 95: 1}), std)
	assert.InDelta(t, 1-0.11, r.Raw, 1e-12)

	// Probation rows are not scored.
	r = Score(series100(map[int]float64{10: 1, 50: 0.5}), std)
	assert.Equal(t, 0, r.FP)

	// Low-FN profile: a miss costs 2.
	r = Score(series100(nil), Profiles[2])
	assert.Equal(t, -2.0, r.Raw)
	assert.Equal(t, 0.0, r.Normalized)
}

func TestScoreCorpus(t *testing.T) {
	// One threshold for the whole corpus: to detect a's window (score 0.9) it must also take b's
	// stray 0.95, which is still worth it (1 - 0.11 > 0 - 1).
	a := Labeled{Name: "a", Scores: make([]float64, 100), Windows: [][2]int{{50, 59}}}
	b := Labeled{Name: "b", Scores: make([]float64, 100)}
	a.Scores[50] = 0.9
	b.Scores[30] = 0.95
	r := Score([]Labeled{a, b}, Profiles[0])
	assert.InDelta(t, 1-0.11, r.Raw, 1e-12)
	assert.Equal(t, 0.9, r.Threshold)
}

func TestWindowRowsAndProbation(t *testing.T) {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts []time.Time
	for i := 0; i < 10; i++ {
		ts = append(ts, base.Add(time.Duration(i)*time.Hour))
	}
	w := WindowRows(ts, [][2]time.Time{{base.Add(150 * time.Minute), base.Add(5 * time.Hour)}, {base.Add(-time.Hour), base.Add(-time.Minute)}})
	assert.Equal(t, [][2]int{{3, 5}}, w)
	assert.Equal(t, 15, Probation(100))
	assert.Equal(t, 750, Probation(100000))
}

func TestReadCSVAndWindows(t *testing.T) {
	s, err := ReadCSV(strings.NewReader("timestamp,value\n2014-04-10 07:15:00,1.5\n2014-04-10 07:20:00.000000,-2\n"))
	require.NoError(t, err)
	assert.Equal(t, []float64{1.5, -2}, s.Values)
	assert.Nil(t, s.Extra)
	s, err = ReadCSV(strings.NewReader("timestamp,value,anomaly_score\n2014-04-10 07:15:00,1.5,0.25\n"))
	require.NoError(t, err)
	assert.Equal(t, [][]float64{{0.25}}, s.Extra)

	for in, want := range map[string]string{
		"value,timestamp\n":                          "line 1: want the header",
		"timestamp,value\nyesterday,1\n":             `line 2: timestamp "yesterday"`,
		"timestamp,value\n2014-04-10 07:15:00,NaN\n": "line 2: value \"NaN\" is not a finite number",
		"timestamp,value\n2014-04-10 07:15:00\n":     "line 2: want timestamp,value",
		"timestamp,value\n2014-04-10 07:15:00,1,x\n": "line 2: column 3",
	} {
		_, err := ReadCSV(strings.NewReader(in))
		if assert.Error(t, err, in) {
			assert.Contains(t, err.Error(), want)
		}
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "w.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"a/b.csv": [["2014-04-10 07:15:00.000000", "2014-04-11 16:45:00.000000"]], "c.csv": []}`), 0o644))
	w, err := ReadWindows(p)
	require.NoError(t, err)
	assert.Len(t, w["a/b.csv"], 1)
	assert.Contains(t, w, "c.csv", "a series without windows is still part of the corpus")
	require.NoError(t, os.WriteFile(p, []byte(`{"a.csv": [["2014-04-11 00:00:00", "2014-04-10 00:00:00"]]}`), 0o644))
	_, err = ReadWindows(p)
	assert.ErrorContains(t, err, "ends before it starts")
}

func FuzzReadCSV(f *testing.F) {
	f.Add("timestamp,value\n2014-04-10 07:15:00,1.5\n")
	f.Add("timestamp,value,anomaly_score\n2014-04-10 07:15:00,1,0.5\n2014-04-10 07:20:00,2\n")
	f.Add("timestamp\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(s.Times) != len(s.Values) {
			t.Fatal("times and values differ in length")
		}
		for _, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatal("non-finite value accepted")
			}
		}
	})
}

// At the threshold Score chooses, ScoreAt gives the same result; elsewhere no better one.
func TestScoreAtAgreesWithScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var series []Labeled
	for s := 0; s < 5; s++ {
		sc := make([]float64, 2000)
		for i := range sc {
			sc[i] = rng.Float64() * 0.6
			if i%500 > 480 && rng.IntN(3) == 0 {
				sc[i] = 0.5 + 0.5*rng.Float64()
			}
		}
		series = append(series, Labeled{Name: "s", Scores: sc, Windows: [][2]int{{470, 495}, {1470, 1495}}})
	}
	for _, p := range Profiles {
		best := Score(series, p)
		at := ScoreAt(series, p, best.Threshold)
		require.InDelta(t, best.Raw, at.Raw, 1e-9, p.Name)
		require.Equal(t, best.TP, at.TP)
		require.Equal(t, best.FP, at.FP)
		for _, thr := range []float64{0.3, 0.55, 0.7, 0.9} {
			require.LessOrEqual(t, ScoreAt(series, p, thr).Raw, best.Raw+1e-9)
		}
	}
}
