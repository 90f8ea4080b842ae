// Cond: the process-shared condition variable used with a Mutex.

package runtime

import (
	"context"
	goruntime "runtime"
	"sync/atomic"
	"time"
)

// Cond is a condition variable in the arena, used together with a Mutex by
// any number of processes, handed between processes as its Offset.
//
// Algorithm: a FIFO queue of waiter nodes, as CPython's
// threading.Condition keeps a deque of per-waiter locks. Each waiter owns a
// node in the arena: a futex word (0 waiting, 1 signalled), its process's
// token (identity.go), and the link to the next node of a singly linked
// list whose head is the Cond. The queue is protected by the Mutex the
// Cond is used with: Wait and Notify must both be called with that Mutex
// held.
//
//	Wait:   append my node (word = 0); unlock m;
//	        sleep while word == 0 (FUTEX_WAIT on the word, in slices);
//	        lock m; take my node out of the queue if it is still there.
//	Notify: for up to n nodes from the head: word = 1, FUTEX_WAKE on the
//	        word, then take the node out of the queue.
//
// Why no wake-up is lost: a waiter is in the queue from the moment it
// enqueues, still holding m, so any Notify that runs after the waiter
// decided to wait (which needs m) finds it. Notify sets the node's word
// before waking it, and the waiter sleeps only while the word is 0, which
// FUTEX_WAIT checks atomically with going to sleep: a Notify that lands
// between "unlock m" and "sleep" makes the sleep return at once.
//
// Why Notify(n) wakes at most n, and only waiters present at the call:
// each signalled node leaves the queue in the Notify that signals it, so no
// node is signalled twice; a waiter that arrives later enqueues behind,
// and a waiter that gives up leaves the queue itself under m, so a later
// Notify never spends a wake-up on it. A waiter whose timeout and signal
// cross reports that it was woken (the signal is not lost).
//
// Death at any instruction. The Mutex is recovered from a holder that
// died, and the next holder carries on with the queue as it was left, so
// every change to the queue is a single store: a node joins by the store
// that links it from the last node (or the head), and leaves by the store
// that links its predecessor past it. Nothing else (no tail pointer, no
// back links) has to agree with those links, so there is nothing to
// repair. Leaving is idempotent: a node that is not in the queue is not
// found. A Notify that dies after signalling a node but before taking it
// out leaves it to its waiter, which takes itself out; one that dies
// before signalling leaves the node queued for the next Notify. A node
// whose process died while waiting (it can never leave by itself) is
// skipped and freed by the Notify that finds it, so it does not swallow a
// wake-up meant for a live waiter; a dead process is one the process table
// says is dead, a zombie not yet reaped included.
//
// Nodes are allocated from the arena on a process's first concurrent Wait
// and then reused from a per-process cache.
type Cond struct {
	a   *Arena
	off uint64
}

const (
	condHead = 0
	condSize = 16 // the second word is unused

	nodeWord  = 0
	nodeToken = 4
	nodeNext  = 8
	nodeSize  = 16
)

// NewCond allocates a Cond in the arena.
func (a *Arena) NewCond() (*Cond, error) {
	off, err := a.Alloc(condSize)
	if err != nil {
		return nil, err
	}
	return a.CondAt(off), nil
}

// CondAt returns a handle to the Cond at off.
func (a *Arena) CondAt(off uint64) *Cond { return &Cond{a: a, off: off} }

// Offset returns where the Cond lives in the arena.
func (c *Cond) Offset() uint64 { return c.off }

// Free gives the Cond's memory back to the arena. Nobody may wait on it.
func (c *Cond) Free() { c.a.Free(c.off) }

// Wait releases m, which the caller holds, waits until a Notify picks this
// waiter, the timeout (timeout < 0: none) runs out or ctx (may be nil) is
// cancelled, and takes m again before returning, in every case. It returns
// (true, nil) when notified, (false, ErrTimeout) or (false, ctx.Err())
// otherwise, and (false, ErrNotOwner) at once when this process does not
// hold m.
func (c *Cond) Wait(m *Mutex, ctx context.Context, timeout time.Duration) (woken bool, err error) {
	if !m.ownedByMe() {
		return false, ErrNotOwner
	}
	node, err := c.a.getNode()
	if err != nil {
		return false, err
	}
	word := c.a.Uint32(node + nodeWord)
	atomic.StoreUint32(word, 0)
	atomic.StoreUint32(c.a.Uint32(node+nodeToken), c.a.me)
	c.setU64(node+nodeNext, 0)
	c.enqueue(node)
	m.Unlock()

	err = c.sleep(word, ctx, timeout)

	m.Lock(nil, -1)
	c.remove(node) // gone already, unless we gave up or a notifier died
	if atomic.LoadUint32(word) != 0 {
		err = nil // notified: the signal counts even if the timeout crossed it
	}
	c.a.putNode(node)
	return err == nil, err
}

