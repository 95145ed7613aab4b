package mlxconv

import semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

// Attribute keys that semantic conventions define (semconv v1.41.0).
const (
	AttrGenAIOperationName            = string(semconv.GenAIOperationNameKey)
	AttrGenAIProviderName             = string(semconv.GenAIProviderNameKey)
	AttrGenAIRequestModel             = string(semconv.GenAIRequestModelKey)
	AttrGenAIResponseModel            = string(semconv.GenAIResponseModelKey)
	AttrGenAIRequestMaxTokens         = string(semconv.GenAIRequestMaxTokensKey)
	AttrGenAIUsageInputTokens         = string(semconv.GenAIUsageInputTokensKey)
	AttrGenAIUsageOutputTokens        = string(semconv.GenAIUsageOutputTokensKey)
	AttrGenAIResponseFinishReasons    = string(semconv.GenAIResponseFinishReasonsKey)
	AttrGenAIResponseID               = string(semconv.GenAIResponseIDKey)
	AttrGenAIResponseTimeToFirstChunk = string(semconv.GenAIResponseTimeToFirstChunkKey)
	AttrGenAITokenType                = string(semconv.GenAITokenTypeKey)
	AttrGenAIInputMessages            = string(semconv.GenAIInputMessagesKey)
	AttrGenAIOutputMessages           = string(semconv.GenAIOutputMessagesKey)
	AttrErrorType                     = string(semconv.ErrorTypeKey)
	AttrEnduserPseudoID               = string(semconv.EnduserPseudoIDKey)
	AttrClientAddress                 = string(semconv.ClientAddressKey)
	AttrServerAddress                 = string(semconv.ServerAddressKey)
	AttrServerPort                    = string(semconv.ServerPortKey)
)

// AttrGenAIServerTimeToFirstToken is the name under which releases before the contract
// package recorded time to first token on spans. It is a GenAI metric name, not a span
// attribute; the processor still reads it for one release. Deprecated: use
// AttrGenAIResponseTimeToFirstChunk.
const AttrGenAIServerTimeToFirstToken = "gen_ai.server.time_to_first_token"

// Attribute keys of otel-mlx (semantic conventions define none for these).
const (
	AttrModelSource     = "mlx.model.source"
	AttrModelSourceKind = "mlx.model.source.kind"
	AttrModelFormat     = "mlx.model.format"
	// AttrModelFormatDetail says what the format sniffer found (version, tensor count, fault).
	AttrModelFormatDetail = "mlx.model.format.detail"
	// AttrModelUnsafe is true when a model file can run code when loaded.
	AttrModelUnsafe = "mlx.model.unsafe"
	AttrModelSHA256 = "mlx.model.sha256"
	// AttrModelSHA256Expected is the pinned digest on an integrity mismatch.
	AttrModelSHA256Expected = "mlx.model.sha256.expected"
	AttrModelSize           = "mlx.model.size"
	AttrModelFiles          = "mlx.model.files"
	AttrPolicyDecision      = "mlx.policy.decision"
	AttrPolicyRule          = "mlx.policy.rule"
	AttrMemoryActive        = "mlx.memory.active"
	AttrMemoryPeak          = "mlx.memory.peak"
	AttrMemoryCache         = "mlx.memory.cache"
	AttrDevice              = "mlx.device"
	AttrVersion             = "mlx.version"
	AttrRequestID           = "mlx.request.id"
	AttrInputSize           = "mlx.input.size"
	// AttrUsageEstimated is true when output tokens were counted from stream chunks because
	// the server sent no usage.
	AttrUsageEstimated = "mlx.usage.estimated"
	// AttrModelSwitch is set on the first request a server serves with another model than
	// the one it served before; its latency is the switch cost.
	AttrModelSwitch = "mlx.model.switch"
	// AttrModelPrevious is the model served before a switch.
	AttrModelPrevious = "mlx.model.previous"
)
