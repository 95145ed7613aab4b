package mlxconv

// Findings: the log records the mlxfinding connector makes from mlxanomaly onsets.
const (
	// EventAnomalyDetected is the EventName of a finding, one per flagged onset.
	EventAnomalyDetected = "mlx.anomaly.detected"
	// AttrFindingItem is the span name or event name of the flagged item a finding is about.
	AttrFindingItem = "mlx.finding.item"
)
