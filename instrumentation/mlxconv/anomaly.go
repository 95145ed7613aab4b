package mlxconv

// Attributes that the mlxanomaly processor adds.
const (
	AttrAnomalyScore          = "mlxanomaly.score"
	AttrAnomalyFlag           = "mlxanomaly.flag"
	AttrAnomalyType           = "mlxanomaly.type"
	AttrAnomalyKey            = "mlxanomaly.key"
	AttrAnomalyZScore         = "mlxanomaly.zscore"
	AttrAnomalyBaseline       = "mlxanomaly.baseline"
	AttrAnomalyAtlasTechnique = "mlxanomaly.atlas.technique"
)

// mlxanomaly.type values.
const (
	AnomalyLatencyShift       = "latency_shift"
	AnomalyLatencySpike       = "latency_spike"
	AnomalyErrorBurst         = "error_burst"
	AnomalyNewModelSource     = "new_model_source"
	AnomalyModelDigestChanged = "model_digest_changed"
	AnomalyDisallowedFormat   = "disallowed_format"
	AnomalyReloadStorm        = "reload_storm"
	AnomalyMemorySpike        = "memory_spike"
	AnomalyTokenSpike         = "token_spike"
	AnomalyClientFlood        = "client_flood"
)

// MITRE ATLAS technique ids (mlxanomaly.atlas.technique values).
const (
	// AtlasDenialOfMLService is AML.T0029, Denial of ML Service.
	AtlasDenialOfMLService = "AML.T0029"
	// AtlasSupplyChainModel is AML.T0010.003, ML Supply Chain Compromise: Model.
	AtlasSupplyChainModel = "AML.T0010.003"
	// AtlasUnsafeMLArtifacts is AML.T0011.000, User Execution: Unsafe ML Artifacts.
	AtlasUnsafeMLArtifacts = "AML.T0011.000"
	// AtlasCostHarvesting is AML.T0034, Cost Harvesting.
	AtlasCostHarvesting = "AML.T0034"
	// AtlasExtractMLModel is AML.T0024.002, Exfiltration via ML Inference API: Extract ML Model.
	AtlasExtractMLModel = "AML.T0024.002"
)
