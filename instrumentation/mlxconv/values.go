package mlxconv

// gen_ai.operation.name values (semconv's, plus load_model and predict of otel-mlx).
const (
	OperationChat            = "chat"
	OperationTextCompletion  = "text_completion"
	OperationGenerateContent = "generate_content"
	OperationEmbeddings      = "embeddings"
	// OperationPredict is the operation of non-generative models.
	OperationPredict = "predict"
	// OperationLoadModel is the operation of a model load.
	OperationLoadModel = "load_model"
)

// ProviderMLX is the gen_ai.provider.name of every MLX span.
const ProviderMLX = "mlx"

// gen_ai.token.type values.
const (
	TokenTypeInput  = "input"
	TokenTypeOutput = "output"
)

// ModelOther is the gen_ai.request.model of metrics past the model-name cardinality limit.
const ModelOther = "_OTHER"

// mlx.model.format values, sniffed from content.
const (
	FormatSafetensors = "safetensors"
	FormatGGUF        = "gguf"
	FormatNPZ         = "npz"
	FormatNPY         = "npy"
	FormatPickle      = "pickle"
	FormatUnknown     = "unknown"
)

// mlx.model.source.kind values.
const (
	SourceKindLocal = "local"
	SourceKindHF    = "hf"
	SourceKindHTTPS = "https"
	SourceKindS3    = "s3"
	SourceKindOther = "other"
)

// mlx.policy.decision values.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
	// DecisionAudit: an audit-mode policy would have denied the load; it proceeded.
	DecisionAudit = "audit"
)

// mlx.policy.rule values: the rule that decided a load.
const (
	RuleDefault         = "default"
	RuleAllowlist       = "allowlist"
	RuleSourceAllowlist = "source.allowlist"
	RuleFormatAllowlist = "format.allowlist"
	RuleFormatUnsafe    = "format.unsafe"
	RuleFormatMalformed = "format.malformed"
	RuleDigestPinned    = "digest.pinned"
)

// mlx.device values.
const (
	DeviceCPU = "cpu"
	DeviceGPU = "gpu"
)

// error.type values of otel-mlx, chosen before the Go type of the error.
const (
	ErrorTypeContextCanceled   = "context_canceled"
	ErrorTypeTimeout           = "timeout"
	ErrorTypePolicyDenied      = "policy_denied"
	ErrorTypeIntegrityMismatch = "integrity_mismatch"
	ErrorTypeRejected          = "rejected"
	ErrorTypeResourceExhausted = "resource_exhausted"
	ErrorTypePanic             = "panic"
	// ErrorTypeStreamTruncated: an HTTP stream ended before its terminator.
	ErrorTypeStreamTruncated = "stream_truncated"
	// ErrorTypeServerError: an error object inside a 200 stream.
	ErrorTypeServerError = "server_error"
)
