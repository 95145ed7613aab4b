package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"context"
	"encoding/binary"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Attribute names read from the data contract.
const (
	attrService   = string(semconv.ServiceNameKey)
	attrOperation = mlxconv.AttrGenAIOperationName
	attrProvider  = mlxconv.AttrGenAIProviderName
	attrModel     = mlxconv.AttrGenAIRequestModel
	attrSource    = mlxconv.AttrModelSource
	attrDigest    = mlxconv.AttrModelSHA256
	attrFormat    = mlxconv.AttrModelFormat
	attrDecision  = mlxconv.AttrPolicyDecision
	attrMemActive = mlxconv.AttrMemoryActive
	attrMemPeak   = mlxconv.AttrMemoryPeak
	attrInTokens  = mlxconv.AttrGenAIUsageInputTokens
	attrOutTokens = mlxconv.AttrGenAIUsageOutputTokens
	attrUser      = mlxconv.AttrEnduserPseudoID
	attrErrorType = mlxconv.AttrErrorType
	attrTTFC      = mlxconv.AttrGenAIResponseTimeToFirstChunk
	// attrTTFTOld is the name earlier releases recorded time to first chunk under;
	// read for one release so older instrumentation keeps its detector. Remove after it.
	attrTTFTOld = mlxconv.AttrGenAIServerTimeToFirstToken
	opLoadModel = mlxconv.OperationLoadModel
	// eventPrefix is the prefix every event name of the contract shares.
	eventPrefix    = "mlx."
	evLoadOK       = mlxconv.EventModelLoadSucceeded
	evLoadFailed   = mlxconv.EventModelLoadFailed
	evDenied       = mlxconv.EventModelPolicyDenied
	evIntegrity    = mlxconv.EventModelIntegrityMismatch
	evInferOK      = mlxconv.EventInferenceCompleted
	evInferFailed  = mlxconv.EventInferenceFailed
	evInferReject  = mlxconv.EventInferenceRejected
	evExhausted    = mlxconv.EventResourceExhausted
	unknownService = "unknown_service"
)

// anomalyProcessor is one traces or logs processor; both share the engine of their component.
type anomalyProcessor struct {
	e *engine
}

// numeric reads an int or double attribute; other types are absent.
func numeric(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	}
	return 0, false
}

// str reads a string attribute; other types are absent.
func str(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// readAttrs fills o from one attribute map in a single pass. It reports whether the map had
// any attribute of the MLX data contract.
func (p *anomalyProcessor) readAttrs(m pcommon.Map, o *obs) bool {
	mlx := false
	var peak, active float64
	hasPeak, hasActive := false, false
	for k, v := range m.All() {
		switch k {
		case attrOperation:
			o.op, mlx = str(v), true
		case attrProvider:
			mlx = true
		case attrModel:
			o.model, mlx = str(v), true
		case attrSource:
			o.source = str(v)
		case attrDigest:
			o.digest = str(v)
		case attrFormat:
			o.format = str(v)
		case attrDecision:
			o.decision = str(v)
		case attrMemPeak:
			peak, hasPeak = numeric(v)
		case attrMemActive:
			active, hasActive = numeric(v)
		case attrInTokens:
			if x, ok := numeric(v); ok {
				o.inTok = x
			}
		case attrOutTokens:
			if x, ok := numeric(v); ok {
				o.outTok = x
			}
		case attrUser:
			o.user = str(v)
		case attrErrorType:
			if v.Type() != pcommon.ValueTypeEmpty {
				o.isErr = true
			}
		case attrTTFC, attrTTFTOld:
			if x, ok := numeric(v); ok {
				o.ttft = x
			}
		default:
			if strings.HasPrefix(k, eventPrefix) {
				mlx = true
			}
			for i, name := range p.e.cfg.KeyAttributes {
				if k == name {
					o.extra[i] = v.AsString()
					o.hsSet = false // the item's own value changes its service key
				}
			}
		}
	}
	switch {
	case hasPeak:
		o.mem = peak
	case hasActive:
		o.mem = active
	}
	return mlx
}

func resourceObs(p *anomalyProcessor, res pcommon.Resource) obs {
	o := newObs()
	o.service = unknownService
	if v, ok := res.Attributes().Get(attrService); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		o.service = v.Str()
	}
	for i, name := range p.e.cfg.KeyAttributes {
		if v, ok := res.Attributes().Get(name); ok {
			o.extra[i] = v.AsString()
		}
	}
	o.hs, o.hsSet = p.e.serviceHash(&o), true
	return o
}

