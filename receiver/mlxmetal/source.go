package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

// statsSource yields the IOAccelerator statistics of every GPU.
type statsSource interface {
	read(ctx context.Context) ([]gpustats.Accelerator, error)
}

// energySource yields cumulative IOReport samples and the GPU DVFS table (Hz).
type energySource interface {
	sample(ctx context.Context) (ioreport.Sample, error)
	dvfs() []float64
	close()
}

// parseIoreg turns `ioreg -a -r -d 1 -c IOAccelerator` output into accelerator statistics.
func parseIoreg(doc []byte) ([]gpustats.Accelerator, error) {
	root, err := plist.Parse(doc)
	if err != nil {
		return nil, err
	}
	return gpustats.FromIoreg(&root)
}

// readBounded reads a file of at most max bytes; a larger file is an error, not a
// truncated read, so a wrong path (a log file, a disk image) fails clearly.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not an ioreg capture", sanitize(path), max)
	}
	return b, nil
}

// fileSource replays a captured ioreg plist; the file is re-read on each scrape so a demo
// can swap captures underneath a running collector.
type fileSource struct{ path string }

func (s *fileSource) read(context.Context) ([]gpustats.Accelerator, error) {
	b, err := readBounded(s.path, int64(plist.DefaultLimits.MaxBytes))
	if err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	acc, err := parseIoreg(b)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", sanitize(s.path), err)
	}
	return acc, nil
}

// ioregSource runs `ioreg -a -r -d 1 -c IOAccelerator` per scrape.
type ioregSource struct {
	path    string
	timeout time.Duration
	max     int
}

// ioregArgs asks for the IOAccelerator entries only (-r -c), without children (-d 1), as
// an XML plist (-a).
var ioregArgs = []string{"-a", "-r", "-d", "1", "-c", "IOAccelerator"}

// errOutputTooLarge stops a runaway ioreg before it fills memory.
var errOutputTooLarge = errors.New("output exceeds ioreg.max_output_bytes")

type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, errOutputTooLarge
	}
	return w.buf.Write(p)
}

func (s *ioregSource) read(ctx context.Context) ([]gpustats.Accelerator, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.path, ioregArgs...)
	out := &capWriter{max: s.max}
	errOut := &capWriter{max: 1024}
	cmd.Stdout, cmd.Stderr = out, errOut
	// If ioreg leaves a child holding the pipes, Wait returns this long after the kill.
	cmd.WaitDelay = 500 * time.Millisecond
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("ioreg did not finish within ioreg.timeout %s", s.timeout)
	}
	if err != nil {
		if errors.Is(err, errOutputTooLarge) {
			return nil, fmt.Errorf("ioreg: %w (%d bytes)", errOutputTooLarge, s.max)
		}
		return nil, fmt.Errorf("ioreg %v: %w; stderr: %s", ioregArgs, err, sanitize(errOut.buf.String()))
	}
	acc, err := parseIoreg(out.buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("ioreg output: %w", err)
	}
	return acc, nil
}

// ioreportFile is a replay file of IOReport samples (testdata/ioreport/*.json).
type ioreportFile struct {
	// DVFS is the raw GPU frequency table as the pmgr device publishes it (Hz on M1-M3,
	// kHz on M4 and later); NormalizeDVFS decides which.
	DVFS    []uint64          `json:"dvfs"`
	Samples []ioreport.Sample `json:"samples"`
}

const maxReplaySamples = 10_000

func loadIOReportFile(path string) (*ioreportFile, error) {
	b, err := readBounded(path, 16<<20)
	if err != nil {
		return nil, err
	}
	var f ioreportFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", sanitize(path), err)
	}
	if len(f.Samples) < 2 || len(f.Samples) > maxReplaySamples {
		return nil, fmt.Errorf("%s: %d samples, want 2..%d", sanitize(path), len(f.Samples), maxReplaySamples)
	}
	for i := 1; i < len(f.Samples); i++ {
		if !f.Samples[i].Time.After(f.Samples[i-1].Time) {
			return nil, fmt.Errorf("%s: sample %d is not after sample %d", sanitize(path), i, i-1)
		}
	}
	return &f, nil
}

// replayEnergy plays the samples of an ioreportFile one per call, looping. The times are
// moved to the wall clock and, after each loop, the counters are advanced by one loop's
// worth so they keep growing like the real cumulative counters.
type replayEnergy struct {
	mu    sync.Mutex
	f     *ioreportFile
	table []float64
	i     int
	loop  int64
	base  time.Time
	now   func() time.Time
}

func newReplayEnergy(path string, now func() time.Time) (*replayEnergy, error) {
	f, err := loadIOReportFile(path)
	if err != nil {
		return nil, fmt.Errorf("file.ioreport_path: %w", err)
	}
	return &replayEnergy{f: f, table: ioreport.NormalizeDVFS(f.DVFS), now: now}, nil
}

func (r *replayEnergy) sample(context.Context) (ioreport.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := r.f.Samples
	if r.i == 0 && r.loop == 0 {
		r.base = r.now()
	}
	first, last := &ss[0], &ss[len(ss)-1]
	span := last.Time.Sub(first.Time)
	cur := &ss[r.i]
	// The wrap from the last sample to the first of the next loop counts as one more
	// interval of the recorded length between the first two samples.
	step := ss[1].Time.Sub(first.Time)
	offset := time.Duration(r.loop) * (span + step)
	out := ioreport.Sample{Time: r.base.Add(offset + cur.Time.Sub(first.Time)), Channels: make([]ioreport.Channel, len(cur.Channels))}
	for ci, c := range cur.Channels {
		c.States = append([]ioreport.State(nil), c.States...)
		if r.loop > 0 {
			if lc, fc := findChan(last, &c), findChan(first, &c); lc != nil && fc != nil {
				c.Value += r.loop * (lc.Value - fc.Value + (lc.Value-fc.Value)/int64(len(ss)-1))
				for si := range c.States {
					if si < len(lc.States) && si < len(fc.States) {
						d := lc.States[si].Residency - fc.States[si].Residency
						c.States[si].Residency += r.loop * (d + d/int64(len(ss)-1))
					}
				}
			}
		}
		out.Channels[ci] = c
	}
	r.i++
	if r.i == len(ss) {
		r.i = 0
		r.loop++
	}
	return out, nil
}

func findChan(s *ioreport.Sample, c *ioreport.Channel) *ioreport.Channel {
	for i := range s.Channels {
		if s.Channels[i].Group == c.Group && s.Channels[i].Subgroup == c.Subgroup && s.Channels[i].Name == c.Name {
			return &s.Channels[i]
		}
	}
	return nil
}

func (r *replayEnergy) dvfs() []float64 { return r.table }
func (r *replayEnergy) close()          {}
