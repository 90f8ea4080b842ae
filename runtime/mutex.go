// Mutex: the process-shared futex mutex every other primitive is built on,
// with recovery from the death of its holder.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Errors of the synchronisation primitives. The Lua layer maps them to
// Python's exceptions.
var (
	// ErrTimeout: a blocking call's timeout ran out before it could
	// proceed.
	ErrTimeout = errors.New("timed out")
	// ErrNotLocked: release of a lock that is not held.
	ErrNotLocked = errors.New("release of an unlocked lock, want it acquired first")
	// ErrNotOwner: release (or wait, notify) by a process that does not
	// own the lock.
	ErrNotOwner = errors.New("lock not owned by this process, want it acquired by this process first")
)

// OnOwnerDied is called when a process recovers a lock whose holder died
// while holding it: pid and name (from the arena's registry, "" if unknown)
// say who died, what says which lock ("a Lock", "the output lock"). It runs
// in the recovering process, which now holds the lock. Set it once, before
// any lock is used; the default writes one warning line to standard error.
var OnOwnerDied = func(pid int, name string, what string) {
	who := "pid " + strconv.Itoa(pid)
	if name != "" {
		who = name + " (pid " + strconv.Itoa(pid) + ")"
	}
	fmt.Fprintf(os.Stderr, "procsh: warning: %s was held by %s, which died; recovered\n", what, who)
}

// mutexSpin is how many times a contended Lock looks at the word before
// it sleeps (a few microseconds), on machines with more than one CPU.
const mutexSpin = 2000

// waitSlice bounds every futex sleep, so a waiter notices a cancelled
// context and a dead lock holder promptly.
const waitSlice = 100 * time.Millisecond

// Mutex is a mutual-exclusion lock in the arena, shared by every process of
// the tree, handed between processes as its Offset. Ownership belongs to a
// process, not a goroutine: any process may Unlock it (as Python's Lock),
// and a process that locks it twice waits for itself.
//
// Algorithm: Ulrich Drepper, "Futexes Are Tricky" (2011), section 6,
// "mutex3": the futex word has three states, unlocked, locked and locked
// with (possible) waiters; lock is one compare-and-swap from unlocked to
// locked when uncontended; a contended locker marks the word "waiters" and
// sleeps in FUTEX_WAIT on the marked value, and takes the lock over as
// "locked with waiters" when it wakes to find it free; unlock exchanges the
// word with unlocked and calls FUTEX_WAKE only when the old value said
// there were waiters. Unlock uses an exchange rather than the paper's
// atomic decrement, as glibc's lll_unlock does; the effect is the same.
//
// Where the paper stores 1 for "locked", we store the holder's token (its
// identity in the arena's process table, which no other process can take
// over: see identity.go), and 2 becomes token|mutexWaiters. The word so
// says at every instant who holds the lock: there is no window, between
// taking the lock and recording the holder, in which a holder that dies
// could not be identified, and the recovery of a dead holder's lock is a
// single compare-and-swap of the same word (from the dead token to the
// recoverer's), so exactly one process wins it. Tokens are below 2^31,
// leaving the top bit free.
//
// Owner death: every call that finds the lock held looks whether the
// holder still lives (Arena.Alive) before it first sleeps, and then at
// every waitSlice, so recovery does not depend on how long one call waits:
// TryLock and a loop of short timed waits recover a dead holder's lock as
// surely as one long wait does. A process that finds the holder dead takes
// the lock over, calls OnOwnerDied, and returns as if it had acquired the
// lock normally. The data the lock protected may be half-updated: that is
// the caller's business, as with POSIX robust mutexes; LockRecover tells
// the caller that it happened.
//
// Layout: the state word at Offset, and a reserved word after it (8 bytes
// in all).
type Mutex struct {
	a     *Arena
	off   uint64
	state *uint32
	what  string // for the owner-death warning
}

const (
	mutexWaiters = 1 << 31
	mutexSize    = 8
)

// NewMutex allocates an unlocked Mutex in the arena.
func (a *Arena) NewMutex() (*Mutex, error) {
	off, err := a.Alloc(mutexSize)
	if err != nil {
		return nil, err
	}
	return a.MutexAt(off), nil
}

// MutexAt returns a handle to the Mutex at off, which another process may
// have made.
func (a *Arena) MutexAt(off uint64) *Mutex {
	return &Mutex{a: a, off: off, state: a.Uint32(off), what: "a lock"}
}

// Offset returns where the Mutex lives in the arena.
func (m *Mutex) Offset() uint64 { return m.off }

// Free gives the Mutex's memory back to the arena. Nobody may use it after.
func (m *Mutex) Free() { m.a.Free(m.off) }

// TryLock takes the Mutex if it is free, or if its holder died, without
// waiting.
func (m *Mutex) TryLock() bool {
	if m.tryCAS() {
		return true
	}
	ok, _ := m.recoverDead(atomic.LoadUint32(m.state))
	return ok
}

// tryCAS takes the Mutex if it is free: one compare-and-swap, for fast
// paths that fall back to Lock.
func (m *Mutex) tryCAS() bool {
	return atomic.CompareAndSwapUint32(m.state, 0, m.a.me)
}

// recoverDead takes the Mutex over when c, a value of its word, names a
// holder that died. It reports whether it took the Mutex, and retry when
// the word changed under it (look again).
func (m *Mutex) recoverDead(c uint32) (ok, retry bool) {
	owner := c &^ mutexWaiters
	if owner == 0 || owner == m.a.me || m.a.seenAlive(owner) {
		return false, false
	}
	if !atomic.CompareAndSwapUint32(m.state, c, m.a.me|mutexWaiters) {
		return false, true
	}
	if hook := OnOwnerDied; hook != nil {
		pid, name := m.a.TokenName(owner)
		hook(pid, name, m.what)
	}
	return true, false
}

