// Signals: SIGTERM that waits for critical sections and ends the
// children too, SIGINT for the root.

package runtime

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A child dies by SIGTERM as Python's does (its parent sees exit code
// -15), but never in the middle of a critical section: while the arena's
// allocator, the output lock or a queue's commit is half-way through, in
// any of its goroutines (the Lua goroutine may be in print while a queue's
// feeder commits a put). Before it dies it ends its own children, so that
// terminating a process ends its whole subtree.
//
// One word holds the whole state: the number of open sections, and a bit
// saying that termination is pending. Every change is one atomic
// operation on it, so every party sees the same history:
//
//   - the handler sets the bit (an atomic Or) and learns how many
//     sections were open at that instant;
//   - EnterCritical adds one with a compare-and-swap, which it refuses to
//     do from the state "pending, no section open";
//   - LeaveCritical subtracts one and learns what is left.
//
// The state "pending, no section open" is reached exactly once: by the
// handler, if no section was open when the signal came, or else by the
// LeaveCritical that closes the last section. That one party ends the
// process (die). Nothing leaves that state, since an enter from it is
// refused: a goroutine that tries blocks until the process is gone. While
// a section is open, a goroutine may still enter one (sections nest, and
// a goroutine must not wait for another's section to end while that one
// waits for it); the process then dies when the last one closes.
//
// A section that waits (for the output lock, for a full pipe) would defer
// termination for as long as it waits: such waits watch TermContext and
// give up when termination is pending.
//
// SIGTERM also goes on to the children at once, when it arrives, even if
// this process's own death is deferred: a child blocked in a long section
// does not hold back the end of its subtree, and a parent that loses
// patience and kills it by SIGKILL leaves no grandchild without its
// SIGTERM.

// termBit is the pending bit of critState; the other bits count the open
// sections.
const termBit = 1 << 31

var (
	critState atomic.Uint32
	deferring atomic.Bool // DeferTermination was called
	// termCtx is cancelled when SIGTERM arrives, in a process that
	// called DeferTermination; never in another.
	termCtx, termCancel = context.WithCancel(context.Background())
)

// childGrace is how long a terminated process waits for its children to
// end by SIGTERM before it kills the rest: less than the half second a
// parent gives its own children (luaapi's TerminateChildren, which Ctrl-C
// uses), so that a grandchild stuck in a section is killed by its parent
// before that parent is killed by its own.
const childGrace = 300 * time.Millisecond

// EnterCritical marks the start of a section that termination must not
// cut in two. Sections may nest, and any goroutine may open one; keep
// them short, and make any wait in them watch TermContext: termination
// waits for them. When the process is already ending, EnterCritical does
// not return.
func EnterCritical() {
	if deferring.Load() && !termHooked.Load() {
		hookTermination()
	}
	for {
		s := critState.Load()
		if s == termBit {
			select {} // the process is ending; see die
		}
		if critState.CompareAndSwap(s, s+1) {
			return
		}
	}
}

// EnterExit begins the exit of a child: a section that never ends, so that
// a SIGTERM that came first ends the process by that signal, after its
// children, and one that comes later is too late. In a child that never
// opened a section, SIGTERM still has its default action, which ends it
// by that signal up to its last instruction, as it would have before:
// installing the handler only to exit would cost more than the child's
// whole run.
func EnterExit() {
	if deferring.Load() && !termHooked.Load() {
		return
	}
	EnterCritical()
}

// LeaveCritical ends a section begun by EnterCritical. When termination is
// pending and this was the last open section, it ends the process.
func LeaveCritical() {
	if critState.Add(^uint32(0)) == termBit {
		die()
	}
}

// TermContext is done once SIGTERM has arrived in a process that defers
// termination: a wait inside a critical section watches it and gives up,
// so that the process can end. In other processes it is never done. Safe
// to call from any goroutine.
func TermContext() context.Context { return termCtx }

// TermDeferred says whether this process defers SIGTERM for its critical
// sections (a child does, the root does not): only then does TermContext
// ever end, and a wait need watch it.
func TermDeferred() bool { return deferring.Load() }

// DeferTermination makes SIGTERM wait for critical sections, in a child.
//
// The handler itself is installed by the first EnterCritical. Until then
// SIGTERM keeps its default action, which ends the process by that signal
// as die would: no section is open, and a process that never opened one
// has started no child (starting one is a section). A child that only
// computes, as many do, never pays for os/signal's threads (one locked to
// the signal mask, Go's template thread, the one waiting for signals),
// nor an idle child while it waits for its work.
func DeferTermination() { deferring.Store(true) }

var (
	termHooked atomic.Bool // hookTermination has run
	termHookMu sync.Mutex
)

// hookTermination installs DeferTermination's SIGTERM handler, once.
func hookTermination() {
	termHookMu.Lock()
	defer termHookMu.Unlock()
	if termHooked.Load() {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	termHooked.Store(true)
	go func() {
		<-ch
		old := critState.Or(termBit)
		termCancel()
		signalChildren(syscall.SIGTERM)
		if old == 0 {
			die()
		}
	}()
}

// die ends the process by SIGTERM, after its children: they have had
// SIGTERM already; those still running after childGrace are killed. The
// default action of the signal ends it, so the parent sees it killed by
// that signal. die does not return.
func die() {
	EndChildren(childGrace)
	signal.Reset(syscall.SIGTERM)
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {}
}

// EndChildren ends every child of this process that has not been reaped,
// and waits until they have been: SIGTERM, then SIGKILL for those still
// running after grace. A child ends its own children in turn when
// terminated (see DeferTermination). Safe to call from any goroutine.
func EndChildren(grace time.Duration) {
	kids := signalChildren(syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for _, c := range kids {
		if ended, _ := c.Wait(nil, max(0, time.Until(deadline))); !ended {
			c.Kill()
			<-c.done
		}
	}
}

// signalChildren sends sig to every child of this process that has not
// been reaped, and returns them.
func signalChildren(sig syscall.Signal) []*Child {
	live.Lock()
	kids := make([]*Child, 0, len(live.m))
	for c := range live.m {
		kids = append(kids, c)
	}
	live.Unlock()
	for _, c := range kids {
		c.Signal(sig)
	}
	return kids
}

// IgnoreInterrupts makes SIGINT do nothing: children leave Ctrl-C to the
// root, which ends them.
func IgnoreInterrupts() { signal.Ignore(os.Interrupt) }
