package mlxmetal

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

var epoch = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// fakeClock advances 10 s per call, so timestamps in golden files are fixed.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(10 * time.Second)
	return c.t
}

func fileConfig(fixture string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Source = SourceFile
	cfg.File.Path = filepath.Join("testdata", "ioreg", fixture)
	return cfg
}

func receivertestSettings() receiver.Settings {
	set := receivertest.NewNopSettings(metadata.Type)
	set.BuildInfo.Version = "test"
	return set
}

func newTestScraper(t *testing.T, cfg *Config) (*metalScraper, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	set := receivertestSettings()
	set.Logger = zap.New(core)
	s := newScraper(cfg, set)
	s.now = (&fakeClock{t: epoch}).now
	return s, logs
}

// canonical renders metrics as indented OTLP JSON for golden comparison.
func canonical(t *testing.T, md pmetric.Metrics) []byte {
	t.Helper()
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, b, "", " "))
	out.WriteByte('\n')
	return out.Bytes()
}

func checkGolden(t *testing.T, name string, md pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	got := canonical(t, md)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to create %s", t.Name(), path)
	assert.Equal(t, string(want), string(got), "output differs from %s", path)
}

// points indexes the data points of md by "hw.id/metric name".
func points(md pmetric.Metrics) map[string]pmetric.NumberDataPoint {
	out := map[string]pmetric.NumberDataPoint{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		id, _ := rm.Resource().Attributes().Get("hw.id")
		ms := rm.ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			var dps pmetric.NumberDataPointSlice
			if m.Type() == pmetric.MetricTypeGauge {
				dps = m.Gauge().DataPoints()
			} else {
				dps = m.Sum().DataPoints()
			}
			out[id.Str()+"/"+m.Name()] = dps.At(0)
		}
	}
	return out
}

func scrapeOnce(t *testing.T, cfg *Config) (pmetric.Metrics, *observer.ObservedLogs) {
	t.Helper()
	s, logs := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	return md, logs
}

func TestGoldenFixtures(t *testing.T) {
	for _, name := range []string{"m1_idle", "m1_busy", "m2_busy", "m3_recovered", "intel_amd_two_gpus", "m1_missing_keys", "m2_out_of_range"} {
		t.Run(name, func(t *testing.T) {
			cfg := fileConfig(name + ".plist")
			cfg.File.MemoryLimitBytes = 16 << 30
			md, _ := scrapeOnce(t, cfg)
			checkGolden(t, name, md)
		})
	}
}

func TestM1BusyValues(t *testing.T) {
	cfg := fileConfig("m1_busy.plist")
	cfg.File.MemoryLimitBytes = 16 << 30
	md, _ := scrapeOnce(t, cfg)
	require.Equal(t, 1, md.ResourceMetrics().Len())
	attrs := md.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{"hw.id": "gpu-0x100000680", "hw.name": "Apple M1", "hw.vendor": "Apple", "hw.model": "Apple M1", "hw.type": "gpu"}, attrs)
	p := points(md)
	id := "gpu-0x100000680/"
	assert.Equal(t, 0.98, p[id+"hw.gpu.utilization"].DoubleValue())
	assert.Equal(t, 0.97, p[id+"mlxmetal.gpu.renderer.utilization"].DoubleValue())
	assert.Equal(t, 0.41, p[id+"mlxmetal.gpu.tiler.utilization"].DoubleValue())
	assert.Equal(t, int64(6<<30+123456), p[id+"hw.gpu.memory.usage"].IntValue())
	assert.Equal(t, int64(16<<30), p[id+"hw.gpu.memory.limit"].IntValue())
	assert.Equal(t, int64(7<<30), p[id+"mlxmetal.gpu.system_memory.allocated"].IntValue())
	assert.Equal(t, int64(0), p[id+"mlxmetal.gpu.recovery.count"].IntValue())
	assert.Equal(t, int64(8), p[id+"mlxmetal.gpu.core.count"].IntValue())
	for _, off := range []string{"mlxmetal.gpu.system_memory.driver_in_use", "hw.energy", "hw.power", "hw.temperature"} {
		_, ok := p[id+off]
		assert.False(t, ok, "%s is off by default or has no source", off)
	}
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0)
	assert.Equal(t, metadata.ScopeName, m.Scope().Name())
	assert.Equal(t, "test", m.Scope().Version())
}

