package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

// Contract names the connector reads and writes (docs/DATA-CONTRACT.md, "Findings"). They move
// to instrumentation/mlxconv/finding.go once the contract package exists.
const (
	// EventName is the EventName of every finding log record.
	EventName = "mlx.anomaly.detected"

	attrFlag      = "mlxanomaly.flag"
	attrType      = "mlxanomaly.type"
	attrKey       = "mlxanomaly.key"
	attrScore     = "mlxanomaly.score"
	attrObserved  = "mlxanomaly.observed"
	attrBaseline  = "mlxanomaly.baseline"
	attrZScore    = "mlxanomaly.zscore"
	attrPValue    = "mlxanomaly.p_value"
	attrTechnique = "mlxanomaly.atlas.technique"

	attrService = "service.name"
	attrModel   = "gen_ai.request.model"
	attrCaller  = "enduser.pseudo.id"
	attrDigest  = "mlx.model.sha256"
	attrSource  = "mlx.model.source"
	attrClient  = "client.address"

	// AttrItem names what fired: the span name or the event name of the flagged item.
	AttrItem = "mlx.finding.item"
)

// copied are the attributes a finding takes from the flagged item when present, in this
// order. service.name comes from the item's resource (copied whole to the finding's resource)
// and is also set as an attribute, so a SIEM that drops resources still has it.
var copied = []string{attrType, attrKey, attrModel, attrCaller, attrObserved, attrBaseline, attrZScore,
	attrPValue, attrScore, attrTechnique, attrDigest, attrSource, attrClient}
