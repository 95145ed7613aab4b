package otelmlx

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Attribute keys of the otel-mlx data contract. The names live in package mlxconv; these are
// typed attribute.Key values of them for the instrumentation's users.
const (
	KeyModelSource     = attribute.Key(mlxconv.AttrModelSource)
	KeyModelSourceKind = attribute.Key(mlxconv.AttrModelSourceKind)
	KeyModelFormat     = attribute.Key(mlxconv.AttrModelFormat)
	KeyModelSHA256     = attribute.Key(mlxconv.AttrModelSHA256)
	KeyModelSize       = attribute.Key(mlxconv.AttrModelSize)
	KeyModelFiles      = attribute.Key(mlxconv.AttrModelFiles)
	KeyPolicyDecision  = attribute.Key(mlxconv.AttrPolicyDecision)
	KeyPolicyRule      = attribute.Key(mlxconv.AttrPolicyRule)
	KeyMemoryActive    = attribute.Key(mlxconv.AttrMemoryActive)
	KeyMemoryPeak      = attribute.Key(mlxconv.AttrMemoryPeak)
	KeyMemoryCache     = attribute.Key(mlxconv.AttrMemoryCache)
	KeyDevice          = attribute.Key(mlxconv.AttrDevice)
	KeyVersion         = attribute.Key(mlxconv.AttrVersion)
	KeyRequestID       = attribute.Key(mlxconv.AttrRequestID)
	KeyInputSize       = attribute.Key(mlxconv.AttrInputSize)
	// KeyModelSwitch is set on the first request a server serves with a model other than the
	// one it served before; its latency is the switch cost.
	KeyModelSwitch = attribute.Key(mlxconv.AttrModelSwitch)
	// KeyModelPrevious is the model served before a switch.
	KeyModelPrevious = attribute.Key(mlxconv.AttrModelPrevious)
	// KeyUsageEstimated is true when output tokens were counted from stream chunks because
	// the server sent no usage.
	KeyUsageEstimated = attribute.Key(mlxconv.AttrUsageEstimated)
	// KeyTimeToFirstChunk is the time to the first streamed chunk, in seconds
	// (gen_ai.response.time_to_first_chunk).
	KeyTimeToFirstChunk = attribute.Key(mlxconv.AttrGenAIResponseTimeToFirstChunk)
	// KeyTimeToFirstToken is the name releases before the contract package used for the time
	// to first chunk (a GenAI metric name, not a span attribute).
	//
	// Deprecated: spans carry KeyTimeToFirstChunk; this key is no longer recorded.
	KeyTimeToFirstToken = attribute.Key(mlxconv.AttrGenAIServerTimeToFirstToken)
	// KeyFormatDetail says what the format sniffer found (version, tensor count, fault).
	KeyFormatDetail = attribute.Key(mlxconv.AttrModelFormatDetail)
	// KeyModelUnsafe is true when a model file can run code when loaded (pickle, object arrays).
	KeyModelUnsafe = attribute.Key(mlxconv.AttrModelUnsafe)
	// KeyExpectedSHA256 is the pinned digest on an integrity mismatch.
	KeyExpectedSHA256 = attribute.Key(mlxconv.AttrModelSHA256Expected)
	// Opt-in content capture.
	KeyInputMessages  = attribute.Key(mlxconv.AttrGenAIInputMessages)
	KeyOutputMessages = attribute.Key(mlxconv.AttrGenAIOutputMessages)
)

// Keys from the GenAI and general semantic conventions (semconv v1.41.0, through mlxconv).
var (
	keyOperation     = attribute.Key(mlxconv.AttrGenAIOperationName)
	keyProvider      = attribute.Key(mlxconv.AttrGenAIProviderName)
	keyRequestModel  = attribute.Key(mlxconv.AttrGenAIRequestModel)
	keyResponseModel = attribute.Key(mlxconv.AttrGenAIResponseModel)
	keyMaxTokens     = attribute.Key(mlxconv.AttrGenAIRequestMaxTokens)
	keyInputTokens   = attribute.Key(mlxconv.AttrGenAIUsageInputTokens)
	keyOutputTokens  = attribute.Key(mlxconv.AttrGenAIUsageOutputTokens)
	keyFinishReasons = attribute.Key(mlxconv.AttrGenAIResponseFinishReasons)
	keyResponseID    = attribute.Key(mlxconv.AttrGenAIResponseID)
	keyTokenType     = attribute.Key(mlxconv.AttrGenAITokenType)
	keyErrorType     = attribute.Key(mlxconv.AttrErrorType)
	keyPseudoID      = attribute.Key(mlxconv.AttrEnduserPseudoID)
	keyClientAddress = attribute.Key(mlxconv.AttrClientAddress)

	providerMLX = keyProvider.String(mlxconv.ProviderMLX)
)

// Operation names (gen_ai.operation.name).
const (
	OperationChat           = mlxconv.OperationChat
	OperationTextCompletion = mlxconv.OperationTextCompletion
	OperationGenerate       = mlxconv.OperationGenerateContent
	OperationEmbeddings     = mlxconv.OperationEmbeddings
	OperationPredict        = mlxconv.OperationPredict
	OperationLoadModel      = mlxconv.OperationLoadModel
)

// Event names (LogRecord EventName) of the data contract.
const (
	EventLoadSucceeded      = mlxconv.EventModelLoadSucceeded
	EventLoadFailed         = mlxconv.EventModelLoadFailed
	EventPolicyDenied       = mlxconv.EventModelPolicyDenied
	EventIntegrityMismatch  = mlxconv.EventModelIntegrityMismatch
	EventInferenceCompleted = mlxconv.EventInferenceCompleted
	EventInferenceFailed    = mlxconv.EventInferenceFailed
	EventInferenceRejected  = mlxconv.EventInferenceRejected
	EventResourceExhausted  = mlxconv.EventResourceExhausted
)