func TestMissingKeysOmitMetrics(t *testing.T) {
	md, _ := scrapeOnce(t, fileConfig("m1_missing_keys.plist"))
	p := points(md)
	for _, name := range []string{"hw.gpu.utilization", "hw.gpu.memory.usage", "mlxmetal.gpu.system_memory.allocated", "mlxmetal.gpu.recovery.count", "hw.gpu.memory.limit"} {
		_, ok := p["gpu-0x100000680/"+name]
		assert.False(t, ok, "%s must be omitted, not 0", name)
	}
	assert.Equal(t, 0.04, p["gpu-0x100000680/mlxmetal.gpu.renderer.utilization"].DoubleValue())

	// An entry without PerformanceStatistics reports only what it has: its core count.
	md, _ = scrapeOnce(t, fileConfig("m1_no_statistics.plist"))
	assert.Equal(t, []string{"gpu-0x100000680/mlxmetal.gpu.core.count"}, metricNames(md))

	// With that off too, there is no resource at all (nothing to report).
	cfg := fileConfig("m1_no_statistics.plist")
	cfg.Metrics.MlxmetalGpuCoreCount.Enabled = false
	md, _ = scrapeOnce(t, cfg)
	assert.Equal(t, 0, md.ResourceMetrics().Len())
}

func TestOutOfRangeClampedAndLoggedOnce(t *testing.T) {
	s, logs := newTestScraper(t, fileConfig("m2_out_of_range.plist"))
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	var md pmetric.Metrics
	for i := 0; i < 3; i++ {
		var err error
		md, err = s.scrape(context.Background())
		require.NoError(t, err)
	}
	p := points(md)
	assert.Equal(t, 1.0, p["gpu-0x10000070e/hw.gpu.utilization"].DoubleValue(), "140 %% becomes 1.0")
	assert.Equal(t, 0.0, p["gpu-0x10000070e/mlxmetal.gpu.renderer.utilization"].DoubleValue())
	_, ok := p["gpu-0x10000070e/hw.gpu.memory.usage"]
	assert.False(t, ok, "negative memory is dropped")
	warn := logs.FilterMessageSnippet("out of range").All()
	assert.Len(t, warn, 5, "each anomaly is logged once over three scrapes")
}

func TestIntelMacTwoResources(t *testing.T) {
	cfg := fileConfig("intel_amd_two_gpus.plist")
	cfg.File.MemoryLimitBytes = 16 << 30
	md, _ := scrapeOnce(t, cfg)
	require.Equal(t, 2, md.ResourceMetrics().Len())
	p := points(md)
	amd := "gpu-0x1000006b3/"
	assert.Equal(t, 61.0, p[amd+"hw.temperature"].DoubleValue())
	assert.Equal(t, 18.0, p[amd+"hw.power"].DoubleValue())
	assert.Equal(t, int64(16<<30), p["gpu-0x10000045c/hw.gpu.memory.limit"].IntValue(), "no Apple GPU: the first gets the limit")
	_, ok := p[amd+"hw.gpu.memory.limit"]
	assert.False(t, ok)
}

func TestFlags(t *testing.T) {
	cfg := fileConfig("m1_busy.plist")
	cfg.Metrics.HwGpuUtilization.Enabled = false
	cfg.Metrics.MlxmetalGpuCoreCount.Enabled = false
	cfg.Metrics.MlxmetalGpuSystemMemoryDriverInUse.Enabled = true
	cfg.ResourceAttributes.HwModel.Enabled = false
	cfg.ResourceAttributes.HwType.Enabled = false
	md, _ := scrapeOnce(t, cfg)
	p := points(md)
	_, ok := p["gpu-0x100000680/hw.gpu.utilization"]
	assert.False(t, ok)
	_, ok = p["gpu-0x100000680/mlxmetal.gpu.core.count"]
	assert.False(t, ok)
	assert.Equal(t, int64(16777216), p["gpu-0x100000680/mlxmetal.gpu.system_memory.driver_in_use"].IntValue())
	attrs := md.ResourceMetrics().At(0).Resource().Attributes()
	_, ok = attrs.Get("hw.model")
	assert.False(t, ok)
	_, ok = attrs.Get("hw.type")
	assert.False(t, ok)
}

