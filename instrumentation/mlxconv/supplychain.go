package mlxconv

// Model supply chain: pickle scanning, the Hugging Face cache, model signatures.

// Attributes of a model load (span and load events).
const (
	// AttrModelScanSeverity is the worst grade of what the model's pickle content imports,
	// as ModelScan grades it: none, low, medium, high, critical. Set when the model holds
	// pickle content (pickle files, object arrays, PyTorch checkpoints).
	AttrModelScanSeverity = "mlx.model.scan.severity"
	// AttrModelScanGlobals lists the imports (module.name), worst first, at most 16.
	AttrModelScanGlobals = "mlx.model.scan.globals"
	// AttrModelSignatureStatus is the outcome of verifying the model's signature (OpenSSF
	// Model Signing v1.0) when the policy requires one.
	AttrModelSignatureStatus = "mlx.model.signature.status"
	// AttrModelSignatureSigner is the signer: "key:<hex SHA-256 of the PEM public key>" or the
	// keyless certificate identity.
	AttrModelSignatureSigner = "mlx.model.signature.signer"
	// AttrModelBlobSHA256 is, on an integrity event for a Hugging Face cache file, the SHA-256
	// its blob is named by (its Git LFS object id).
	AttrModelBlobSHA256 = "mlx.model.blob.sha256"
	// AttrModelFile is the model file an integrity event is about (relative path).
	AttrModelFile = "mlx.model.file"
)

// EventModelSignatureInvalid is emitted (ERROR) when a required signature is not valid.
const EventModelSignatureInvalid = "mlx.model.signature.invalid"

// mlx.model.scan.severity values.
const (
	ScanSeverityNone     = "none"
	ScanSeverityLow      = "low"
	ScanSeverityMedium   = "medium"
	ScanSeverityHigh     = "high"
	ScanSeverityCritical = "critical"
)

// mlx.model.signature.status values.
const (
	SignatureValid     = "valid"
	SignatureInvalid   = "invalid"
	SignatureMissing   = "missing"
	SignatureUntrusted = "untrusted"
)

// mlx.policy.rule values of the supply chain checks.
const (
	// RuleSignatureRequired: the policy requires a valid signature for the model.
	RuleSignatureRequired = "signature.required"
	// RuleDigestHFBlob: a Hugging Face cache file does not hash to its blob name.
	RuleDigestHFBlob = "digest.hf_blob"
)

// ErrorTypeSignatureInvalid is the error.type of a load refused for its signature.
const ErrorTypeSignatureInvalid = "signature_invalid"
