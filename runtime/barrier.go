// Barrier: Python's multiprocessing.Barrier on an arena Mutex and Cond.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrBrokenBarrier: the barrier was aborted, reset, timed out or its action
// failed while the caller waited, or was already broken.
var ErrBrokenBarrier = errors.New("barrier is broken, want it reset before use")

// Barrier is Python's multiprocessing.Barrier: parties processes wait until
// all have arrived, then all go on.
//
// State, under the Barrier's Mutex: the number arrived in the current round
// (count), the round number (gen), the broken flag, and one bit per round
// (modulo 64) saying whether the round ended broken (reset) rather than
// complete. An arriving process takes index count; the last one runs the
// action, then starts the next round (gen+1) and notifies all. A waiter
// returns when gen has moved past its round (complete, or broken if its
// round's bit says so) or when the barrier is broken. A timeout, a
// cancelled context or a failing action breaks the barrier for every
// waiter of the round, as in Python's threading.Barrier.
//
// Death of a party (where Python waits forever): a process that dies while
// it waits, or while it holds the Mutex half-way through an update, breaks
// the Barrier for the others, who get ErrBrokenBarrier and may Reset it.
// Updates of more than one word are bracketed by a busy word: whoever takes
// the Mutex and finds it set (or is told by LockRecover that the holder
// died) knows the state was cut and breaks the Barrier. Waiters look every
// barrierCheck whether the processes counted in the round are all still
// queued and alive; a party that died after arriving breaks it.
//
// Layout: Mutex (8 bytes), Cond (16), parties, count, gen, broken (32 bits
// each), the round bits (64), the busy word (32).
type Barrier struct {
	a    *Arena
	off  uint64
	m    *Mutex
	cond *Cond
}

const (
	barMutex   = 0
	barCond    = 8
	barParties = 24
	barCount   = 28
	barGen     = 32
	barBroken  = 36
	barBits    = 40
	barBusy    = 48
	barSize    = 52

	// barrierCheck is how often a waiter looks for parties that died.
	barrierCheck = 250 * time.Millisecond
)

// NewBarrier allocates a Barrier for parties processes.
func (a *Arena) NewBarrier(parties int) (*Barrier, error) {
	if parties < 1 || parties > 1<<30 {
		return nil, fmt.Errorf("Barrier: got %d parties, want at least 1", parties)
	}
	off, err := a.Alloc(barSize)
	if err != nil {
		return nil, err
	}
	b := a.BarrierAt(off)
	atomic.StoreUint32(b.u32(barParties), uint32(parties))
	return b, nil
}

// BarrierAt returns a handle to the Barrier at off.
func (a *Arena) BarrierAt(off uint64) *Barrier {
	m := a.MutexAt(off + barMutex)
	m.what = "a Barrier"
	return &Barrier{a: a, off: off, m: m, cond: a.CondAt(off + barCond)}
}

// Offset returns where the Barrier lives in the arena.
func (b *Barrier) Offset() uint64 { return b.off }

// Free gives the Barrier's memory back to the arena.
func (b *Barrier) Free() { b.a.Free(b.off) }

func (b *Barrier) u32(field uint64) *uint32 { return b.a.Uint32(b.off + field) }
func (b *Barrier) get(field uint64) uint32  { return atomic.LoadUint32(b.u32(field)) }
func (b *Barrier) set(field uint64, v uint32) {
	atomic.StoreUint32(b.u32(field), v)
}

// Parties returns the number of processes the Barrier waits for.
func (b *Barrier) Parties() int { return int(b.get(barParties)) }

// NWaiting returns how many processes wait in the current round.
func (b *Barrier) NWaiting() int {
	if b.Broken() {
		return 0
	}
	return int(b.get(barCount))
}

// Broken reports whether the Barrier is broken.
func (b *Barrier) Broken() bool { return b.get(barBroken) != 0 }

// roundBroken reports whether round gen ended by a reset.
func (b *Barrier) roundBroken(gen uint32) bool {
	return atomic.LoadUint64(b.a.Uint64(b.off+barBits))&(1<<(gen%64)) != 0
}

func (b *Barrier) setRoundBroken(gen uint32, broken bool) {
	p := b.a.Uint64(b.off + barBits)
	bit := uint64(1) << (gen % 64)
	if broken {
		atomic.StoreUint64(p, atomic.LoadUint64(p)|bit)
	} else {
		atomic.StoreUint64(p, atomic.LoadUint64(p)&^bit)
	}
}

