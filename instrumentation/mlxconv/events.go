package mlxconv

// Security event names (the LogRecord EventName).
const (
	EventModelLoadSucceeded     = "mlx.model.load.succeeded"
	EventModelLoadFailed        = "mlx.model.load.failed"
	EventModelPolicyDenied      = "mlx.model.policy.denied"
	EventModelIntegrityMismatch = "mlx.model.integrity.mismatch"
	EventInferenceCompleted     = "mlx.inference.completed"
	EventInferenceFailed        = "mlx.inference.failed"
	EventInferenceRejected      = "mlx.inference.rejected"
	EventResourceExhausted      = "mlx.resource.exhausted"
)
