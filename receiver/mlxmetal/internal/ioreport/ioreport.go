// Package ioreport holds the arithmetic on IOReport samples: the difference of two
// cumulative samples, energy units to joules, GPU performance-state residency to an active
// ratio and an average frequency through the DVFS table. The darwin code reads samples
// through libIOReport and hands them here as plain values, so all of this runs on Linux.
package ioreport // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Channel groups and names the GPU figures come from.
const (
	GroupEnergy       = "Energy Model"
	ChannelGPUEnergy  = "GPU Energy"
	GroupGPUStats     = "GPU Stats"
	SubgroupGPUStates = "GPU Performance States"
	ChannelGPUStates  = "GPUPH"
)

// Format mirrors IOReportChannelGetFormat.
type Format int

// Channel formats.
const (
	FormatInvalid Format = 0
	FormatSimple  Format = 1
	FormatState   Format = 2
)

// State is one performance state of a state channel; Residency is cumulative (ticks).
type State struct {
	Name      string `json:"name"`
	Residency int64  `json:"residency"`
}

// Channel is one IOReport channel in a sample.
type Channel struct {
	Group    string  `json:"group"`
	Subgroup string  `json:"subgroup,omitempty"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit,omitempty"`
	Format   Format  `json:"format"`
	Value    int64   `json:"value,omitempty"`
	States   []State `json:"states,omitempty"`
}

// Sample is one IOReport sample: cumulative channel values at a time.
type Sample struct {
	Time     time.Time `json:"time"`
	Channels []Channel `json:"channels"`
}

// Result is what one interval between two samples yields. A field whose channel was not in
// both samples stays absent (OK false): it is omitted, never reported as 0.
type Result struct {
	Interval time.Duration
	// EnergyJoules is the GPU energy used in the interval.
	EnergyJoules float64
	PowerWatts   float64
	HasEnergy    bool
	// ActiveRatio is the share of the interval the GPU spent in an active (P) state.
	ActiveRatio    float64
	HasActiveRatio bool
	// FrequencyHz is the residency-weighted mean frequency of the active states.
	FrequencyHz    float64
	HasFrequencyHz bool
	// Anomalies lists what was dropped and why, for the scraper to log.
	Anomalies []string
}

// ErrNotMonotonic is returned when the later sample is not after the earlier one.
var ErrNotMonotonic = errors.New("ioreport: samples not in time order")

// JoulesPerUnit converts an IOReport energy unit label to joules. IOReport labels energy
// channels mJ on M1/M2 and nJ on later chips; µJ appears with either micro sign.
func JoulesPerUnit(unit string) (float64, bool) {
	switch strings.TrimSpace(unit) {
	case "J":
		return 1, true
	case "mJ":
		return 1e-3, true
	case "uJ", "µJ", "μJ":
		return 1e-6, true
	case "nJ":
		return 1e-9, true
	case "pJ":
		return 1e-12, true
	}
	return 0, false
}

// Diff computes the GPU figures for the interval between prev and cur. dvfs holds the
// frequency in Hz of each active performance state in order (see NormalizeDVFS); it may be
// empty, and then the frequency is omitted.
func Diff(prev, cur *Sample, dvfs []float64) (Result, error) {
	dt := cur.Time.Sub(prev.Time)
	if dt <= 0 {
		return Result{}, fmt.Errorf("%w: %s then %s", ErrNotMonotonic, prev.Time.Format(time.RFC3339Nano), cur.Time.Format(time.RFC3339Nano))
	}
	r := Result{Interval: dt}
	// Energy: sum over every GPU energy channel present in both samples. The units of one
	// channel must not change between samples; a counter that went backwards (driver
	// reload) gives no figure for this interval rather than a negative one.
	for i := range cur.Channels {
		c := &cur.Channels[i]
		if c.Group != GroupEnergy || c.Name != ChannelGPUEnergy {
			continue
		}
		p := find(prev, c)
		if p == nil {
			continue
		}
		scale, ok := JoulesPerUnit(c.Unit)
		if !ok || p.Unit != c.Unit {
			r.Anomalies = append(r.Anomalies, fmt.Sprintf("energy channel %q: unit %q (was %q) not mJ/uJ/nJ", c.Name, c.Unit, p.Unit))
			continue
		}
		d := c.Value - p.Value
		if d < 0 {
			r.Anomalies = append(r.Anomalies, fmt.Sprintf("energy channel %q went backwards", c.Name))
			continue
		}
		r.EnergyJoules += float64(d) * scale
		r.HasEnergy = true
	}
	if r.HasEnergy {
		r.PowerWatts = r.EnergyJoules / dt.Seconds()
	}

	// Residency: one state channel "GPUPH" in GPU Stats / GPU Performance States.
	for i := range cur.Channels {
		c := &cur.Channels[i]
		if c.Group != GroupGPUStats || c.Subgroup != SubgroupGPUStates || c.Name != ChannelGPUStates {
			continue
		}
		p := find(prev, c)
		if p == nil {
			break
		}
		residency(&r, p, c, dvfs)
		break
	}
	return r, nil
}

