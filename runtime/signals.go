// Signals: SIGTERM that waits for critical sections, SIGINT for the root.

package runtime

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// A child dies by SIGTERM as Python's does (its parent sees exit code
// -15), but never in the middle of a critical section: while the arena's
// allocator, the output lock or a queue's commit is half-way through.
//
// The hand-off, with Go's sequentially consistent atomics: Enter adds to
// depth and then looks at pending; the handler sets pending and then
// looks at depth. Either the handler sees depth > 0 (and Leave, which
// sees pending, dies at the end of the section) or Enter sees pending (and
// dies before the section starts). Both may die; dying is idempotent.

var (
	critDepth   atomic.Int32
	termPending atomic.Bool
)

// EnterCritical marks the start of a section that termination must not
// cut in two. Sections may nest. Only call it from one goroutine at a
// time per section, and keep sections short: termination waits for them.
func EnterCritical() {
	critDepth.Add(1)
	if termPending.Load() {
		critDepth.Add(-1)
		dieByTerm()
	}
}

// LeaveCritical ends a section begun by EnterCritical.
func LeaveCritical() {
	if critDepth.Add(-1) == 0 && termPending.Load() {
		dieByTerm()
	}
}

// DeferTermination makes SIGTERM wait for critical sections, in a child.
func DeferTermination() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		termPending.Store(true)
		if critDepth.Load() == 0 {
			dieByTerm()
		}
	}()
}

// dieByTerm ends the process by SIGTERM with the default action, so the
// parent sees it killed by that signal.
func dieByTerm() {
	signal.Reset(syscall.SIGTERM)
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {}
}

// IgnoreInterrupts makes SIGINT do nothing: children leave Ctrl-C to the
// root, which ends them.
func IgnoreInterrupts() { signal.Ignore(os.Interrupt) }
