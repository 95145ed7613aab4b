package mlxconv

// The evidence an mlxanomaly flag carries, where its detector has it, so that an analyst (and
// a finding built from the flag) sees why it fired.
const (
	// AttrAnomalyObserved is the value judged, in the baseline's unit (double).
	AttrAnomalyObserved = "mlxanomaly.observed"
	// AttrAnomalyPValue is the tail probability of the observed value under the key's law
	// (double; client_flood).
	AttrAnomalyPValue = "mlxanomaly.p_value"
)
