// The feeder: what an unbounded Queue's puts could not place yet.

package luaapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"procsh/runtime"
)

// Python's put on a Queue without maxsize never blocks: a feeder thread
// moves the items into the pipe as room appears. A Queue here is a ring in
// the arena, and a put that finds it full hands the item to this process's
// feeder for that ring instead of waiting: a goroutine places the pending
// items in order as readers make room, and later puts queue up behind
// them, so each producer's order holds.
//
// As in Python, a process does not end while its feeders still hold items
// (World.Shutdown waits for them, saying so after a second), unless
// cancel_join_thread was called: then what is pending is dropped at exit.
// Ctrl-C stops the wait. JoinableQueue and bounded queues have no feeder:
// their puts wait for room, as Python's do for a bounded queue.

// feeder is one process's pending puts to one ring. Its methods are safe
// from any goroutine.
type feeder struct {
	arena   *runtime.Arena // holds the ring while items are pending
	ring    *runtime.Ring
	mu      sync.Mutex
	pending []runtime.Message // oldest first
	running bool
	held    bool          // running with a hold on the ring
	idle    chan struct{} // closed when pending is empty and nothing runs
	cancel  bool          // cancel_join_thread: drop what is pending at exit
}

// feederFor returns this process's feeder for ring, making it.
func (w *World) feederFor(ring *runtime.Ring) *feeder {
	w.feedMu.Lock()
	defer w.feedMu.Unlock()
	if w.feeders == nil {
		w.feeders = map[uint64]*feeder{}
	}
	f, ok := w.feeders[ring.Offset()]
	if !ok {
		f = &feeder{arena: w.Arena, ring: ring}
		w.feeders[ring.Offset()] = f
	}
	f.mu.Lock()
	if !f.running && f.ring != ring {
		// Perhaps a new ring where a freed one was: use the caller's.
		f.ring = ring
	}
	f.mu.Unlock()
	return f
}

// feederOf returns this process's feeder for ring if it has one.
func (w *World) feederOf(ring *runtime.Ring) *feeder {
	w.feedMu.Lock()
	defer w.feedMu.Unlock()
	return w.feeders[ring.Offset()]
}

// busy says whether items are pending: a put must then queue up behind
// them.
func (f *feeder) busy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending) > 0
}

// count is how many items are pending.
func (f *feeder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// add queues msg and starts the goroutine.
func (f *feeder) add(msg runtime.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, msg)
	if !f.running {
		f.running = true
		f.idle = make(chan struct{})
		f.held = f.arena.Hold(f.ring.Offset()) == nil
		go f.run()
	}
}

// run places the pending items, oldest first, waiting for room.
func (f *feeder) run() {
	for {
		f.mu.Lock()
		if len(f.pending) == 0 {
			f.running = false
			close(f.idle)
			held, off := f.held, f.ring.Offset()
			f.held = false
			f.mu.Unlock()
			if held {
				f.arena.Unhold(off)
			}
			return
		}
		msg := f.pending[0]
		f.mu.Unlock()
		err := f.ring.PutMessage(context.Background(), msg, true, -1)
		if err != nil {
			f.ring.Discard(msg)
			fmt.Fprintf(os.Stderr, "procsh: warning: a queued item could not be put: %v\n", err)
		}
		f.mu.Lock()
		f.pending[0] = runtime.Message{}
		f.pending = f.pending[1:]
		f.mu.Unlock()
	}
}

// flush waits until the feeder has placed everything, or ctx is done.
func (f *feeder) flush(ctx context.Context) error {
	f.mu.Lock()
	if !f.running || f.cancel {
		f.mu.Unlock()
		return nil
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushFeeders waits for every feeder of this process to place its
// items, saying once, after a second, what it waits for.
func (w *World) flushFeeders() {
	w.feedMu.Lock()
	var fs []*feeder
	for _, f := range w.feeders {
		fs = append(fs, f)
	}
	w.feedMu.Unlock()
	if len(fs) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	said := time.AfterFunc(time.Second, func() {
		n := 0
		for _, f := range fs {
			if !f.cancel {
				n += f.count()
			}
		}
		if n > 0 {
			msg := fmt.Sprintf("procsh: %s (pid %d) is waiting to put %d more items on a queue before it ends; a process must read them (Ctrl-C stops)\n", w.Self.Name, w.Self.Pid, n)
			w.WriteOut(os.Stderr, []byte(msg))
		}
	})
	defer said.Stop()
	for _, f := range fs {
		f.dropCancelled()
		if err := f.flush(ctx); errors.Is(err, context.Canceled) {
			return
		}
	}
}

// dropCancelled gives back the arena blocks of the items a feeder told to
// drop them at exit (cancel_join_thread) still holds, but the one it may
// be putting now.
func (f *feeder) dropCancelled() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.cancel || len(f.pending) < 2 {
		return
	}
	for i, m := range f.pending[1:] {
		f.ring.Discard(m)
		f.pending[1+i] = runtime.Message{}
	}
	f.pending = f.pending[:1]
}
