package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

// Output attribute names (the data contract's "What mlxanomaly adds").
const (
	AttrScore     = "mlxanomaly.score"
	AttrFlag      = "mlxanomaly.flag"
	AttrType      = "mlxanomaly.type"
	AttrKey       = "mlxanomaly.key"
	AttrZScore    = "mlxanomaly.zscore"
	AttrBaseline  = "mlxanomaly.baseline"
	AttrObserved  = "mlxanomaly.observed"
	AttrPValue    = "mlxanomaly.p_value"
	AttrTechnique = "mlxanomaly.atlas.technique"
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

var flagNames = [numFlagTypes]string{"", "latency_shift", "latency_spike", "error_burst", "new_model_source",
	"model_digest_changed", "disallowed_format", "reload_storm", "memory_spike", "token_spike", "client_flood"}

// MITRE ATLAS techniques: Denial of ML Service (T0029), ML Supply Chain Compromise: Model
// (T0010.003), User Execution: Unsafe ML Artifacts (T0011.000), Cost Harvesting (T0034),
// Exfiltration via ML Inference API: Extract ML Model (T0024.002). Error bursts and reload storms
// disrupt the service, so they carry T0029.
var flagTechniques = [numFlagTypes]string{"", "AML.T0029", "AML.T0029", "AML.T0029", "AML.T0010.003",
	"AML.T0010.003", "AML.T0011.000", "AML.T0029", "AML.T0029", "AML.T0034", "AML.T0024.002"}

func (f flagType) String() string {
	if f < numFlagTypes {
		return flagNames[f]
	}
	return ""
}

// FlagTypes lists the flag type names the processor can emit.
func FlagTypes() []string {
	out := make([]string, 0, numFlagTypes-1)
	for _, n := range flagNames[1:] {
		out = append(out, n)
	}
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
