// Checking the offsets that handles from other processes carry.

package runtime

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrBadOffset says that an offset names no object of the arena. A handle
// decoded from a message (which any process of the tree, or a corrupted
// pipe, may have written) is checked with CheckRange or one of the
// XxxFromHandle constructors before anything reads the arena at its
// offset: a wrong one is this error, never a fault.
var ErrBadOffset = errors.New("runtime: no object of the arena there")

// objectAlign is where Alloc puts every object: just after a block
// header, 64-byte aligned.
const objectAlign = 64

// CheckRange reports whether the n bytes at off can be an object Alloc
// handed out: in the heap, 64-byte aligned, and wholly inside the arena.
// It reads nothing of the arena and is safe to call from any goroutine.
func (a *Arena) CheckRange(off, n uint64) error {
	size := uint64(len(a.mem))
	if off < heapStart+blockHeader || off%objectAlign != 0 || off >= size || n > size-off {
		return fmt.Errorf("%w: got %d bytes at offset %d, want a %d-byte aligned offset from %d with its bytes before %d",
			ErrBadOffset, n, off, objectAlign, heapStart+blockHeader, size)
	}
	return nil
}

// LockFromHandle is LockAt for an offset from a handle: checked first.
func (a *Arena) LockFromHandle(off uint64) (*Lock, error) {
	if err := a.CheckRange(off, mutexSize); err != nil {
		return nil, err
	}
	return a.LockAt(off), nil
}

// RLockFromHandle is RLockAt for an offset from a handle: checked first.
func (a *Arena) RLockFromHandle(off uint64) (*RLock, error) {
	if err := a.CheckRange(off, rlockSize); err != nil {
		return nil, err
	}
	return a.RLockAt(off), nil
}

// EventFromHandle is EventAt for an offset from a handle: checked first.
func (a *Arena) EventFromHandle(off uint64) (*Event, error) {
	if err := a.CheckRange(off, eventSize); err != nil {
		return nil, err
	}
	return a.EventAt(off), nil
}

// SemaphoreFromHandle is SemaphoreAt for an offset from a handle: checked
// first.
func (a *Arena) SemaphoreFromHandle(off uint64) (*Semaphore, error) {
	if err := a.CheckRange(off, semSize); err != nil {
		return nil, err
	}
	return a.SemaphoreAt(off), nil
}

// BarrierFromHandle is BarrierAt for an offset from a handle: checked
// first.
func (a *Arena) BarrierFromHandle(off uint64) (*Barrier, error) {
	if err := a.CheckRange(off, barSize); err != nil {
		return nil, err
	}
	return a.BarrierAt(off), nil
}

// ConditionFromHandle is ConditionAt for an offset from a handle: the
// Condition is checked, then the lock whose offset it holds. The arena's
// words are read once, so what was checked is what is used.
func (a *Arena) ConditionFromHandle(off uint64) (*Condition, error) {
	if err := a.CheckRange(off, condnSize); err != nil {
		return nil, err
	}
	kind := atomic.LoadUint32(a.Uint32(off + condnKind))
	lockOff := atomic.LoadUint64(a.Uint64(off + condnLock))
	var lock CondLock
	var err error
	if kind&condnRLock != 0 {
		lock, err = a.RLockFromHandle(lockOff)
	} else {
		lock, err = a.LockFromHandle(lockOff)
	}
	if err != nil {
		return nil, fmt.Errorf("the Condition's lock: %w", err)
	}
	return &Condition{a: a, off: off, lock: lock, cond: a.CondAt(off + condnCond)}, nil
}

// CheckLock reports whether off can be a Lock (or, with rlock, an RLock),
// for handles that keep the offset and make the lock later.
func (a *Arena) CheckLock(off uint64, rlock bool) error {
	if rlock {
		return a.CheckRange(off, rlockSize)
	}
	return a.CheckRange(off, mutexSize)
}
