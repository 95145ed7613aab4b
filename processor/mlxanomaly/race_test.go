//go:build race

package mlxanomaly

const raceEnabled = true