func spanID(id [8]byte) uint64 { return binary.BigEndian.Uint64(id[:]) }

// processTraces scores every MLX span and adds the mlxanomaly attributes.
func (p *anomalyProcessor) processTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	e := p.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		base := resourceObs(p, rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				o := base
				if !p.readAttrs(sp.Attributes(), &o) {
					continue
				}
				if o.op == "" {
					o.op = opFromName(sp.Name())
				}
				if o.model == "" {
					o.model = modelFromName(sp.Name())
				}
				start, end := int64(sp.StartTimestamp()), int64(sp.EndTimestamp())
				o.t = end
				if end <= 0 {
					o.t = start
				}
				if start > 0 && end > start {
					o.dur = float64(end-start) / 1e9
				}
				if sp.Status().Code() == ptrace.StatusCodeError {
					o.isErr = true
				}
				o.isLoad = o.op == opLoadModel
				o.isInfer = !o.isLoad && o.op != ""
				o.spanID = spanID(sp.SpanID())
				var v verdict
				e.observe(&o, srcTraces, &v)
				p.write(sp.Attributes(), &o, &v)
			}
		}
	}
	return td, nil
}

// processLogs scores every MLX security event and adds the mlxanomaly attributes.
func (p *anomalyProcessor) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	e := p.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		base := resourceObs(p, rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				name := lr.EventName()
				if !strings.HasPrefix(name, eventPrefix) {
					continue
				}
				o := base
				p.readAttrs(lr.Attributes(), &o)
				o.t = int64(lr.Timestamp())
				if o.t <= 0 {
					o.t = int64(lr.ObservedTimestamp())
				}
				o.spanID = spanID(lr.SpanID())
				switch name {
				case evLoadOK:
					o.isLoad = true
				case evLoadFailed:
					o.isLoad, o.isErr = true, true
				case evDenied:
					o.denied = true
				case evIntegrity:
					o.integrityFailed = true
				case evInferOK:
					o.isInfer = true
				case evInferFailed, evInferReject, evExhausted:
					o.isInfer, o.isErr = true, true
				}
				if o.isLoad {
					o.op = opLoadModel
				} else if o.isInfer && o.op == "" {
					o.op = "inference"
				}
				var v verdict
				e.observe(&o, srcLogs, &v)
				p.write(lr.Attributes(), &o, &v)
			}
		}
	}
	return ld, nil
}

// opFromName and modelFromName read the span name `{op} {model}` when the attributes are missing.
func opFromName(n string) string {
	if i := strings.IndexByte(n, ' '); i > 0 {
		return n[:i]
	}
	return ""
}

func modelFromName(n string) string {
	if i := strings.IndexByte(n, ' '); i > 0 {
		return n[i+1:]
	}
	return ""
}

func (p *anomalyProcessor) write(m pcommon.Map, o *obs, v *verdict) {
	m.PutDouble(AttrScore, clamp01(v.score))
	if v.flag == flagNone {
		return
	}
	m.PutBool(AttrFlag, true)
	m.PutStr(AttrType, v.flag.String())
	m.PutStr(AttrKey, p.e.keyString(v.keyKind, o))
	if v.hasZ {
		b := v.baseline
		if v.logBase {
			b = math.Exp(b)
		}
		m.PutDouble(AttrZScore, finite(v.z))
		m.PutDouble(AttrBaseline, finite(b))
	}
	m.PutStr(AttrTechnique, flagTechniques[v.flag])
}

func clamp01(x float64) float64 {
	switch {
	case !(x >= 0):
		return 0
	case x > 1:
		return 1
	}
	return x
}

func finite(x float64) float64 {
	if x != x || x > 1e300 || x < -1e300 {
		return 0
	}
	return x
}