// sleep waits until *word != 0, the timeout runs out or ctx is cancelled.
func (c *Cond) sleep(word *uint32, ctx context.Context, timeout time.Duration) error {
	if spinCPUs {
		// A notify often comes within microseconds (a barrier's last
		// party, a queue's next item): looking for a while is much
		// cheaper than a sleep and a wake-up.
		for range condSpin {
			if atomic.LoadUint32(word) != 0 {
				return nil
			}
		}
	}
	if timeout == 0 {
		if atomic.LoadUint32(word) != 0 {
			return nil
		}
		return ErrTimeout
	}
	if ctx != nil {
		stop := context.AfterFunc(ctx, func() { futexWakeAll(word) })
		defer stop()
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for atomic.LoadUint32(word) == 0 {
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		sleep := waitSlice
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			sleep = min(sleep, left)
		}
		futexWait(word, 0, sleep)
	}
	return nil
}

// condSpin is how many times a waiter looks at its word before sleeping
// (some microseconds; it measured 16 µs a round of a two-process Barrier
// without, 5 µs with). Only where there is another CPU to notify it.
const condSpin = 20000

var spinCPUs = goruntime.NumCPU() > 1

// Notify wakes at most n of the processes waiting on c, in the order they
// started waiting, and returns how many it woke. The caller must hold the
// Mutex the waiters use.
func (c *Cond) Notify(n int) int {
	woken := 0
	for woken < n {
		node := c.u64(c.off + condHead)
		if node == 0 {
			break
		}
		if !c.a.Alive(atomic.LoadUint32(c.a.Uint32(node + nodeToken))) {
			c.setU64(c.off+condHead, c.u64(node+nodeNext))
			c.a.Free(node) // its waiter died waiting
			continue
		}
		word := c.a.Uint32(node + nodeWord)
		atomic.StoreUint32(word, 1)
		futexWake(word, 1)
		c.setU64(c.off+condHead, c.u64(node+nodeNext))
		woken++
	}
	return woken
}

// NotifyAll wakes every process waiting on c and returns how many it woke.
// The caller must hold the Mutex the waiters use.
func (c *Cond) NotifyAll() int { return c.Notify(int(^uint(0) >> 1)) }

// Waiting reports whether any process waits on c. The caller must hold the
// Mutex the waiters use.
func (c *Cond) Waiting() bool { return c.u64(c.off+condHead) != 0 }

func (c *Cond) u64(off uint64) uint64       { return atomic.LoadUint64(c.a.Uint64(off)) }
func (c *Cond) setU64(off uint64, v uint64) { atomic.StoreUint64(c.a.Uint64(off), v) }

// live counts the queued waiters whose processes live. The caller holds
// the Mutex.
func (c *Cond) live() int {
	n := 0
	for node := c.u64(c.off + condHead); node != 0; node = c.u64(node + nodeNext) {
		if c.a.Alive(atomic.LoadUint32(c.a.Uint32(node + nodeToken))) {
			n++
		}
	}
	return n
}

// enqueue links node, whose next is 0, after the last node.
func (c *Cond) enqueue(node uint64) {
	at := c.off + condHead
	for n := c.u64(at); n != 0; n = c.u64(at) {
		at = n + nodeNext
	}
	c.setU64(at, node)
}

// remove unlinks node if it is in the queue.
func (c *Cond) remove(node uint64) {
	at := c.off + condHead
	for n := c.u64(at); n != 0; n = c.u64(at) {
		if n == node {
			c.setU64(at, c.u64(node+nodeNext))
			return
		}
		at = n + nodeNext
	}
}

// getNode returns a waiter node from this process's cache, or a new one.
func (a *Arena) getNode() (uint64, error) {
	a.nodesMu.Lock()
	if n := len(a.nodes); n > 0 {
		node := a.nodes[n-1]
		a.nodes = a.nodes[:n-1]
		a.nodesMu.Unlock()
		return node, nil
	}
	a.nodesMu.Unlock()
	return a.Alloc(nodeSize)
}

// putNode returns a node, out of every queue, to this process's cache.
func (a *Arena) putNode(node uint64) {
	a.nodesMu.Lock()
	defer a.nodesMu.Unlock()
	if len(a.nodes) < 64 {
		a.nodes = append(a.nodes, node)
		return
	}
	a.Free(node)
}
