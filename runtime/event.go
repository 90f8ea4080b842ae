// Event: Python's multiprocessing.Event on a futex word.

package runtime

import (
	"context"
	"sync/atomic"
	"time"
)

// Event is Python's multiprocessing.Event: a flag processes wait to see
// set.
//
// The futex word holds the flag in its low bit and, above it, a count of
// the times the flag was set. Wait sleeps while the word is unchanged, so a
// waiter that was waiting when Set ran returns true even if Clear follows
// at once (threading.Event's promise). Set changes the word and wakes every
// sleeper when the waiter word says there are any; the waiter raises that
// word before sleeping on the value it read, so a Set between its read and
// its sleep makes FUTEX_WAIT return at once: nothing is lost.
//
// Layout: the word, then the waiter count (two 32-bit words).
type Event struct {
	a     *Arena
	off   uint64
	word  *uint32
	waits *uint32
}

const eventSize = 8

// NewEvent allocates an Event, not set.
func (a *Arena) NewEvent() (*Event, error) {
	off, err := a.Alloc(eventSize)
	if err != nil {
		return nil, err
	}
	return a.EventAt(off), nil
}

// EventAt returns a handle to the Event at off.
func (a *Arena) EventAt(off uint64) *Event {
	return &Event{a: a, off: off, word: a.Uint32(off), waits: a.Uint32(off + 4)}
}

// Offset returns where the Event lives in the arena.
func (e *Event) Offset() uint64 { return e.off }

// Free gives the Event's memory back to the arena.
func (e *Event) Free() { e.a.Free(e.off) }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return atomic.LoadUint32(e.word)&1 != 0 }

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	for {
		w := atomic.LoadUint32(e.word)
		if w&1 != 0 {
			return
		}
		if atomic.CompareAndSwapUint32(e.word, w, w+3) { // count+1, flag set
			break
		}
	}
	if atomic.LoadUint32(e.waits) != 0 {
		futexWakeAll(e.word)
	}
}

// Clear clears the flag.
func (e *Event) Clear() {
	for {
		w := atomic.LoadUint32(e.word)
		if w&1 == 0 || atomic.CompareAndSwapUint32(e.word, w, w&^1) {
			return
		}
	}
}

// Wait waits until the flag is set, at most timeout (< 0: forever), and
// reports whether it was set. The error is ctx.Err() when ctx (may be nil)
// was cancelled.
func (e *Event) Wait(ctx context.Context, timeout time.Duration) (bool, error) {
	w := atomic.LoadUint32(e.word)
	if w&1 != 0 {
		return true, nil
	}
	if timeout == 0 {
		return false, nil
	}
	if tr := activeTracer(); tr != nil {
		tw := TraceWait{Kind: WaitEvent, Object: e.off, Start: tr.Now()}
		ok, err := e.wait(ctx, w, timeout)
		tw.End, tw.OK = tr.Now(), ok
		tr.Wait(tw)
		return ok, err
	}
	return e.wait(ctx, w, timeout)
}

// wait is Wait's sleep while the word stays w.
func (e *Event) wait(ctx context.Context, w uint32, timeout time.Duration) (bool, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		stop := context.AfterFunc(ctx, func() { futexWakeAll(e.word) })
		defer stop()
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	atomic.AddUint32(e.waits, 1)
	defer atomic.AddUint32(e.waits, ^uint32(0))
	for {
		if atomic.LoadUint32(e.word) != w {
			return true, nil // set since we looked, maybe cleared again
		}
		sleep := waitSlice
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return false, nil
			}
			sleep = min(sleep, left)
		}
		if ctx != nil && ctx.Err() != nil {
			return false, ctx.Err()
		}
		futexWait(e.word, w, sleep)
	}
}
