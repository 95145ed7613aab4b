package backtest

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

func TestSeriesScorer(t *testing.T) {
	sc, err := NewSeriesScorer(NABConfig(), NABSpread)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 7))
	first := -1
	for i := 0; i < 2000; i++ {
		v := 10 + rng.NormFloat64()
		if i >= 1500 {
			v -= 30 // a level shift to negative values
		}
		s, f := sc.Score(t0.Add(time.Duration(i)*5*time.Minute), v)
		require.True(t, s >= 0 && s <= 1)
		if i < 100 {
			require.Zero(t, s, "warm-up")
		}
		if f && first < 0 {
			first = i
			// An onset reports its evidence: at least the threshold, more the further out.
			assert.GreaterOrEqual(t, s, NABConfig().FlagThreshold)
			assert.Greater(t, s, OnsetScore(NABConfig().FlagThreshold, 5), "a 30-sigma shift scores above a 5-sigma one")
		}
	}
	assert.GreaterOrEqual(t, first, 1500, "no flag before the shift")
	assert.Less(t, first, 1505, "the shift is flagged at once")
	_, err = NewSeriesScorer(nil, NABSpread)
	assert.Error(t, err)
	_, err = NewSeriesScorer(NABConfig(), 0.5)
	assert.ErrorContains(t, err, "spread 0.5 is out of range")
	assert.Equal(t, 1.0, OnsetScore(0.5, math.Inf(1)))
	assert.InDelta(t, 0.75, OnsetScore(0.5, OnsetZ), 1e-12)
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	require.NoError(t, writeFile(p, "warmup: 40\ncooldown: 1m\n"))
	c, err := LoadConfigFile(p, nil)
	require.NoError(t, err)
	assert.Equal(t, 40, c.Warmup)
	assert.Equal(t, time.Minute, c.Cooldown)
	assert.Equal(t, DefaultConfig().MaxKeys, c.MaxKeys)

	require.NoError(t, writeFile(p, "warmup: 0\n"))
	_, err = LoadConfigFile(p, nil)
	assert.ErrorContains(t, err, "warmup: 0 observations is out of range")

	require.NoError(t, writeFile(p, "no_such_option: 1\n"))
	_, err = LoadConfigFile(p, nil)
	assert.ErrorContains(t, err, "no_such_option")

	_, err = LoadConfigFile(filepath.Join(dir, "missing.yaml"), nil)
	assert.Error(t, err)
}