// Locked reports whether some process holds the Mutex.
func (m *Mutex) Locked() bool { return atomic.LoadUint32(m.state) != 0 }

// Owner returns the pid of the process holding the Mutex, or 0.
func (m *Mutex) Owner() int { return m.a.TokenPid(m.Holder()) }

// Holder returns the token of the process holding the Mutex, or 0.
func (m *Mutex) Holder() uint32 { return atomic.LoadUint32(m.state) &^ mutexWaiters }

// ownedByMe reports whether this process holds the Mutex.
func (m *Mutex) ownedByMe() bool {
	return atomic.LoadUint32(m.state)&^mutexWaiters == m.a.me
}

// Lock takes the Mutex, waiting at most timeout (timeout < 0: for as long
// as it takes; 0: not at all). It returns nil once the Mutex is held,
// ErrTimeout, or ctx.Err() when ctx (which may be nil) is cancelled first.
// A holder that died is replaced as described on Mutex.
func (m *Mutex) Lock(ctx context.Context, timeout time.Duration) error {
	if m.tryCAS() {
		return nil
	}
	_, err := m.lockSlow(ctx, timeout)
	return err
}

// LockRecover is Lock that also reports whether the Mutex was taken over
// from a holder that died, so the caller can repair what it protects.
func (m *Mutex) LockRecover(ctx context.Context, timeout time.Duration) (recovered bool, err error) {
	if m.tryCAS() {
		return false, nil
	}
	return m.lockSlow(ctx, timeout)
}

func (m *Mutex) lockSlow(ctx context.Context, timeout time.Duration) (recovered bool, err error) {
	me := m.a.me
	if timeout == 0 {
		for {
			if m.tryCAS() {
				return false, nil
			}
			ok, retry := m.recoverDead(atomic.LoadUint32(m.state))
			if ok {
				return true, nil
			}
			if !retry {
				return false, ErrTimeout
			}
		}
	}
	// Spin a little first where another CPU can release the lock: a
	// critical section is often shorter than a futex sleep and wake-up
	// (the lock benchmark, two processes incrementing a Value: 90 ms
	// without, 53 ms with). Taking the lock while others sleep is fine:
	// a sleeper that wakes to find it held marks the word again.
	if spinCPUs {
		for range mutexSpin {
			if atomic.LoadUint32(m.state) == 0 && atomic.CompareAndSwapUint32(m.state, 0, me) {
				return false, nil
			}
		}
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		// Wake the sleepers on this word when ctx is cancelled; the others
		// go back to sleep.
		stop := context.AfterFunc(ctx, func() { futexWakeAll(m.state) })
		defer stop()
	}
	start := time.Now()
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	nextCheck := start // look at the holder before the first sleep
	for {
		c := atomic.LoadUint32(m.state)
		if c == 0 {
			// Taken over after a wait: others may still sleep, so keep
			// the waiters mark (mutex3's "c = xchg(val, 2)").
			if atomic.CompareAndSwapUint32(m.state, 0, me|mutexWaiters) {
				return false, nil
			}
			continue
		}
		if c&mutexWaiters == 0 {
			if !atomic.CompareAndSwapUint32(m.state, c, c|mutexWaiters) {
				continue
			}
			c |= mutexWaiters
		}
		now := time.Now()
		if ctx != nil && ctx.Err() != nil {
			m.passWake()
			return false, ctx.Err()
		}
		if !now.Before(nextCheck) {
			nextCheck = now.Add(waitSlice)
			ok, retry := m.recoverDead(c)
			if ok {
				return true, nil
			}
			if retry {
				continue
			}
		}
		if timeout > 0 && !now.Before(deadline) {
			m.passWake()
			return false, ErrTimeout
		}
		sleep := nextCheck.Sub(now)
		if timeout > 0 {
			sleep = min(sleep, deadline.Sub(now))
		}
		futexWait(m.state, c, max(sleep, time.Microsecond))
	}
}

// passWake is called by a waiter that gives up. It may have consumed the
// wake an Unlock meant for the next waiter; pass it on.
func (m *Mutex) passWake() {
	if atomic.LoadUint32(m.state) != m.a.me {
		futexWake(m.state, 1)
	}
}

// Unlock releases the Mutex. Any process may release it; releasing one
// that is not held returns ErrNotLocked.
func (m *Mutex) Unlock() error {
	old := atomic.SwapUint32(m.state, 0)
	if old == 0 {
		return ErrNotLocked
	}
	if old&mutexWaiters != 0 {
		futexWake(m.state, 1)
	}
	return nil
}

// aliveFor is how long a look that found a lock holder alive is taken as
// still true. A contended lock looks at its holder every time it is about
// to sleep; two processes taking turns at one lock would otherwise ask the
// kernel (fcntl) thousands of times a second. A holder that dies is still
// seen dead within aliveFor, by short polls as by long waits.
const aliveFor = 5 * time.Millisecond

// seenAlive is Alive, answered from the last look at tok when that was
// recent and said alive.
func (a *Arena) seenAlive(tok uint32) bool {
	now := time.Now().UnixNano()
	if atomic.LoadUint32(&a.aliveTok) == tok && now-atomic.LoadInt64(&a.aliveAt) < int64(aliveFor) {
		return true
	}
	if !a.Alive(tok) {
		return false
	}
	atomic.StoreInt64(&a.aliveAt, now)
	atomic.StoreUint32(&a.aliveTok, tok)
	return true
}
