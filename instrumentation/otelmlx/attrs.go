package otelmlx

import (
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Attribute keys of the otel-mlx data contract that semantic conventions do not define.
const (
	KeyModelSource     = attribute.Key("mlx.model.source")
	KeyModelSourceKind = attribute.Key("mlx.model.source.kind")
	KeyModelFormat     = attribute.Key("mlx.model.format")
	KeyModelSHA256     = attribute.Key("mlx.model.sha256")
	KeyModelSize       = attribute.Key("mlx.model.size")
	KeyModelFiles      = attribute.Key("mlx.model.files")
	KeyPolicyDecision  = attribute.Key("mlx.policy.decision")
	KeyPolicyRule      = attribute.Key("mlx.policy.rule")
	KeyMemoryActive    = attribute.Key("mlx.memory.active")
	KeyMemoryPeak      = attribute.Key("mlx.memory.peak")
	KeyMemoryCache     = attribute.Key("mlx.memory.cache")
	KeyDevice          = attribute.Key("mlx.device")
	KeyVersion         = attribute.Key("mlx.version")
	KeyRequestID       = attribute.Key("mlx.request.id")
	KeyInputSize       = attribute.Key("mlx.input.size")
	// KeyModelSwitch is set on the first request a server serves with a model other than the
	// one it served before; its latency is the switch cost.
	KeyModelSwitch = attribute.Key("mlx.model.switch")
	// KeyModelPrevious is the model served before a switch.
	KeyModelPrevious = attribute.Key("mlx.model.previous")
	// KeyUsageEstimated is true when output tokens were counted from stream chunks because
	// the server sent no usage.
	KeyUsageEstimated = attribute.Key("mlx.usage.estimated")
	// KeyTimeToFirstToken is the time to the first streamed token, in seconds.
	KeyTimeToFirstToken = attribute.Key("gen_ai.server.time_to_first_token")
	// KeyFormatDetail says what the format sniffer found (version, tensor count, fault).
	KeyFormatDetail = attribute.Key("mlx.model.format.detail")
	// KeyModelUnsafe is true when a model file can run code when loaded (pickle, object arrays).
	KeyModelUnsafe = attribute.Key("mlx.model.unsafe")
	// KeyExpectedSHA256 is the pinned digest on an integrity mismatch.
	KeyExpectedSHA256 = attribute.Key("mlx.model.sha256.expected")
	// Opt-in content capture.
	KeyInputMessages  = attribute.Key("gen_ai.input.messages")
	KeyOutputMessages = attribute.Key("gen_ai.output.messages")
)

// Keys from the GenAI and general semantic conventions (semconv v1.41.0).
var (
	keyOperation     = semconv.GenAIOperationNameKey
	keyProvider      = semconv.GenAIProviderNameKey
	keyRequestModel  = semconv.GenAIRequestModelKey
	keyResponseModel = semconv.GenAIResponseModelKey
	keyMaxTokens     = semconv.GenAIRequestMaxTokensKey
	keyInputTokens   = semconv.GenAIUsageInputTokensKey
	keyOutputTokens  = semconv.GenAIUsageOutputTokensKey
	keyFinishReasons = semconv.GenAIResponseFinishReasonsKey
	keyResponseID    = semconv.GenAIResponseIDKey
	keyTokenType     = semconv.GenAITokenTypeKey
	keyErrorType     = semconv.ErrorTypeKey
	keyPseudoID      = semconv.EnduserPseudoIDKey
	keyClientAddress = semconv.ClientAddressKey

	providerMLX = keyProvider.String("mlx")
)

// Operation names (gen_ai.operation.name).
const (
	OperationChat           = "chat"
	OperationTextCompletion = "text_completion"
	OperationGenerate       = "generate_content"
	OperationEmbeddings     = "embeddings"
	OperationPredict        = "predict"
	OperationLoadModel      = "load_model"
)

// Event names (LogRecord EventName) of the data contract.
const (
	EventLoadSucceeded      = "mlx.model.load.succeeded"
	EventLoadFailed         = "mlx.model.load.failed"
	EventPolicyDenied       = "mlx.model.policy.denied"
	EventIntegrityMismatch  = "mlx.model.integrity.mismatch"
	EventInferenceCompleted = "mlx.inference.completed"
	EventInferenceFailed    = "mlx.inference.failed"
	EventInferenceRejected  = "mlx.inference.rejected"
	EventResourceExhausted  = "mlx.resource.exhausted"
)
