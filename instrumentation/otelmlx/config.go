package otelmlx

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// config is built from Options; the zero value of every field means "use the default".
type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	loggerProvider log.LoggerProvider
	policy         *Policy
	memory         MemoryStatsSource
	identityKey    []byte
	captureContent bool
	auditRecords   bool
	maxAttrLen     int
	maxModels      int
	device         string
	mlxVersion     string
	cacheFiles     int
}

// Option configures an Instrumenter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func newConfig(opts []Option) config {
	c := config{auditRecords: true, maxAttrLen: 1024, maxModels: 256, cacheFiles: 4096}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.loggerProvider == nil {
		c.loggerProvider = otel.GetLoggerProvider()
	}
	return c
}

// WithTracerProvider sets the TracerProvider. The global one is used by default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets the MeterProvider. The global one is used by default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithLoggerProvider sets the LoggerProvider that security events are emitted through.
// The global one is used by default.
func WithLoggerProvider(lp log.LoggerProvider) Option {
	return optionFunc(func(c *config) { c.loggerProvider = lp })
}

// WithPolicy sets the model policy applied to every load. Without one every load is allowed
// and recorded with mlx.policy.decision=allow and mlx.policy.rule=default.
func WithPolicy(p *Policy) Option {
	return optionFunc(func(c *config) { c.policy = p })
}

// WithMemoryStats sets where MLX allocator statistics are read from at the end of each
// operation. Without it no mlx.memory.* values are recorded.
func WithMemoryStats(src MemoryStatsSource) Option {
	return optionFunc(func(c *config) { c.memory = src })
}

// WithIdentityKey sets the HMAC key that turns caller identities into enduser.pseudo.id. Use
// the same key (at least 16 bytes, from a secret store) across replicas so the same caller
// gets the same pseudonym everywhere. Without it New draws a random key for each Instrumenter:
// pseudonyms then correlate requests of that Instrumenter only (two Instrumenters in one
// process disagree), and can never be reversed by hashing guesses, as a plain hash could.
func WithIdentityKey(key []byte) Option {
	return optionFunc(func(c *config) { c.identityKey = append([]byte(nil), key...) })
}

// WithContentCapture records prompt and response content on inference events when on. It is
// off by default: content can hold personal data and secrets.
func WithContentCapture(on bool) Option {
	return optionFunc(func(c *config) { c.captureContent = on })
}

// WithAuditRecords turns the per-request mlx.inference.completed event on or off (on by
// default). Failures, rejections and every load event are emitted either way.
func WithAuditRecords(on bool) Option {
	return optionFunc(func(c *config) { c.auditRecords = on })
}

// WithMaxAttributeLength bounds every string recorded from outside, in bytes (default 1024).
func WithMaxAttributeLength(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxAttrLen = n
		}
	})
}

// WithMaxModels bounds how many distinct model names appear as metric attributes (default
// 256); further names are recorded as "_OTHER" so a client that requests random model names
// cannot grow every metric backend's series without bound. Spans and events keep the name.
func WithMaxModels(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxModels = n
		}
	})
}

// WithDevice sets mlx.device when the memory source does not report it.
func WithDevice(device string) Option {
	return optionFunc(func(c *config) { c.device = device })
}

// WithMLXVersion sets mlx.version when the memory source does not report it.
func WithMLXVersion(v string) Option {
	return optionFunc(func(c *config) { c.mlxVersion = v })
}