// Wait arrives at the Barrier and waits, at most timeout (< 0: forever),
// until all parties have arrived. It returns this process's index in the
// round, distinct among the round's waiters, 0 … parties-1 in order of
// arrival. The last to arrive runs action (if not nil) before anyone is
// released; if action fails, the Barrier breaks, that process gets the
// action's error and the others ErrBrokenBarrier. A timeout breaks the
// Barrier for all (ErrBrokenBarrier); so does cancelling ctx (may be nil),
// and the canceller gets ctx.Err().
func (b *Barrier) Wait(ctx context.Context, timeout time.Duration, action func() error) (int, error) {
	var gen uint32
	if tr := activeTracer(); tr != nil {
		w := TraceWait{Kind: WaitBarrier, Object: b.off, Start: tr.Now()}
		idx, err := b.wait(ctx, timeout, action, &gen)
		w.End, w.OK = tr.Now(), err == nil
		w.Index, w.Generation, w.Broken = uint32(idx), gen, errors.Is(err, ErrBrokenBarrier)
		tr.Wait(w)
		return idx, err
	}
	return b.wait(ctx, timeout, action, &gen)
}

// wait is Wait; it sets *round to the generation of the round it joined.
func (b *Barrier) wait(ctx context.Context, timeout time.Duration, action func() error, round *uint32) (int, error) {
	start := time.Now()
	if err := b.lock(ctx, timeout); err != nil {
		if errors.Is(err, ErrTimeout) {
			// The Barrier's lock stayed held (its holder stopped): the
			// timeout holds all the same.
			return 0, ErrBrokenBarrier
		}
		return 0, err
	}
	if b.Broken() {
		b.m.Unlock()
		return 0, ErrBrokenBarrier
	}
	gen := b.get(barGen)
	*round = gen
	idx := b.get(barCount)
	b.set(barCount, idx+1)
	if int(idx)+1 == b.Parties() {
		if action != nil {
			if err := b.runAction(action); err != nil {
				b.breakLocked()
				b.m.Unlock()
				return int(idx), err
			}
		}
		b.set(barBusy, 1)
		b.set(barCount, 0)
		b.setRoundBroken(gen, false)
		b.set(barGen, gen+1)
		b.cond.NotifyAll()
		b.set(barBusy, 0)
		b.m.Unlock()
		return int(idx), nil
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	for {
		left := timeout
		if timeout > 0 {
			left = max(time.Until(deadline), 0)
		}
		slice := left
		if slice < 0 || slice > barrierCheck {
			slice = barrierCheck
		}
		_, err := b.cond.Wait(b.m, ctx, slice)
		if b.get(barBusy) != 0 {
			b.breakLocked() // a holder died half-way through an update
		}
		if b.get(barGen) != gen {
			broken := b.roundBroken(gen)
			b.m.Unlock()
			if broken {
				return int(idx), ErrBrokenBarrier
			}
			return int(idx), nil
		}
		if b.Broken() {
			b.m.Unlock()
			return int(idx), ErrBrokenBarrier
		}
		if errors.Is(err, ErrTimeout) && (timeout < 0 || time.Until(deadline) > 0) {
			// Only a slice ran out: look for parties that died. The
			// others counted in the round are queued (a waiter whose slice
			// ran out too is queued until it holds the Mutex); this one
			// has left the queue.
			if b.cond.live()+1 < int(b.get(barCount)) {
				b.breakLocked()
				b.m.Unlock()
				return int(idx), ErrBrokenBarrier
			}
			continue
		}
		if err != nil {
			b.breakLocked()
			b.m.Unlock()
			if errors.Is(err, ErrTimeout) {
				return int(idx), ErrBrokenBarrier
			}
			return int(idx), err
		}
	}
}

// lock takes the Barrier's Mutex within timeout (< 0: no limit), breaking
// the Barrier when its last holder died half-way through an update.
func (b *Barrier) lock(ctx context.Context, timeout time.Duration) error {
	recovered, err := b.m.LockRecover(ctx, timeout)
	if err != nil {
		return err
	}
	if recovered || b.get(barBusy) != 0 {
		b.breakLocked()
	}
	return nil
}

// runAction runs the round's action; a panic breaks the barrier like an
// error and goes on up.
func (b *Barrier) runAction(action func() error) (err error) {
	ok := false
	defer func() {
		if !ok {
			b.breakLocked()
			b.m.Unlock()
		}
	}()
	err = action()
	ok = true
	return err
}

// breakLocked breaks the Barrier; the caller holds its Mutex.
func (b *Barrier) breakLocked() {
	b.set(barBroken, 1)
	b.set(barCount, 0)
	b.cond.NotifyAll()
	b.set(barBusy, 0)
}

// Abort breaks the Barrier: every waiter, and every later Wait until
// Reset, gets ErrBrokenBarrier.
func (b *Barrier) Abort() {
	b.lock(nil, -1)
	b.breakLocked()
	b.m.Unlock()
}

// Reset returns the Barrier to its empty, unbroken state; the processes
// waiting in the current round get ErrBrokenBarrier.
func (b *Barrier) Reset() {
	b.m.Lock(nil, -1)
	b.set(barBusy, 1)
	gen := b.get(barGen)
	b.setRoundBroken(gen, true)
	b.set(barGen, gen+1)
	b.set(barCount, 0)
	b.set(barBroken, 0)
	b.cond.NotifyAll()
	b.set(barBusy, 0)
	b.m.Unlock()
}