func TestIOReportReplay(t *testing.T) {
	cfg := fileConfig("m1_busy.plist")
	cfg.IOReport.Enabled = true
	cfg.File.IOReportPath = filepath.Join("testdata", "ioreport", "m1.json")
	s, _ := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	id := "gpu-0x100000680/"
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	p := points(md)
	for _, name := range []string{"hw.energy", "hw.power", "mlxmetal.gpu.active.ratio", "mlxmetal.gpu.frequency"} {
		_, ok := p[id+name]
		assert.False(t, ok, "first scrape only sets the IOReport baseline: no %s", name)
	}

	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	checkGolden(t, "m1_busy_ioreport", md)
	p = points(md)
	assert.InDelta(t, 6.0, p[id+"hw.energy"].DoubleValue(), 1e-9, "6000 mJ")
	assert.InDelta(t, 6.0, p[id+"hw.power"].DoubleValue(), 1e-9, "6 J in 1 s")
	assert.InDelta(t, 0.75, p[id+"mlxmetal.gpu.active.ratio"].DoubleValue(), 1e-12)
	assert.InDelta(t, 1278e6, p[id+"mlxmetal.gpu.frequency"].DoubleValue(), 1e-3)
	start := p[id+"hw.energy"].StartTimestamp()

	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	p = points(md)
	assert.InDelta(t, 7.5, p[id+"hw.energy"].DoubleValue(), 1e-9, "energy is cumulative")
	assert.InDelta(t, 1.5, p[id+"hw.power"].DoubleValue(), 1e-9)
	assert.InDelta(t, 0.5, p[id+"mlxmetal.gpu.active.ratio"].DoubleValue(), 1e-12)
	assert.InDelta(t, 837e6, p[id+"mlxmetal.gpu.frequency"].DoubleValue(), 1e-3)
	assert.Equal(t, start, p[id+"hw.energy"].StartTimestamp())

	// The replay loops; counters keep growing so energy stays monotonic.
	last := 7.5
	for i := 0; i < 7; i++ {
		md, err = s.scrape(context.Background())
		require.NoError(t, err)
		e := points(md)[id+"hw.energy"].DoubleValue()
		assert.Greater(t, e, last, "scrape %d", i)
		last = e
	}
}

func TestIOReportKHzTable(t *testing.T) {
	cfg := fileConfig("m3_recovered.plist")
	cfg.IOReport.Enabled = true
	cfg.File.IOReportPath = filepath.Join("testdata", "ioreport", "m4_khz.json")
	s, _ := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	_, err := s.scrape(context.Background())
	require.NoError(t, err)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	p := points(md)
	id := "gpu-0x100000c8f/"
	assert.InDelta(t, 12.5, p[id+"hw.energy"].DoubleValue(), 1e-9, "nJ")
	assert.InDelta(t, 2.0/3, p[id+"mlxmetal.gpu.active.ratio"].DoubleValue(), 1e-12)
	assert.InDelta(t, 1197e6, p[id+"mlxmetal.gpu.frequency"].DoubleValue(), 1e-3, "kHz table")
	assert.Equal(t, int64(2), p[id+"mlxmetal.gpu.recovery.count"].IntValue())
}

func TestStartErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  func() *Config
		want string
	}{
		"malformed":   {func() *Config { return fileConfig("malformed_truncated.plist") }, "malformed XML"},
		"not xml":     {func() *Config { return fileConfig("malformed_not_xml.plist") }, "plist"},
		"empty":       {func() *Config { return fileConfig("malformed_empty.plist") }, "no value"},
		"bad integer": {func() *Config { return fileConfig("malformed_bad_integer.plist") }, "bad <integer>"},
		"mismatched":  {func() *Config { return fileConfig("malformed_mismatched.plist") }, "closed by"},
		"missing":     {func() *Config { return fileConfig("nope.plist") }, "no such file"},
		"too large": {func() *Config {
			c := fileConfig("")
			c.File.Path = "/dev/zero"
			return c
		}, "larger than"},
		"bad replay": {func() *Config {
			c := fileConfig("m1_busy.plist")
			c.IOReport.Enabled = true
			c.File.IOReportPath = filepath.Join("testdata", "ioreg", "m1_busy.plist")
			return c
		}, "file.ioreport_path"},
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newTestScraper(t, tc.cfg())
			err := s.start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCaptureReplacedByGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.plist")
	good, err := os.ReadFile(filepath.Join("testdata", "ioreg", "m1_idle.plist"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, good, 0o600))
	cfg := fileConfig("")
	cfg.File.Path = path
	s, _ := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, os.WriteFile(path, good[:100], 0o600))
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.Equal(t, 0, md.ResourceMetrics().Len())
}

