package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

import "github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"

// Contract names the connector reads and writes (docs/DATA-CONTRACT.md, "Findings"), from the
// contract package where it has them.
const (
	// EventName is the EventName of every finding log record.
	EventName = mlxconv.EventAnomalyDetected
	// AttrItem names what fired: the span name or the event name of the flagged item.
	AttrItem = mlxconv.AttrFindingItem

	attrFlag      = mlxconv.AttrAnomalyFlag
	attrType      = mlxconv.AttrAnomalyType
	attrKey       = mlxconv.AttrAnomalyKey
	attrScore     = mlxconv.AttrAnomalyScore
	attrBaseline  = mlxconv.AttrAnomalyBaseline
	attrZScore    = mlxconv.AttrAnomalyZScore
	attrTechnique = mlxconv.AttrAnomalyAtlasTechnique
	attrObserved  = mlxconv.AttrAnomalyObserved
	attrPValue    = mlxconv.AttrAnomalyPValue

	attrService = "service.name" // a resource attribute, outside the MLX contract
	attrModel   = mlxconv.AttrGenAIRequestModel
	attrCaller  = mlxconv.AttrEnduserPseudoID
	attrClient  = mlxconv.AttrClientAddress
	attrDigest  = mlxconv.AttrModelSHA256
	attrSource  = mlxconv.AttrModelSource
)

// copied are the attributes a finding takes from the flagged item when present, in this
// order. service.name comes from the item's resource (copied whole to the finding's resource)
// and is also set as an attribute, so a SIEM that drops resources still has it.
var copied = []string{attrType, attrKey, attrModel, attrCaller, attrObserved, attrBaseline, attrZScore,
	attrPValue, attrScore, attrTechnique, attrDigest, attrSource, attrClient}
