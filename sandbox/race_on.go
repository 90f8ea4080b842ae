//go:build race

package sandbox

// raceEnabled: this binary runs under the race detector, whose shadow
// memory is mapped as the heap grows, several times the heap's size, in
// the data segment: RLIMIT_DATA would count it (see MemoryGuard).
const raceEnabled = true
