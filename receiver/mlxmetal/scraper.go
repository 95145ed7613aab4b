package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
)

type metalScraper struct {
	cfg    *Config
	logger *zap.Logger
	build  component.BuildInfo
	now    func() time.Time

	mu          sync.Mutex
	stats       statsSource
	energy      energySource
	mb          *metadata.MetricsBuilder
	prev        *ioreport.Sample
	energyTotal float64
	energyStart pcommon.Timestamp
	memLimit    int64 // 0: none
	warned      map[string]struct{}
}

func newScraper(cfg *Config, set receiver.Settings) *metalScraper {
	return &metalScraper{cfg: cfg, logger: set.Logger, build: set.BuildInfo, now: time.Now, warned: map[string]struct{}{}}
}

// start opens the sources and reads once, so a wrong platform, path or capture is a start
// error that names the problem rather than a failing scrape every interval.
func (s *metalScraper) start(ctx context.Context, _ component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.build, pcommon.NewTimestampFromTime(s.now()))
	var err error
	switch s.cfg.Source {
	case SourceFile:
		s.stats = &fileSource{path: s.cfg.File.Path}
		s.memLimit = s.cfg.File.MemoryLimitBytes
	case SourceIoreg:
		s.stats = &ioregSource{path: s.cfg.Ioreg.Path, timeout: s.cfg.Ioreg.Timeout, max: s.cfg.Ioreg.MaxOutputBytes}
	default:
		s.stats, err = newIOKitSource()
	}
	if err != nil {
		return fmt.Errorf("mlxmetal: %w", err)
	}
	if _, err := s.stats.read(ctx); err != nil {
		return fmt.Errorf("mlxmetal: first read of source %q failed: %w", s.cfg.Source, err)
	}
	if s.cfg.Source != SourceFile && s.cfg.MemoryLimit != MemoryLimitNone {
		mode := s.cfg.MemoryLimit
		if s.cfg.Source == SourceIoreg {
			// The ioreg source exists to keep frameworks out of the collector process:
			// physical memory comes from sysctl, Metal would have to be loaded.
			mode = MemoryLimitPhysical
		}
		if n, err := hostMemoryLimit(mode); err == nil && n > 0 && n < 1<<62 {
			s.memLimit = int64(n)
		} else if err != nil {
			s.logger.Warn("GPU memory limit unknown; hw.gpu.memory.limit is omitted", zap.String("reason", sanitize(err.Error())))
		}
	}
	if s.cfg.MemoryLimit == MemoryLimitNone {
		s.memLimit = 0
	}
	if s.cfg.IOReport.Enabled {
		if s.cfg.Source == SourceFile {
			s.energy, err = newReplayEnergy(s.cfg.File.IOReportPath, s.now)
		} else {
			var warnings []string
			s.energy, warnings, err = newIOReportSource()
			for _, w := range warnings {
				s.logger.Warn(sanitize(w))
			}
		}
		if err != nil {
			return fmt.Errorf("mlxmetal: %w", err)
		}
	}
	return nil
}

func (s *metalScraper) shutdown(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.energy != nil {
		s.energy.close()
		s.energy = nil
	}
	return nil
}

func (s *metalScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stats == nil {
		return pmetric.NewMetrics(), errors.New("mlxmetal: scrape before start")
	}
	acc, err := s.stats.read(ctx)
	if err != nil {
		return pmetric.NewMetrics(), err
	}
	ts := pcommon.NewTimestampFromTime(s.now())
	var (
		res     ioreport.Result
		haveRes bool
		errs    error
		failed  int
	)
	if s.energy != nil {
		res, haveRes, err = s.energyInterval(ctx)
		if err != nil {
			errs = err
			failed = 4 // hw.energy, hw.power, frequency, active ratio
		}
	}
	primary := primaryIndex(acc)
	for i := range acc {
		a := &acc[i]
		s.warnAnomalies(a.ID, a.Anomalies)
		s.record(a, ts)
		if i == primary {
			if s.memLimit > 0 {
				s.mb.RecordInt(metadata.HwGpuMemoryLimit, ts, s.memLimit)
			}
			if haveRes {
				s.recordEnergy(&res, ts)
			}
		}
		name := a.Model
		if name == "" {
			name = a.Class
		}
		s.mb.EmitForResource(metadata.Resource{ID: a.ID, Name: name, Vendor: a.Vendor, Model: a.Model})
	}
	md := s.mb.Emit()
	if errs != nil {
		return md, scrapererror.NewPartialScrapeError(errs, failed)
	}
	return md, nil
}

