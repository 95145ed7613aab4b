package scenario

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Grace is how long after an incident's end a flag still counts as its detection.
const Grace = 5 * time.Minute

// TypeReport is the outcome for one incident type.
type TypeReport struct {
	Type        string
	Incidents   int
	Detected    int
	Recall      float64
	MedianDelay time.Duration
	MaxDelay    time.Duration
	// Delays are the detection delays of the detected incidents, in ascending order.
	Delays []time.Duration
}

// Report is the outcome of one scenario run.
type Report struct {
	Types []TypeReport
	// FalseAlarms are flags after the warm-up that no incident explains: not on an incident's
	// key (or a key of the same service and model) during it.
	FalseAlarms int
	// WarmupFlags are flags during the warm-up (reported, not scored).
	WarmupFlags int
	// FalseByType counts the false alarms by flag type.
	FalseByType map[string]int
	KeyDays     float64
	PerKeyDay   float64
	// ServiceDays and PerServiceDay: false alarms per service and day after the warm-up, all
	// keys and types together (what pages a person).
	ServiceDays   float64
	PerServiceDay float64
	Flags         int
	// FalseList holds the first false alarms, for diagnosis.
	FalseList []Flag
	// MedianDelay is the median detection delay over every detected incident, all types.
	MedianDelay time.Duration
}

func related(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// Evaluate matches flags with the scenario's incidents.
func Evaluate(s *Scenario, flags []Flag) Report {
	sort.SliceStable(flags, func(i, j int) bool { return flags[i].T.Before(flags[j].T) })
	rep := Report{Flags: len(flags), FalseByType: map[string]int{}}
	warmEnd := s.Config.Start.Add(s.Config.Warmup)
	byType := map[string][]time.Duration{}
	counts := map[string]int{}
	for _, inc := range s.Incidents {
		counts[inc.Type]++
		for _, f := range flags {
			if f.T.Before(inc.Start) || f.T.After(inc.End.Add(Grace)) || f.Key != inc.Key {
				continue
			}
			ok := false
			for _, a := range inc.Accept {
				ok = ok || a == f.Type
			}
			if ok {
				byType[inc.Type] = append(byType[inc.Type], f.T.Sub(inc.Start))
				break
			}
		}
	}
	for _, f := range flags {
		if f.T.Before(warmEnd) {
			rep.WarmupFlags++
			continue
		}
		explained := false
		for _, inc := range s.Incidents {
			if !f.T.Before(inc.Start) && !f.T.After(inc.End.Add(Grace)) && related(f.Key, inc.Key) {
				explained = true
				break
			}
		}
		if !explained {
			rep.FalseAlarms++
			rep.FalseByType[f.Type]++
			if len(rep.FalseList) < 20 {
				rep.FalseList = append(rep.FalseList, f)
			}
		}
	}
	days := s.Config.Start.Add(time.Duration(s.Config.Days)*24*time.Hour).Sub(warmEnd).Hours() / 24
	rep.KeyDays = float64(s.Keys) * days
	if rep.KeyDays > 0 {
		rep.PerKeyDay = float64(rep.FalseAlarms) / rep.KeyDays
	}
	rep.ServiceDays = float64(s.Config.Services) * days
	if rep.ServiceDays > 0 {
		rep.PerServiceDay = float64(rep.FalseAlarms) / rep.ServiceDays
	}
	var pooled []time.Duration
	for _, d := range byType {
		pooled = append(pooled, d...)
	}
	rep.MedianDelay = median(pooled)
	for _, t := range Types {
		if counts[t] == 0 {
			continue
		}
		d := byType[t]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		tr := TypeReport{Type: t, Incidents: counts[t], Detected: len(d), Recall: float64(len(d)) / float64(counts[t]), Delays: d}
		if len(d) > 0 {
			tr.MedianDelay = median(d)
			tr.MaxDelay = d[len(d)-1]
		}
		rep.Types = append(rep.Types, tr)
	}
	return rep
}

// Print writes the report as aligned lines.
func (r Report) Print(w io.Writer, title string) {
	fmt.Fprintf(w, "%s\n", title)
	for _, t := range r.Types {
		fmt.Fprintf(w, "  %-22s recall %.2f (%d/%d)  median delay %-8s max delay %s\n",
			t.Type, t.Recall, t.Detected, t.Incidents, t.MedianDelay.Round(time.Second), t.MaxDelay.Round(time.Second))
	}
	fmt.Fprintf(w, "  false alarms after warm-up: %d over %.0f key-days = %.3f per key-day, %.2f per service-day (flags %d, during warm-up %d)\n",
		r.FalseAlarms, r.KeyDays, r.PerKeyDay, r.PerServiceDay, r.Flags, r.WarmupFlags)
	if len(r.FalseByType) > 0 {
		fmt.Fprintf(w, "  false alarms by type:")
		for _, t := range Types {
			if n := r.FalseByType[t]; n > 0 {
				fmt.Fprintf(w, " %s %d", t, n)
			}
		}
		fmt.Fprintln(w)
	}
}

// PrintFalse writes the first false alarms with their evidence.
func (r Report) PrintFalse(w io.Writer) {
	for _, f := range r.FalseList {
		fmt.Fprintf(w, "    false: %s %-14s %-32s observed %.4g baseline %.4g z %.3g p %.3g\n",
			f.T.Format("01-02 15:04:05"), f.Type, f.Key, f.Observed, f.Baseline, f.Z, f.P)
	}
}

// Median returns the median of d (0 when empty); d is not modified.
func Median(d []time.Duration) time.Duration { return median(d) }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = append([]time.Duration(nil), d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d)%2 == 0 {
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return d[len(d)/2]
}