func find(s *Sample, c *Channel) *Channel {
	for i := range s.Channels {
		p := &s.Channels[i]
		if p.Group == c.Group && p.Subgroup == c.Subgroup && p.Name == c.Name {
			return p
		}
	}
	return nil
}

// IsIdleState reports whether a performance state is an inactive one. The GPU reports
// OFF (power gated), IDLE (clock gated) and, on some chips, DOWN before its P states.
func IsIdleState(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "OFF", "IDLE", "DOWN":
		return true
	}
	return false
}

func residency(r *Result, p, c *Channel, dvfs []float64) {
	if len(p.States) != len(c.States) {
		r.Anomalies = append(r.Anomalies, "GPU performance states changed between samples")
		return
	}
	var total, active, weighted float64
	activeIdx := 0
	freqOK := len(dvfs) > 0
	for i := range c.States {
		if p.States[i].Name != c.States[i].Name {
			r.Anomalies = append(r.Anomalies, "GPU performance states changed between samples")
			return
		}
		d := c.States[i].Residency - p.States[i].Residency
		if d < 0 {
			r.Anomalies = append(r.Anomalies, "GPU state residency went backwards")
			return
		}
		fd := float64(d)
		total += fd
		if IsIdleState(c.States[i].Name) {
			continue
		}
		active += fd
		// The n-th active state runs at the n-th DVFS table entry.
		if activeIdx < len(dvfs) {
			weighted += fd * dvfs[activeIdx]
		}
		activeIdx++
	}
	if total == 0 {
		// No time accounted (sampled twice within one tick): nothing to say.
		return
	}
	r.ActiveRatio = active / total
	r.HasActiveRatio = true
	// A table whose length differs from the number of active states belongs to another
	// chip (or was misread): no frequency rather than a wrong one.
	if freqOK && activeIdx != len(dvfs) {
		r.Anomalies = append(r.Anomalies, fmt.Sprintf("DVFS table has %d entries for %d active states", len(dvfs), activeIdx))
		freqOK = false
	}
	if freqOK && active > 0 {
		r.FrequencyHz = weighted / active
		r.HasFrequencyHz = true
	}
}

// NormalizeDVFS converts a raw DVFS frequency table to Hz and drops the leading zero
// entries (the off state has frequency 0). M1 to M3 publish Hz (e.g. 389000000); M4 and later
// publish kHz (e.g. 338000). GPU clocks lie between 100 MHz and 3 GHz, so a table whose
// largest entry is below 10^7 is in kHz. An empty or implausible table returns nil.
func NormalizeDVFS(raw []uint64) []float64 {
	var max uint64
	for _, f := range raw {
		if f > max {
			max = f
		}
	}
	if max == 0 {
		return nil
	}
	scale := 1.0
	switch {
	case max < 10_000: // MHz
		scale = 1e6
	case max < 10_000_000: // kHz
		scale = 1e3
	}
	out := make([]float64, 0, len(raw))
	for _, f := range raw {
		if f == 0 && len(out) == 0 {
			continue
		}
		hz := float64(f) * scale
		if hz < 1e7 || hz > 1e10 {
			return nil
		}
		out = append(out, hz)
	}
	return out
}

// ParseVoltageStates decodes a pmgr "voltage-states" property: little-endian pairs of
// uint32 (frequency, voltage). It returns the raw frequencies for NormalizeDVFS.
func ParseVoltageStates(b []byte) ([]uint64, error) {
	if len(b) == 0 || len(b)%8 != 0 {
		return nil, fmt.Errorf("ioreport: voltage-states is %d bytes, want a non-empty multiple of 8", len(b))
	}
	const maxStates = 64
	if len(b)/8 > maxStates {
		return nil, fmt.Errorf("ioreport: voltage-states has %d entries, more than %d", len(b)/8, maxStates)
	}
	out := make([]uint64, 0, len(b)/8)
	for i := 0; i+8 <= len(b); i += 8 {
		out = append(out, uint64(binary.LittleEndian.Uint32(b[i:])))
	}
	return out, nil
}

// Finite reports whether f can be exported.
func Finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
