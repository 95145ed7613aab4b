// Package otelsetup wires the OpenTelemetry SDK for the examples from the standard OTEL_*
// environment variables, printing to the console when no OTLP endpoint is configured.
package otelsetup

import (
	"context"
	"errors"
	"os"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Providers are the SDK providers of one process.
type Providers struct {
	Tracer *sdktrace.TracerProvider
	Meter  *sdkmetric.MeterProvider
	Logger *sdklog.LoggerProvider
}

// Setup builds providers for service and installs them as the globals. Exporters follow
// OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER; when none is set and no
// OTEL_EXPORTER_OTLP_ENDPOINT is given, everything goes to the console (stdout), so the
// examples show their telemetry with no collector running.
func Setup(ctx context.Context, service string) (*Providers, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		for _, v := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"} {
			if os.Getenv(v) == "" {
				os.Setenv(v, "console")
			}
		}
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return nil, err
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still win over the default name.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	se, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	mr, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		return nil, err
	}
	le, err := autoexport.NewLogExporter(ctx)
	if err != nil {
		return nil, err
	}
	p := &Providers{
		Tracer: sdktrace.NewTracerProvider(sdktrace.WithBatcher(se), sdktrace.WithResource(res)),
		Meter:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(mr), sdkmetric.WithResource(res)),
		Logger: sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(le)), sdklog.WithResource(res)),
	}
	otel.SetTracerProvider(p.Tracer)
	otel.SetMeterProvider(p.Meter)
	otel.SetLoggerProvider(p.Logger)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return p, nil
}

// Shutdown flushes and stops every provider.
func (p *Providers) Shutdown(ctx context.Context) error {
	return errors.Join(p.Tracer.Shutdown(ctx), p.Meter.Shutdown(ctx), p.Logger.Shutdown(ctx))
}