// primaryIndex picks the GPU that system-wide figures (IOReport, memory limit) belong to:
// the Apple GPU, which shares the unified memory; else the first.
func primaryIndex(acc []gpustats.Accelerator) int {
	for i := range acc {
		if acc[i].Vendor == "Apple" {
			return i
		}
	}
	return 0
}

func (s *metalScraper) record(a *gpustats.Accelerator, ts pcommon.Timestamp) {
	mb := s.mb
	if a.DeviceUtilization.OK {
		mb.RecordDouble(metadata.HwGpuUtilization, ts, a.DeviceUtilization.V)
	}
	if a.RendererUtilization.OK {
		mb.RecordDouble(metadata.MlxmetalGpuRendererUtilization, ts, a.RendererUtilization.V)
	}
	if a.TilerUtilization.OK {
		mb.RecordDouble(metadata.MlxmetalGpuTilerUtilization, ts, a.TilerUtilization.V)
	}
	if a.InUseSystemMemory.OK {
		mb.RecordInt(metadata.HwGpuMemoryUsage, ts, a.InUseSystemMemory.V)
	}
	if a.AllocSystemMemory.OK {
		mb.RecordInt(metadata.MlxmetalGpuSystemMemoryAllocated, ts, a.AllocSystemMemory.V)
	}
	if a.InUseDriverMemory.OK {
		mb.RecordInt(metadata.MlxmetalGpuSystemMemoryDriverInUse, ts, a.InUseDriverMemory.V)
	}
	if a.RecoveryCount.OK {
		mb.RecordInt(metadata.MlxmetalGpuRecoveryCount, ts, a.RecoveryCount.V)
	}
	if a.Cores.OK {
		mb.RecordInt(metadata.MlxmetalGpuCoreCount, ts, a.Cores.V)
	}
	if a.TemperatureCelsius.OK {
		mb.RecordDouble(metadata.HwTemperature, ts, a.TemperatureCelsius.V)
	}
	if a.PowerWatts.OK {
		mb.RecordDouble(metadata.HwPower, ts, a.PowerWatts.V)
	}
}

// energyInterval takes an IOReport sample and diffs it against the previous one. The first
// call only stores the baseline: IOReport counters are cumulative, so nothing sleeps.
func (s *metalScraper) energyInterval(ctx context.Context) (ioreport.Result, bool, error) {
	cur, err := s.energy.sample(ctx)
	if err != nil {
		return ioreport.Result{}, false, fmt.Errorf("mlxmetal: ioreport sample: %w", err)
	}
	prev := s.prev
	s.prev = &cur
	if prev == nil {
		s.energyStart = pcommon.NewTimestampFromTime(cur.Time)
		return ioreport.Result{}, false, nil
	}
	res, err := ioreport.Diff(prev, &cur, s.energy.dvfs())
	if err != nil {
		return ioreport.Result{}, false, fmt.Errorf("mlxmetal: %w", err)
	}
	s.warnAnomalies("ioreport", res.Anomalies)
	return res, true, nil
}

func (s *metalScraper) recordEnergy(r *ioreport.Result, ts pcommon.Timestamp) {
	if r.HasEnergy && ioreport.Finite(r.EnergyJoules) {
		s.energyTotal += r.EnergyJoules
		s.mb.RecordDoubleSince(metadata.HwEnergy, s.energyStart, ts, s.energyTotal)
		if ioreport.Finite(r.PowerWatts) {
			s.mb.RecordDouble(metadata.HwPower, ts, r.PowerWatts)
		}
	}
	if r.HasActiveRatio {
		s.mb.RecordDouble(metadata.MlxmetalGpuActiveRatio, ts, r.ActiveRatio)
	}
	if r.HasFrequencyHz {
		s.mb.RecordDouble(metadata.MlxmetalGpuFrequency, ts, r.FrequencyHz)
	}
}

// maxWarned bounds the set of anomalies already logged (they are logged once each).
const maxWarned = 256

func (s *metalScraper) warnAnomalies(who string, anomalies []string) {
	for _, a := range anomalies {
		key := who + "\x00" + a
		if _, seen := s.warned[key]; seen || len(s.warned) >= maxWarned {
			continue
		}
		s.warned[key] = struct{}{}
		s.logger.Warn("GPU statistic out of range or of the wrong type; clamped or omitted (logged once)",
			zap.String("gpu", sanitize(who)), zap.String("statistic", sanitize(a)))
	}
}

// sanitize escapes control and bidi characters and bounds the length of text that came
// from outside (registry strings, file paths, subprocess output) before it is logged.
func sanitize(s string) string {
	const max = 256
	trunc := false
	if len(s) > max {
		s, trunc = s[:max], true
	}
	q := strconv.QuoteToASCII(s)
	q = q[1 : len(q)-1]
	if trunc {
		q += "...(truncated)"
	}
	return q
}