func ioregConfig(t *testing.T, fixture string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Source = SourceIoreg
	abs, err := filepath.Abs(filepath.Join("testdata", "fake-ioreg.sh"))
	require.NoError(t, err)
	cfg.Ioreg.Path = abs
	cfg.Ioreg.Timeout = 2 * time.Second
	t.Setenv("FAKE_IOREG_FIXTURE", filepath.Join("testdata", "ioreg", fixture))
	return cfg
}

func TestIoregSubprocess(t *testing.T) {
	md, _ := scrapeOnce(t, ioregConfig(t, "m2_busy.plist"))
	p := points(md)
	assert.Equal(t, 1.0, p["gpu-0x10000070e/hw.gpu.utilization"].DoubleValue())
	assert.Equal(t, int64(11<<30+73400320), p["gpu-0x10000070e/hw.gpu.memory.usage"].IntValue())
}

func TestIoregFailures(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		cfg := ioregConfig(t, "m2_busy.plist")
		cfg.Ioreg.Timeout = 200 * time.Millisecond
		t.Setenv("FAKE_IOREG_SLEEP", "5")
		s, _ := newTestScraper(t, cfg)
		begin := time.Now()
		err := s.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "did not finish within ioreg.timeout 200ms")
		assert.Less(t, time.Since(begin), 3*time.Second, "the subprocess is killed at the timeout")
	})
	t.Run("exit status", func(t *testing.T) {
		t.Setenv("FAKE_IOREG_EXIT", "3")
		s, _ := newTestScraper(t, ioregConfig(t, "m2_busy.plist"))
		err := s.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exit status 3")
		assert.Contains(t, err.Error(), `\x1b[31mfailure`, "stderr is escaped before it reaches a log")
		assert.NotContains(t, err.Error(), "\x1b")
	})
	t.Run("output cap", func(t *testing.T) {
		cfg := ioregConfig(t, "m2_busy.plist")
		cfg.Ioreg.MaxOutputBytes = 1000
		s, _ := newTestScraper(t, cfg)
		err := s.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "max_output_bytes")
	})
	t.Run("malformed output", func(t *testing.T) {
		s, _ := newTestScraper(t, ioregConfig(t, "malformed_truncated.plist"))
		err := s.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "ioreg output")
	})
	t.Run("missing binary", func(t *testing.T) {
		cfg := ioregConfig(t, "m2_busy.plist")
		cfg.Ioreg.Path = "/nonexistent/ioreg"
		s, _ := newTestScraper(t, cfg)
		err := s.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
	})
}

func TestPartialErrorOnIOReportFailure(t *testing.T) {
	cfg := fileConfig("m1_busy.plist")
	s, _ := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	s.energy = failingEnergy{}
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.True(t, scrapererror.IsPartialScrapeError(err))
	assert.Positive(t, md.MetricCount(), "IOKit metrics still flow when IOReport fails")
}

type failingEnergy struct{}

func (failingEnergy) sample(context.Context) (ioreport.Sample, error) {
	return ioreport.Sample{}, assert.AnError
}
func (failingEnergy) dvfs() []float64 { return nil }
func (failingEnergy) close()          {}

func TestReceiverEndToEnd(t *testing.T) {
	f := NewFactory()
	cfg := fileConfig("m1_busy.plist")
	cfg.CollectionInterval = 20 * time.Millisecond
	cfg.InitialDelay = 0
	cfg.IOReport.Enabled = true
	cfg.File.IOReportPath = filepath.Join("testdata", "ioreport", "m1.json")
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool {
		for _, md := range sink.AllMetrics() {
			if _, ok := points(md)["gpu-0x100000680/hw.energy"]; ok {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	got := sink.AllMetrics()[0]
	names := strings.Join(metricNames(got), ",")
	assert.Contains(t, names, "hw.gpu.utilization")
}

func metricNames(md pmetric.Metrics) []string {
	var out []string
	for k := range points(md) {
		out = append(out, k)
	}
	return out
}
