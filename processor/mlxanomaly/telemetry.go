package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// telemetry is the processor's own telemetry. Instruments and attribute sets are created once,
// so recording allocates nothing.
type telemetry struct {
	keys      metric.Int64UpDownCounter
	evictions metric.Int64Counter
	flags     metric.Int64Counter
	byType    [numFlagTypes]metric.AddOption
	byReason  map[string]metric.AddOption
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(ScopeName)
	t := &telemetry{byReason: map[string]metric.AddOption{}}
	var err, e error
	t.keys, e = m.Int64UpDownCounter("otelcol_processor_mlxanomaly_keys",
		metric.WithDescription("Detector keys held in memory."), metric.WithUnit("{key}"))
	err = errors.Join(err, e)
	t.evictions, e = m.Int64Counter("otelcol_processor_mlxanomaly_evictions",
		metric.WithDescription("Detector keys dropped, by reason (max_keys, memory_budget, idle, collision)."), metric.WithUnit("{key}"))
	err = errors.Join(err, e)
	t.flags, e = m.Int64Counter("otelcol_processor_mlxanomaly_flags",
		metric.WithDescription("Items flagged as anomalous (onsets), by type."), metric.WithUnit("{item}"))
	err = errors.Join(err, e)
	for i := flagType(1); i < numFlagTypes; i++ {
		t.byType[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("type", i.String())))
	}
	for _, r := range []string{"max_keys", "memory_budget", "idle", "collision"} {
		t.byReason[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return t, err
}

func (t *telemetry) keyAdded() { t.keys.Add(context.Background(), 1) }

func (t *telemetry) evicted(reason string) {
	ctx := context.Background()
	t.keys.Add(ctx, -1)
	t.evictions.Add(ctx, 1, t.byReason[reason])
}

func (t *telemetry) flagged(ft flagType) {
	if ft > 0 && ft < numFlagTypes {
		t.flags.Add(context.Background(), 1, t.byType[ft])
	}
}
