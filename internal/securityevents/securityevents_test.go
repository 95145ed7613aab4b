package securityevents

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// TestGenerate: the instrumentation records each security event the rules and alerts need,
// with the contract's attributes, on the service's resource, timed from at one second apart.
func TestGenerate(t *testing.T) {
	at := time.Date(2026, 3, 3, 0, 1, 0, 0, time.UTC)
	ld, err := Generate(context.Background(), at, 3)
	require.NoError(t, err)
	require.Equal(t, 1, ld.ResourceLogs().Len())
	svc, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, Service, svc.Str())
	counts := map[string]int{}
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		counts[lr.EventName()]++
		assert.Equal(t, at.Add(time.Duration(i)*time.Second), lr.Timestamp().AsTime().UTC(), "record %d", i)
		attr := func(k string) string { v, _ := lr.Attributes().Get(k); return v.AsString() }
		switch lr.EventName() {
		case mlxconv.EventModelPolicyDenied:
			assert.Equal(t, mlxconv.RuleSourceAllowlist, attr(mlxconv.AttrPolicyRule))
			assert.Equal(t, mlxconv.DecisionDeny, attr(mlxconv.AttrPolicyDecision))
		case mlxconv.EventModelLoadSucceeded:
			assert.Equal(t, "pickle", attr(mlxconv.AttrModelFormat))
			assert.Equal(t, "true", attr(mlxconv.AttrModelUnsafe))
		case mlxconv.EventModelIntegrityMismatch:
			assert.Equal(t, "llama-pinned", attr(mlxconv.AttrGenAIRequestModel))
			assert.Len(t, attr(mlxconv.AttrModelSHA256), 64)
		case mlxconv.EventResourceExhausted:
			assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
			assert.False(t, lr.TraceID().IsEmpty(), "linked to the inference span")
		}
	}
	assert.Equal(t, 1, counts[mlxconv.EventModelIntegrityMismatch], counts)
	assert.Equal(t, 1, counts[mlxconv.EventModelPolicyDenied], counts)
	assert.Equal(t, 1, counts[mlxconv.EventModelLoadSucceeded], counts)
	assert.Equal(t, 3, counts[mlxconv.EventResourceExhausted], counts)
	assert.Equal(t, 3, counts[mlxconv.EventInferenceFailed], counts)
}
