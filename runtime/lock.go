// Lock and RLock: Python's multiprocessing.Lock and RLock on an arena Mutex.

package runtime

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Lock is Python's multiprocessing.Lock: a non-recursive lock that any
// process may release. It is a Mutex with Python's method shapes; its
// handle travels between processes as its Offset.
type Lock struct{ m *Mutex }

// NewLock allocates an unlocked Lock in the arena.
func (a *Arena) NewLock() (*Lock, error) {
	m, err := a.NewMutex()
	if err != nil {
		return nil, err
	}
	m.what = "a Lock"
	return &Lock{m}, nil
}

// LockAt returns a handle to the Lock at off.
func (a *Arena) LockAt(off uint64) *Lock {
	m := a.MutexAt(off)
	m.what = "a Lock"
	return &Lock{m}
}

// Offset returns where the Lock lives in the arena.
func (l *Lock) Offset() uint64 { return l.m.off }

// Free gives the Lock's memory back to the arena.
func (l *Lock) Free() { l.m.Free() }

// Mutex returns the Mutex the Lock is.
func (l *Lock) Mutex() *Mutex { return l.m }

// Acquire takes the Lock. With block false it only tries; otherwise it
// waits at most timeout (< 0: forever). It reports whether it took the
// Lock; the error is ctx.Err() when ctx (may be nil) was cancelled.
func (l *Lock) Acquire(ctx context.Context, block bool, timeout time.Duration) (bool, error) {
	if !block {
		return l.m.TryLock(), nil
	}
	if tr := activeTracer(); tr != nil {
		return acquired(l.m.traceLock(tr, WaitLock, ctx, timeout))
	}
	return acquired(l.m.Lock(ctx, timeout))
}

// acquired turns Mutex.Lock's result into Python's acquire result.
func acquired(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrTimeout):
		return false, nil
	default:
		return false, err
	}
}

// Release releases the Lock, whichever process holds it; ErrNotLocked if
// nobody does.
func (l *Lock) Release() error { return l.m.Unlock() }

// Locked reports whether some process holds the Lock.
func (l *Lock) Locked() bool { return l.m.Locked() }

// Owner returns the pid of the process holding the Lock, or 0.
func (l *Lock) Owner() int { return l.m.Owner() }

func (l *Lock) mutex() *Mutex { return l.m }
func (l *Lock) isRLock() bool { return false }

// RLock is Python's multiprocessing.RLock: the process holding it may take
// it again, and must release it as many times; no other process may release
// it (ErrNotOwner).
//
// Layout: a Mutex (8 bytes), then the recursion depth (32 bits), which only
// the holder reads or writes.
type RLock struct {
	m     *Mutex
	depth *uint32
}

const (
	rlockDepth = 8
	rlockSize  = 12
)

// NewRLock allocates an unlocked RLock in the arena.
func (a *Arena) NewRLock() (*RLock, error) {
	off, err := a.Alloc(rlockSize)
	if err != nil {
		return nil, err
	}
	return a.RLockAt(off), nil
}

// RLockAt returns a handle to the RLock at off.
func (a *Arena) RLockAt(off uint64) *RLock {
	m := a.MutexAt(off)
	m.what = "an RLock"
	return &RLock{m: m, depth: a.Uint32(off + rlockDepth)}
}

// Offset returns where the RLock lives in the arena.
func (r *RLock) Offset() uint64 { return r.m.off }

// Free gives the RLock's memory back to the arena.
func (r *RLock) Free() { r.m.Free() }

// Acquire takes the RLock, or takes it once more if this process holds it
// already. With block false it only tries; otherwise it waits at most
// timeout (< 0: forever). It reports whether it took the RLock; the error
// is ctx.Err() when ctx (may be nil) was cancelled.
func (r *RLock) Acquire(ctx context.Context, block bool, timeout time.Duration) (bool, error) {
	if r.m.ownedByMe() {
		atomic.AddUint32(r.depth, 1)
		return true, nil
	}
	var ok bool
	var err error
	switch tr := activeTracer(); {
	case !block:
		ok = r.m.TryLock()
	case tr != nil:
		ok, err = acquired(r.m.traceLock(tr, WaitRLock, ctx, timeout))
	default:
		ok, err = acquired(r.m.Lock(ctx, timeout))
	}
	if ok {
		// Also right after recovering the lock from a dead holder, whose
		// depth is meaningless now.
		atomic.StoreUint32(r.depth, 1)
	}
	return ok, err
}

// Release undoes one Acquire by this process, releasing the RLock when the
// last is undone; ErrNotOwner when this process does not hold it.
func (r *RLock) Release() error {
	if !r.m.ownedByMe() {
		return ErrNotOwner
	}
	if atomic.AddUint32(r.depth, ^uint32(0)) == 0 {
		return r.m.Unlock()
	}
	return nil
}

// Locked reports whether some process holds the RLock.
func (r *RLock) Locked() bool { return r.m.Locked() }

// Owner returns the pid of the process holding the RLock, or 0.
func (r *RLock) Owner() int { return r.m.Owner() }

// Count returns how many times the holder has taken the RLock (0 when
// free).
func (r *RLock) Count() int {
	if !r.m.Locked() {
		return 0
	}
	return int(atomic.LoadUint32(r.depth))
}

func (r *RLock) mutex() *Mutex { return r.m }
func (r *RLock) isRLock() bool { return true }
