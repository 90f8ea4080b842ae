//go:build !race

package sandbox

// raceEnabled: this binary runs under the race detector (race_on.go).
const raceEnabled = false
