//go:build !race

package main

// raceEnabled says the test binary runs under the race detector, whose
// shadow memory counts against an address-space limit (ulimit -v).
const raceEnabled = false
