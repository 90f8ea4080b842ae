// Condition: Python's multiprocessing.Condition on a Lock or RLock and a
// Cond.

package runtime

import (
	"context"
	"sync/atomic"
	"time"
)

// CondLock is a lock a Condition can be built on: *Lock or *RLock.
type CondLock interface {
	Offset() uint64
	Acquire(ctx context.Context, block bool, timeout time.Duration) (bool, error)
	Release() error
	mutex() *Mutex
	isRLock() bool
}

// Condition is Python's multiprocessing.Condition: a lock (an RLock unless
// another is given) and a condition variable. Wait and Notify require this
// process to hold the lock (ErrNotOwner otherwise). Waiting on an RLock
// taken several times releases it fully and takes it back as deep.
//
// Layout: the lock's kind (32 bits: 0 Lock, 1 RLock; bit 1 set when the
// Condition made the lock itself), the lock's offset (64), the Cond (16).
type Condition struct {
	a    *Arena
	off  uint64
	lock CondLock
	cond *Cond
}

const (
	condnKind = 0
	condnLock = 8
	condnCond = 16
	condnSize = 32

	condnRLock   = 1
	condnOwnLock = 2
)

// NewCondition allocates a Condition on lock, or on a new RLock when lock
// is nil.
func (a *Arena) NewCondition(lock CondLock) (*Condition, error) {
	kind := uint32(0)
	if lock == nil {
		r, err := a.NewRLock()
		if err != nil {
			return nil, err
		}
		lock = r
		kind |= condnOwnLock
	}
	if lock.isRLock() {
		kind |= condnRLock
	}
	off, err := a.Alloc(condnSize)
	if err != nil {
		if kind&condnOwnLock != 0 {
			a.Free(lock.Offset())
		}
		return nil, err
	}
	atomic.StoreUint32(a.Uint32(off+condnKind), kind)
	atomic.StoreUint64(a.Uint64(off+condnLock), lock.Offset())
	return &Condition{a: a, off: off, lock: lock, cond: a.CondAt(off + condnCond)}, nil
}

// ConditionAt returns a handle to the Condition at off.
func (a *Arena) ConditionAt(off uint64) *Condition {
	kind := atomic.LoadUint32(a.Uint32(off + condnKind))
	lockOff := atomic.LoadUint64(a.Uint64(off + condnLock))
	var lock CondLock
	if kind&condnRLock != 0 {
		lock = a.RLockAt(lockOff)
	} else {
		lock = a.LockAt(lockOff)
	}
	return &Condition{a: a, off: off, lock: lock, cond: a.CondAt(off + condnCond)}
}

// Offset returns where the Condition lives in the arena.
func (c *Condition) Offset() uint64 { return c.off }

// Free gives the Condition's memory back to the arena, with its lock if
// NewCondition made it.
func (c *Condition) Free() {
	if atomic.LoadUint32(c.a.Uint32(c.off+condnKind))&condnOwnLock != 0 {
		c.a.Free(c.lock.Offset())
	}
	c.a.Free(c.off)
}

// Lock returns the Condition's lock (Python's get_lock is not on
// Condition, but its repr and with-statement use it).
func (c *Condition) Lock() CondLock { return c.lock }

// Acquire takes the Condition's lock; see Lock.Acquire and RLock.Acquire.
func (c *Condition) Acquire(ctx context.Context, block bool, timeout time.Duration) (bool, error) {
	return c.lock.Acquire(ctx, block, timeout)
}

// Release releases the Condition's lock.
func (c *Condition) Release() error { return c.lock.Release() }

// Wait releases the lock, which this process must hold, waits until
// notified or until timeout (< 0: forever) runs out, then takes the lock
// back (in every case) and reports whether it was notified. The error is
// ErrNotOwner when this process does not hold the lock, ctx.Err() when ctx
// (may be nil) was cancelled.
func (c *Condition) Wait(ctx context.Context, timeout time.Duration) (bool, error) {
	m := c.lock.mutex()
	if !m.ownedByMe() {
		return false, ErrNotOwner
	}
	var depth uint32
	var r *RLock
	if rl, ok := c.lock.(*RLock); ok {
		r = rl
		depth = atomic.LoadUint32(r.depth)
	}
	var woken bool
	var err error
	if tr := activeTracer(); tr != nil {
		w := TraceWait{Kind: WaitCondition, Object: c.off, Start: tr.Now()}
		woken, err = c.cond.Wait(m, ctx, timeout)
		w.End, w.OK = tr.Now(), woken
		tr.Wait(w)
	} else {
		woken, err = c.cond.Wait(m, ctx, timeout)
	}
	if r != nil {
		atomic.StoreUint32(r.depth, depth)
	}
	if err == ErrTimeout {
		err = nil
	}
	return woken, err
}

// Notify wakes at most n of the processes waiting on the Condition and
// returns how many it woke; ErrNotOwner when this process does not hold
// the lock.
func (c *Condition) Notify(n int) (int, error) {
	if !c.lock.mutex().ownedByMe() {
		return 0, ErrNotOwner
	}
	return c.cond.Notify(n), nil
}

// NotifyAll wakes every process waiting on the Condition; ErrNotOwner when
// this process does not hold the lock.
func (c *Condition) NotifyAll() (int, error) {
	if !c.lock.mutex().ownedByMe() {
		return 0, ErrNotOwner
	}
	return c.cond.NotifyAll(), nil
}
