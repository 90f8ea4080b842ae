// Semaphore and BoundedSemaphore, counting semaphores on a futex word.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrOverRelease: a bounded semaphore was released more times than it was
// acquired.
var ErrOverRelease = errors.New("semaphore released too many times, want no more releases than acquires")

// Semaphore is Python's multiprocessing.Semaphore, or BoundedSemaphore
// when made with a bound.
//
// It needs no Mutex: the value is a futex word changed only by
// compare-and-swap. Acquire decrements a positive value; seeing 0, it
// counts itself in the waiter word and sleeps while the value is 0. Release
// increments the value, then wakes one sleeper if the waiter word is
// non-zero. No wake-up is lost: either Release reads the waiter count after
// the waiter raised it, and wakes it, or the waiter raised it after
// Release had already raised the value, and FUTEX_WAIT, finding the value
// no longer 0, does not sleep. With no owner, a semaphore has nothing to
// recover when a process dies.
//
// Layout: value, waiters, bound, bounded (four 32-bit words).
type Semaphore struct {
	a     *Arena
	off   uint64
	value *uint32
	waits *uint32
}

const (
	semValue   = 0
	semWaiters = 4
	semBound   = 8
	semBounded = 12
	semSize    = 16

	// SemValueMax is the largest value a Semaphore holds, as CPython's
	// SEM_VALUE_MAX on Linux.
	SemValueMax = 1<<31 - 1
)

// NewSemaphore allocates a Semaphore with the given initial value.
func (a *Arena) NewSemaphore(value int) (*Semaphore, error) {
	return a.newSemaphore(value, false)
}

// NewBoundedSemaphore allocates a Semaphore whose value may never rise
// above its initial value.
func (a *Arena) NewBoundedSemaphore(value int) (*Semaphore, error) {
	return a.newSemaphore(value, true)
}

func (a *Arena) newSemaphore(value int, bounded bool) (*Semaphore, error) {
	if value < 0 || value > SemValueMax {
		return nil, fmt.Errorf("semaphore: got initial value %d, want 0 to %d", value, SemValueMax)
	}
	off, err := a.Alloc(semSize)
	if err != nil {
		return nil, err
	}
	s := a.SemaphoreAt(off)
	atomic.StoreUint32(s.value, uint32(value))
	atomic.StoreUint32(a.Uint32(off+semBound), uint32(value))
	if bounded {
		atomic.StoreUint32(a.Uint32(off+semBounded), 1)
	}
	return s, nil
}

// SemaphoreAt returns a handle to the Semaphore at off.
func (a *Arena) SemaphoreAt(off uint64) *Semaphore {
	return &Semaphore{a: a, off: off, value: a.Uint32(off + semValue), waits: a.Uint32(off + semWaiters)}
}

// Offset returns where the Semaphore lives in the arena.
func (s *Semaphore) Offset() uint64 { return s.off }

// Free gives the Semaphore's memory back to the arena.
func (s *Semaphore) Free() { s.a.Free(s.off) }

// Bounded reports whether the Semaphore is a BoundedSemaphore.
func (s *Semaphore) Bounded() bool { return atomic.LoadUint32(s.a.Uint32(s.off+semBounded)) != 0 }

// Value returns the Semaphore's current value.
func (s *Semaphore) Value() int { return int(atomic.LoadUint32(s.value)) }

// Acquire decrements the value, waiting while it is 0: with block false
// not at all, else at most timeout (< 0: forever). It reports whether it
// decremented; the error is ctx.Err() when ctx (may be nil) was cancelled.
func (s *Semaphore) Acquire(ctx context.Context, block bool, timeout time.Duration) (bool, error) {
	if s.tryAcquire() {
		return true, nil
	}
	if !block || timeout == 0 {
		return false, nil
	}
	if tr := activeTracer(); tr != nil {
		w := TraceWait{Kind: WaitSemaphore, Object: s.off, Start: tr.Now()}
		ok, err := s.wait(ctx, timeout)
		w.End, w.OK = tr.Now(), ok
		tr.Wait(w)
		return ok, err
	}
	return s.wait(ctx, timeout)
}

// wait is Acquire's wait for a value to take.
func (s *Semaphore) wait(ctx context.Context, timeout time.Duration) (bool, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		stop := context.AfterFunc(ctx, func() { futexWakeAll(s.value) })
		defer stop()
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	atomic.AddUint32(s.waits, 1)
	defer atomic.AddUint32(s.waits, ^uint32(0))
	for {
		if s.tryAcquire() {
			return true, nil
		}
		sleep := waitSlice
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				s.passWake()
				return false, nil
			}
			sleep = min(sleep, left)
		}
		if ctx != nil && ctx.Err() != nil {
			s.passWake()
			return false, ctx.Err()
		}
		futexWait(s.value, 0, sleep)
	}
}

// passWake hands on a wake-up a giving-up waiter may have taken.
func (s *Semaphore) passWake() {
	if atomic.LoadUint32(s.value) > 0 {
		futexWake(s.value, 1)
	}
}

func (s *Semaphore) tryAcquire() bool {
	for {
		v := atomic.LoadUint32(s.value)
		if v == 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(s.value, v, v-1) {
			return true
		}
	}
}

// Release increments the value and wakes one waiter. A bounded Semaphore
// refuses to rise above its initial value (ErrOverRelease).
func (s *Semaphore) Release() error {
	bound := uint32(SemValueMax)
	if s.Bounded() {
		bound = atomic.LoadUint32(s.a.Uint32(s.off + semBound))
	}
	for {
		v := atomic.LoadUint32(s.value)
		if v >= bound {
			if s.Bounded() {
				return ErrOverRelease
			}
			return fmt.Errorf("semaphore: release would raise the value above %d, want fewer releases", SemValueMax)
		}
		if atomic.CompareAndSwapUint32(s.value, v, v+1) {
			break
		}
	}
	if atomic.LoadUint32(s.waits) != 0 {
		futexWake(s.value, 1)
	}
	return nil
}
