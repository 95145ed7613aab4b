package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import "github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"

// Output attribute names (the data contract's "What mlxanomaly adds").
const (
	AttrScore     = mlxconv.AttrAnomalyScore
	AttrFlag      = mlxconv.AttrAnomalyFlag
	AttrType      = mlxconv.AttrAnomalyType
	AttrKey       = mlxconv.AttrAnomalyKey
	AttrZScore    = mlxconv.AttrAnomalyZScore
	AttrBaseline  = mlxconv.AttrAnomalyBaseline
	AttrTechnique = mlxconv.AttrAnomalyAtlasTechnique
)

type flagType uint8

// Flag types, in the order of the data contract.
const (
	flagNone flagType = iota
	flagLatencyShift
	flagLatencySpike
	flagErrorBurst
	flagNewModelSource
	flagModelDigestChanged
	flagDisallowedFormat
	flagReloadStorm
	flagMemorySpike
	flagTokenSpike
	flagClientFlood
	numFlagTypes
)

var flagNames = [numFlagTypes]string{"", mlxconv.AnomalyLatencyShift, mlxconv.AnomalyLatencySpike,
	mlxconv.AnomalyErrorBurst, mlxconv.AnomalyNewModelSource, mlxconv.AnomalyModelDigestChanged,
	mlxconv.AnomalyDisallowedFormat, mlxconv.AnomalyReloadStorm, mlxconv.AnomalyMemorySpike,
	mlxconv.AnomalyTokenSpike, mlxconv.AnomalyClientFlood}

// MITRE ATLAS techniques: Denial of ML Service (T0029), ML Supply Chain Compromise: Model
// (T0010.003), User Execution: Unsafe ML Artifacts (T0011.000), Cost Harvesting (T0034),
// Exfiltration via ML Inference API: Extract ML Model (T0024.002). Error bursts and reload storms
// disrupt the service, so they carry T0029.
var flagTechniques = [numFlagTypes]string{"", mlxconv.AtlasDenialOfMLService, mlxconv.AtlasDenialOfMLService,
	mlxconv.AtlasDenialOfMLService, mlxconv.AtlasSupplyChainModel, mlxconv.AtlasSupplyChainModel,
	mlxconv.AtlasUnsafeMLArtifacts, mlxconv.AtlasDenialOfMLService, mlxconv.AtlasDenialOfMLService,
	mlxconv.AtlasCostHarvesting, mlxconv.AtlasExtractMLModel}

func (f flagType) String() string {
	if f < numFlagTypes {
		return flagNames[f]
	}
	return ""
}

// FlagTypes lists the flag type names the processor can emit.
func FlagTypes() []string {
	out := make([]string, 0, numFlagTypes-1)
	out = append(out, flagNames[1:]...)
	return out
}

// Technique returns the ATLAS technique of a flag type name, "" for an unknown name.
func Technique(flag string) string {
	for i, n := range flagNames {
		if n == flag && i > 0 {
			return flagTechniques[i]
		}
	}
	return ""
}
