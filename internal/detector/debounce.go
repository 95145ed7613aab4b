package detector

// Debounce lets one onset through per cool-down: at least a cool-down of event time and a number
// of observations of the key must pass after an onset before the next one.
type Debounce struct {
	last  int64
	since uint32
	set   bool
}

// Tick counts one observation of the key; call it for every observation, flagged or not.
func (d *Debounce) Tick() {
	if d.since < ^uint32(0) {
		d.since++
	}
}

// Ready reports whether a detection at event time t would be a new onset, without recording it.
func (d *Debounce) Ready(t, cooldown int64, cooldownObs int) bool {
	if !d.set {
		return true
	}
	// |dt| so that a timestamp far out of order cannot silence the key for long.
	if dt := t - d.last; dt < cooldown && dt > -cooldown {
		return false
	}
	return int64(d.since) >= int64(cooldownObs)
}

// Mark records an onset at event time t.
func (d *Debounce) Mark(t int64) { d.last, d.since, d.set = t, 0, true }

// Onset reports whether a detection at event time t is a new onset, and records it if so.
func (d *Debounce) Onset(t, cooldown int64, cooldownObs int) bool {
	if !d.Ready(t, cooldown, cooldownObs) {
		return false
	}
	d.Mark(t)
	return true
}
