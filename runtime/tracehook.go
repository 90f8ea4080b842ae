// Tracing hooks: what the synchronisation objects and rings tell a tracer
// (package procsh/trace) about their blocking waits and their messages.

package runtime

import (
	"context"
	"sync/atomic"
	"time"
)

// Tracer receives this process's blocking waits and ring messages while
// the tree is traced (procsh --trace). Package trace implements it and
// installs it with SetTracer; runtime never imports trace.
//
// The hooks sit on the blocking paths only: a Lock taken by its first
// compare-and-swap, a Semaphore with a value to take or an Event already
// set tell the tracer nothing. Ring messages are the exception: every
// put and get is told (with its sequence number), so that each message
// can be followed from its put to its get.
//
// With no tracer installed, a hook costs one atomic load and a branch,
// and never allocates (trace's tests measure it).
//
// A Tracer's methods are called from any goroutine, with no lock of the
// caller's held unless a method's comment says so; they must not block
// for long and must not use the primitives they are told about.
type Tracer interface {
	// Now is the tracer's clock: CLOCK_MONOTONIC in nanoseconds, the
	// same in every process of the tree.
	Now() int64
	// Wait records a blocking wait that has ended.
	Wait(w TraceWait)
	// Message records a put or a get of one message of a Ring.
	Message(m TraceMessage)
}

// WaitKind says what a TraceWait waited on.
type WaitKind uint8

// The kinds of wait.
const (
	WaitLock WaitKind = iota + 1
	WaitRLock
	WaitSemaphore
	WaitCondition
	WaitEvent
	WaitBarrier
)

// TraceWait is one blocking wait, from when it began to when it ended.
type TraceWait struct {
	Kind WaitKind
	// Object is the offset of the object waited on, which names it.
	Object     uint64
	Start, End int64 // Tracer.Now at the start and the end
	// Holder is the token of the process that held the lock when the
	// wait began (locks only; 0 when unknown), and Recovered says that
	// the lock was taken over from a holder that died.
	Holder    uint32
	Recovered bool
	// OK: the lock or semaphore was taken, the Condition notified, the
	// Event set, the Barrier passed.
	OK bool
	// Barrier waits: the index of the party in its round, the round (the
	// generation), and whether the Barrier was broken.
	Index, Generation uint32
	Broken            bool
}

// TraceMessage is one message put into or taken from a Ring.
type TraceMessage struct {
	// Ring is the ring's offset; Pipe says it is one direction of a Pipe.
	Ring uint64
	Pipe bool
	Get  bool // a get; a put otherwise
	// Seq numbers the ring's messages from 1 in the order they were
	// committed. Rings are FIFO, so the k-th message put is the k-th
	// message got: a put and a get with the same Seq are one message.
	Seq uint64
	// At is when the message was committed: for a put, read before its
	// commit, and for a get after, so a message is never got before it
	// was put, on the one clock of the tree.
	At int64
	// Blocked says that the call waited (for room or for a message)
	// since Start.
	Blocked bool
	Start   int64
}

type tracerBox struct{ t Tracer }

var tracer atomic.Pointer[tracerBox]

// SetTracer installs t as this process's tracer, or removes it (nil).
func SetTracer(t Tracer) {
	if t == nil {
		tracer.Store(nil)
		return
	}
	tracer.Store(&tracerBox{t})
}

// activeTracer is the installed tracer, or nil: the one load and branch
// every hook costs when tracing is off.
func activeTracer() Tracer {
	if b := tracer.Load(); b != nil {
		return b.t
	}
	return nil
}

// traceLock is Mutex.Lock while a tracer is installed. When the Mutex is
// held, it waits, then tells the tracer who held it, how long the wait
// took and whether the lock was recovered from a holder that died.
func (m *Mutex) traceLock(tr Tracer, kind WaitKind, ctx context.Context, timeout time.Duration) error {
	if m.tryCAS() {
		return nil
	}
	w := TraceWait{Kind: kind, Object: m.off, Start: tr.Now(), Holder: m.Holder()}
	recovered, err := m.LockRecover(ctx, timeout)
	w.End = tr.Now()
	w.Recovered, w.OK = recovered, err == nil
	tr.Wait(w)
	return err
}

// traceMessage tells tr about the seq-th message put into (get false) or
// taken from r, committed at at, after waiting since start when blocked.
func (r *Ring) traceMessage(tr Tracer, get bool, seq uint64, at, start int64, blocked bool) {
	tr.Message(TraceMessage{Ring: r.off, Pipe: r.flags&flagTrack != 0, Get: get, Seq: seq, At: at, Blocked: blocked, Start: start})
}
