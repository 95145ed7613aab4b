//go:build mlx

package mlxc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// The figures of the issue, measured on real MLX (`make bench-mlx` prints them with ratios):
//
//   - inference on the tiny classifier, bare and inside otelmlx.Infer with a full SDK pipeline
//     (every span sampled and batched, metrics aggregated, the audit event emitted, allocator
//     figures read from MLX), in the same run: overhead at most 1% of the inference time;
//   - load of a model of at least 256 MiB, bare and through otelmlx.Load with digest and policy
//     checks (digest computed while MLX reads), and again with the digest cached.
//
// Bare and instrumented calls alternate in blocks inside one benchmark, so both see the same
// machine state (caches, frequency, the other core's load); each block's time is measured and
// the medians compared.

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }

// sdkInstrumenter is an Instrumenter with the SDK as a service would run it.
func sdkInstrumenter(b *testing.B, opts ...otelmlx.Option) *otelmlx.Instrumenter {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(discardLogs{})))
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
		lp.Shutdown(context.Background())
	})
	in, err := otelmlx.New(append([]otelmlx.Option{otelmlx.WithTracerProvider(tp), otelmlx.WithMeterProvider(mp),
		otelmlx.WithLoggerProvider(lp), otelmlx.WithMemoryStats(StatsSource{Dev: CPU})}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return in
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// alternate runs bare and instrumented in alternating blocks (the order flipping every block,
// so neither always runs on a warmer cache) and reports the median time per call of each and
// the median of the per-block overheads, which cancels drift between blocks.
func alternate(b *testing.B, block int, bare, instrumented func()) {
	var tb, ti, ratio []time.Duration
	for range 2 { // warm up both paths
		bare()
		instrumented()
	}
	timeBlock := func(f func(), k int) time.Duration {
		t0 := time.Now()
		for range k {
			f()
		}
		return time.Since(t0) / time.Duration(k)
	}
	b.ResetTimer()
	for n, i := 0, 0; n < b.N; i++ {
		k := min(block, b.N-n)
		var db, di time.Duration
		if i%2 == 0 {
			db = timeBlock(bare, k)
			di = timeBlock(instrumented, k)
		} else {
			di = timeBlock(instrumented, k)
			db = timeBlock(bare, k)
		}
		tb, ti = append(tb, db), append(ti, di)
		// per-block overhead in parts per million, kept as a Duration for median()
		ratio = append(ratio, time.Duration(1e6*(float64(di)-float64(db))/float64(db)))
		n += k
	}
	b.ReportMetric(float64(median(tb).Nanoseconds()), "bare-ns/inference")
	b.ReportMetric(float64(median(ti).Nanoseconds()), "instrumented-ns/inference")
	b.ReportMetric(float64(median(ratio))/1e4, "overhead-%")
}

// BenchmarkGenerate is the figure: text generation with the tiny language model in
// process (a 7-token prompt, 16 new tokens, greedy), bare and inside otelmlx.Infer.
func BenchmarkGenerate(b *testing.B) {
	dir := filepath.Join(modelsDir(b), "tiny-lm")
	cfg, err := LoadLMConfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	w, err := Load(filepath.Join(dir, "model.safetensors"), FormatAuto, CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	in := sdkInstrumenter(b)
	prompt := []int32{378, 295, 333, 14, 362, 367, 365}
	const newTokens = 16
	ctx := context.Background()
	req := otelmlx.Request{Operation: otelmlx.OperationTextCompletion, Model: "tiny-lm", Identity: "key:bench",
		RequestID: "r-1", ClientAddress: "127.0.0.1", InputSize: int64(len(prompt)), MaxTokens: newTokens}
	alternate(b, 1, func() {
		if _, err := w.Generate(cfg, prompt, newTokens, -1); err != nil {
			b.Fatal(err)
		}
	}, func() {
		_, err := otelmlx.Infer(ctx, in, req, func(context.Context) ([]int32, otelmlx.Response, error) {
			out, err := w.Generate(cfg, prompt, newTokens, -1)
			return out, otelmlx.Response{Model: "tiny-lm", InputTokens: int64(len(prompt)), OutputTokens: int64(len(out)),
				FinishReasons: []string{"length"}}, err
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPredict is one classifier forward pass (16 inputs, 4 classes), bare and inside
// otelmlx.Infer: a call of tens of microseconds, where the fixed cost of a recorded span,
// metrics and an audit event is a visible share.
func BenchmarkPredict(b *testing.B) {
	dir := modelsDir(b)
	w, err := Load(filepath.Join(dir, "classifier", "classifier.safetensors"), FormatAuto, CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	in := sdkInstrumenter(b)
	input := make([]float32, 16)
	for i := range input {
		input[i] = float32(i)/16 - 0.5
	}
	ctx := context.Background()
	req := otelmlx.Request{Operation: otelmlx.OperationPredict, Model: "classifier", Identity: "key:bench",
		RequestID: "r-1", ClientAddress: "127.0.0.1", InputSize: 16}
	alternate(b, 64, func() {
		if _, _, err := w.PredictMLP(input, 1); err != nil {
			b.Fatal(err)
		}
	}, func() {
		_, err := otelmlx.Infer(ctx, in, req, func(context.Context) ([]float32, otelmlx.Response, error) {
			p, _, err := w.PredictMLP(input, 1)
			return p, otelmlx.Response{Model: "classifier"}, err
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}

// bigModel is the 256 MiB model of the load benchmarks: its reference, a bare MLX load of it,
// its digest as the instrumentation computes it, and a policy that allows it and pins it.
type bigModel struct {
	path   string
	ref    otelmlx.ModelRef
	load   func(context.Context) (*Weights, error)
	sha256 string
	size   int64
}

func openBigModel(b *testing.B) bigModel {
	path := os.Getenv("OTELMLX_BENCH_BIG_MODEL")
	if path == "" {
		b.Skip("OTELMLX_BENCH_BIG_MODEL is not set: run `make bench-mlx`")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if st.Size() < 256<<20 {
		b.Fatalf("%s has %d bytes, the benchmark needs at least 256 MiB", path, st.Size())
	}
	abs, _ := filepath.Abs(path)
	m := bigModel{path: abs, ref: otelmlx.ModelRef{Name: "big", Source: abs}, size: st.Size()}
	m.load = func(context.Context) (*Weights, error) { return Load(abs, FormatSafetensors, CPU) }
	// The pinned digest, computed once by the instrumentation itself.
	w, info, err := otelmlx.Load(context.Background(), sdkInstrumenter(b), m.ref, m.load)
	if err != nil {
		b.Fatal(err)
	}
	w.Close()
	m.sha256 = info.SHA256
	return m
}

func (m bigModel) policy() *otelmlx.Policy {
	deny := true
	return &otelmlx.Policy{Mode: otelmlx.Enforce, AllowedSources: []string{"file://" + filepath.Dir(m.path) + "/"},
		AllowedFormats: []string{"safetensors"}, PinnedDigests: map[string]string{"big": m.sha256}, DenyMalformed: &deny}
}

// hashOnly computes the file's SHA-256 as the instrumentation does, with no cache and no load.
func (m bigModel) hashOnly(b *testing.B) {
	sum, err := otelmlx.HashFile(context.Background(), m.path)
	if err != nil || sum == "" {
		b.Fatalf("hashing %s: %v", m.path, err)
	}
}

func (m bigModel) bare(b *testing.B) {
	w, err := Load(m.path, FormatSafetensors, CPU)
	if err != nil {
		b.Fatal(err)
	}
	w.Close()
}

// BenchmarkLoad256MiB: one iteration is a bare MLX load, a load through otelmlx.Load with
// policy and a pinned digest computed while MLX reads (a fresh Instrumenter, so no cached
// digest), a load whose digest comes from the cache, and the file's SHA-256 alone. All read the
// file from the page cache into buffers MLX's allocator keeps from the previous load (returning
// them to the system each time makes every load pay ~65k page faults, whose cost varies by 3x on
// this VM).
func BenchmarkLoad256MiB(b *testing.B) {
	big := openBigModel(b)
	ref, loadFn := big.ref, big.load
	ctx := context.Background()
	policy := big.policy
	cached := sdkInstrumenter(b, otelmlx.WithPolicy(policy()))
	if w, _, err := otelmlx.Load(ctx, cached, ref, loadFn); err != nil { // fill its digest cache
		b.Fatal(err)
	} else {
		w.Close()
	}
	fresh := make([]*otelmlx.Instrumenter, 0, 8)
	bare := func() { big.bare(b) }
	digest := func() {
		in := fresh[len(fresh)-1]
		fresh = fresh[:len(fresh)-1]
		w, li, err := otelmlx.Load(ctx, in, ref, loadFn)
		if err != nil || li.SHA256 != big.sha256 || li.Decision != otelmlx.DecisionAllow {
			b.Fatalf("instrumented load: %v %+v", err, li)
		}
		w.Close()
	}
	cachedLoad := func() {
		w, li, err := otelmlx.Load(ctx, cached, ref, loadFn)
		if err != nil || li.SHA256 != big.sha256 {
			b.Fatalf("cached load: %v %+v", err, li)
		}
		w.Close()
	}
	// SHA-256 of the file alone, from the same page cache: no load that checks the digest can
	// take less than this or the bare load, whichever is longer, however it overlaps the two.
	hashOnly := func() { big.hashOnly(b) }
	// openssl dgst -sha256 of the same file from the same page cache: the reference the
	// digest's own throughput is held to (process start, a few ms, is inside its time).
	// Without openssl the other figures are still taken and that one is left out.
	openssl, lookErr := exec.LookPath("openssl")
	opensslDgst := func() {
		if lookErr != nil {
			return
		}
		if out, err := exec.Command(openssl, "dgst", "-sha256", big.path).CombinedOutput(); err != nil || !strings.Contains(string(out), big.sha256) {
			b.Fatalf("openssl dgst: %v %s", err, out)
		}
	}
	fns := []func(){bare, digest, cachedLoad, hashOnly, opensslDgst}
	var tb, td, tc, th, to, rd, rc, rf, rdf, rho []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if len(fresh) == 0 {
			for range cap(fresh) {
				fresh = append(fresh, sdkInstrumenter(b, otelmlx.WithPolicy(policy())))
			}
		}
		b.StartTimer()
		// The order rotates every iteration so that no kind of load always follows another.
		var d [5]time.Duration
		for j := range 5 {
			k := (i + j) % 5
			t0 := time.Now()
			fns[k]()
			d[k] = time.Since(t0)
		}
		if os.Getenv("OTELMLX_BENCH_VERBOSE") != "" {
			b.Logf("round %d: bare %v digest %v cached %v hash %v", i, d[0], d[1], d[2], d[3])
		}
		tb, td, tc, th, to = append(tb, d[0]), append(td, d[1]), append(tc, d[2]), append(th, d[3]), append(to, d[4])
		rd = append(rd, time.Duration(1e6*float64(d[1])/float64(d[0])))
		rc = append(rc, time.Duration(1e6*float64(d[2])/float64(d[0])))
		rf = append(rf, time.Duration(1e6*float64(max(d[0], d[3]))/float64(d[0])))
		rdf = append(rdf, time.Duration(1e6*float64(d[1])/float64(max(d[0], d[3]))))
		rho = append(rho, time.Duration(1e6*float64(d[4])/float64(d[3]))) // throughput Go / openssl
	}
	b.ReportMetric(float64(big.size)/(1<<20), "MiB")
	b.ReportMetric(float64(median(tb).Microseconds())/1000, "bare-ms")
	b.ReportMetric(float64(median(td).Microseconds())/1000, "digest-ms")
	b.ReportMetric(float64(median(tc).Microseconds())/1000, "cached-ms")
	b.ReportMetric(float64(median(rd))/1e6, "digest-ratio")
	b.ReportMetric(float64(median(rc))/1e6, "cached-ratio")
	b.ReportMetric(float64(median(th).Microseconds())/1000, "hash-ms")
	b.ReportMetric(float64(median(rf))/1e6, "floor-ratio")
	b.ReportMetric(float64(median(rdf))/1e6, "digest-vs-floor")
	if lookErr == nil {
		b.ReportMetric(float64(median(to).Microseconds())/1000, "openssl-ms")
		b.ReportMetric(float64(median(rho))/1e6, "hash-vs-openssl")
	} else {
		b.Logf("openssl not found: no hashing figure against it (%v)", lookErr)
	}

	// The cached path adds work only before and after the MLX load (policy, format sniff,
	// digest cache lookup, span, event, metrics), so its cost can also be timed on its own
	// around a load function that does nothing: a figure the scheduling noise of a shared
	// machine (tens of ms per 256 MiB load) does not swamp.
	b.StopTimer()
	noop := func(context.Context) (*Weights, error) { return nil, nil }
	var tw []time.Duration
	for range 200 {
		t0 := time.Now()
		if _, _, err := otelmlx.Load(ctx, cached, ref, noop); err != nil {
			b.Fatal(err)
		}
		tw = append(tw, time.Since(t0))
	}
	b.ReportMetric(float64(median(tw).Nanoseconds())/1e6, "cached-wrapper-ms")
}

// BenchmarkLoad256MiBCold is the same comparison with the model's pages evicted from the page
// cache before every load, as at service start: the bare load reads from disk, and the
// instrumented load hashes what MLX reads while it reads it. One iteration is one bare load, one
// instrumented (fresh digest) load and one SHA-256 of the file alone, in rotating order.
func BenchmarkLoad256MiBCold(b *testing.B) {
	big := openBigModel(b)
	if err := evictPageCache(big.path); err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	policy := big.policy()
	bare := func() { big.bare(b) }
	digest := func() {
		in := sdkInstrumenter(b, otelmlx.WithPolicy(policy)) // fresh: nothing cached
		w, li, err := otelmlx.Load(ctx, in, big.ref, big.load)
		if err != nil || li.SHA256 != big.sha256 {
			b.Fatalf("instrumented load: %v %+v", err, li)
		}
		w.Close()
	}
	hashOnly := func() { big.hashOnly(b) }
	fns := []func(){bare, digest, hashOnly}
	var tb, td, th, rd, rf, rdf []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var d [3]time.Duration
		for j := range 3 {
			k := (i + j) % 3
			b.StopTimer()
			if err := evictPageCache(big.path); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			fns[k]()
			d[k] = time.Since(t0)
		}
		tb, td, th = append(tb, d[0]), append(td, d[1]), append(th, d[2])
		rd = append(rd, time.Duration(1e6*float64(d[1])/float64(d[0])))
		rf = append(rf, time.Duration(1e6*float64(max(d[0], d[2]))/float64(d[0])))
		rdf = append(rdf, time.Duration(1e6*float64(d[1])/float64(max(d[0], d[2]))))
	}
	b.ReportMetric(float64(median(rdf))/1e6, "cold-vs-floor")
	b.ReportMetric(float64(median(tb).Microseconds())/1000, "cold-bare-ms")
	b.ReportMetric(float64(median(td).Microseconds())/1000, "cold-digest-ms")
	b.ReportMetric(float64(median(rd))/1e6, "cold-digest-ratio")
	b.ReportMetric(float64(median(th).Microseconds())/1000, "cold-hash-ms")
	b.ReportMetric(float64(median(rf))/1e6, "cold-floor-ratio")
}
