// Reference counts of shared objects: the count in each block's header,
// the handles each process holds, and what a dead process held.

package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// A shared object (a Lock, a Queue's ring, an Array's elements…) is freed
// when the last reference to it goes, whichever process drops it.
//
// The count is the word at blkRefs in the object's block header. Alloc
// leaves it 0, which means "not counted": Release never frees such a
// block, so what the runtime allocates for itself (waiter nodes, the logs
// below) cannot be freed through a handle. The code that makes an object
// takes the first reference with Hold (or Retain); an object made of
// several allocations (a Condition and its lock, a Value and its lock) is
// counted in each of them, and every handle holds a reference on each.
//
// Who holds what:
//
//   - A process holds one reference per object it has handles to,
//     however many (Hold, Adopt, Unhold count the handles in Go). It
//     lists those objects in its reference log, an array in the arena
//     whose offset it publishes in its slot of the process table
//     (refLogWord). When it dies, by any cause, whoever claims or sweeps
//     that slot releases every reference in the log and frees the log
//     (releaseDeadLog, called exactly once per log).
//   - A handle in a message (a Lock put on a Queue, the arguments of a
//     child) holds a transfer reference: Retain when it is encoded, no
//     log entry; the process that decodes it takes it over with Adopt. A
//     message nobody decodes leaks its references.
//
// Order makes a death at any instruction safe: a count is raised before
// the log records it and the log forgets it before the count is lowered,
// so a death in between leaks a reference but never releases one twice.
// A log entry is one word, written or cleared with one store; the log's
// length is raised only after the entry below it is written.
//
// Log layout: the number of entries used (a high-water mark), then the
// entries, offsets of objects, 0 for a free entry.

// blkRefs is the word of the block header that holds the count.
const blkRefs = 24

// maxRefs bounds a count far from wrapping.
const maxRefs = 1 << 62

// refWord checks that off is where Alloc placed an object that is still
// allocated, and returns its count word. Offsets come from handles that
// any process may have written: a wrong one is an error, never a fault.
func (a *Arena) refWord(off uint64) (*uint64, error) {
	if a.mem == nil {
		return nil, fmt.Errorf("arena: unmapped")
	}
	if off < heapStart+blockHeader || off >= uint64(a.size) || off%64 != 0 {
		return nil, fmt.Errorf("arena: got offset %d, want one of an object in the heap", off)
	}
	blk := off - blockHeader
	size := a.word64(blk + blkSize)
	switch a.word64(blk + blkTag) {
	case tagSmallUsed:
		if size < 1<<minClassShift || size > 1<<maxClassShift || size&(size-1) != 0 {
			return nil, fmt.Errorf("arena: the block at offset %d has size %d, want a small block", off, size)
		}
	case tagLargeUsed:
		if size < pageSize || size%pageSize != 0 || size > uint64(a.size)-blk {
			return nil, fmt.Errorf("arena: the block at offset %d has size %d, want a large block inside the arena", off, size)
		}
	default:
		return nil, fmt.Errorf("arena: no allocated object at offset %d", off)
	}
	return a.Uint64(blk + blkRefs), nil
}

// Retain adds a reference to the object at off: the first is its maker's,
// the others are taken for a message in flight (see the comment above)
// or by Hold. Safe to call from any goroutine.
func (a *Arena) Retain(off uint64) error {
	w, err := a.refWord(off)
	if err != nil {
		return err
	}
	for {
		c := atomic.LoadUint64(w)
		if c >= maxRefs {
			return fmt.Errorf("arena: retain of the object at offset %d: it has %d references, want fewer than %d", off, c, uint64(maxRefs))
		}
		if atomic.CompareAndSwapUint64(w, c, c+1) {
			return nil
		}
	}
}

// Release drops a reference to the object at off and frees it when that
// was the last. An offset that names no allocated object, or one not
// counted, is left alone. Safe to call from any goroutine.
func (a *Arena) Release(off uint64) {
	w, err := a.refWord(off)
	if err != nil {
		return
	}
	for {
		c := atomic.LoadUint64(w)
		if c == 0 {
			return
		}
		if atomic.CompareAndSwapUint64(w, c, c-1) {
			if c == 1 {
				a.Free(off)
			}
			return
		}
	}
}

// Refs returns the count of the object at off (0 when off names none).
func (a *Arena) Refs(off uint64) int {
	w, err := a.refWord(off)
	if err != nil {
		return 0
	}
	return int(atomic.LoadUint64(w))
}

// InUse returns how many bytes of the heap are allocated, block headers
// included: the heap carved so far less what is on the free lists.
func (a *Arena) InUse() int64 {
	a.allocMu.Lock(nil, -1)
	defer a.allocMu.Unlock()
	used := a.word64(hdrTop) - heapStart
	for b := a.word64(hdrLargeHead); b != 0; b = a.word64(b + blkNext) {
		used -= a.word64(b + blkSize)
	}
	for shift := minClassShift; shift <= maxClassShift; shift++ {
		head := uint64(hdrClassHeads + 8*(shift-minClassShift))
		for b := a.word64(head); b != 0; b = a.word64(b + blkNext) {
			used -= 1 << shift
		}
	}
	return int64(used)
}

// holdings is what this process holds in one arena: how many handles it
// has to each object, and its log.
type holdings struct {
	mu      sync.Mutex
	handles map[uint64]int // offset → handles of this process
	slot    map[uint64]int // offset → its entry in the log
	free    []int          // cleared entries below n
	log     uint64         // the log's offset, 0 until the first Hold
	cap     int            // entries the log has room for
	n       int            // entries used, as the log's first word says
}

var (
	holdingsMu sync.Mutex
	holdingsOf = map[*Arena]*holdings{}
)

func (a *Arena) holdings() *holdings {
	holdingsMu.Lock()
	defer holdingsMu.Unlock()
	h := holdingsOf[a]
	if h == nil {
		h = &holdings{handles: map[uint64]int{}, slot: map[uint64]int{}}
		holdingsOf[a] = h
	}
	return h
}

// Hold gives this process one more handle to the object at off. The first
// takes a reference (Retain) and records it in the log. Safe to call from
// any goroutine.
func (a *Arena) Hold(off uint64) error {
	h := a.holdings()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handles[off] > 0 {
		h.handles[off]++
		return nil
	}
	if err := a.Retain(off); err != nil {
		return err
	}
	if err := h.record(a, off); err != nil {
		a.Release(off)
		return err
	}
	h.handles[off] = 1
	return nil
}

// Adopt gives this process a handle to the object at off, taking over a
// transfer reference that came in a message: it becomes this process's
// reference, or is dropped when the process holds one already.
func (a *Arena) Adopt(off uint64) error {
	w, err := a.refWord(off)
	if err != nil {
		return err
	}
	if atomic.LoadUint64(w) == 0 {
		return fmt.Errorf("arena: adopt of the object at offset %d: it has no references, want one in flight", off)
	}
	h := a.holdings()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handles[off] > 0 {
		h.handles[off]++
		a.Release(off) // not the last: this process holds one
		return nil
	}
	if err := h.record(a, off); err != nil {
		return err // the reference leaks: never release what may be held
	}
	h.handles[off] = 1
	return nil
}

// Unhold drops one of this process's handles to the object at off. The
// last one forgets the reference in the log, then releases it. Unhold of
// an object this process has no handle to does nothing. Safe to call from
// any goroutine.
func (a *Arena) Unhold(off uint64) {
	h := a.holdings()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.handles[off]
	if n == 0 || a.mem == nil { // a cleanup after the arena was unmapped
		return
	}
	if n > 1 {
		h.handles[off] = n - 1
		return
	}
	delete(h.handles, off)
	h.forget(a, off)
	a.Release(off)
}

// Holding returns how many handles this process has to the object at off.
func (a *Arena) Holding(off uint64) int {
	h := a.holdings()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handles[off]
}

// entry returns the word of log entry i.
func (h *holdings) entry(a *Arena, i int) *uint64 { return a.Uint64(h.log + 8 + 8*uint64(i)) }

// record writes off into a free entry of the log, growing it when full.
func (h *holdings) record(a *Arena, off uint64) error {
	if k := len(h.free); k > 0 {
		i := h.free[k-1]
		h.free = h.free[:k-1]
		atomic.StoreUint64(h.entry(a, i), off)
		h.slot[off] = i
		return nil
	}
	if h.n == h.cap {
		if err := h.grow(a); err != nil {
			return err
		}
	}
	i := h.n
	atomic.StoreUint64(h.entry(a, i), off)
	h.n++
	atomic.StoreUint64(a.Uint64(h.log), uint64(h.n))
	h.slot[off] = i
	return nil
}

// forget clears off's entry.
func (h *holdings) forget(a *Arena, off uint64) {
	i, ok := h.slot[off]
	if !ok {
		return
	}
	delete(h.slot, off)
	atomic.StoreUint64(h.entry(a, i), 0)
	h.free = append(h.free, i)
}

// grow moves the log to a block twice as large: the new one is filled
// before it is published, the old one freed after, so a death in between
// leaks a block and the published log is always whole.
func (h *holdings) grow(a *Arena) error {
	want := max(2*h.cap, 119) // 119: the first log fills a 1 KiB block
	nlog, err := a.Alloc(8 + 8*want)
	if err != nil {
		return err
	}
	blkBytes := a.word64(nlog - blockHeader + blkSize)
	ncap := int((blkBytes - blockHeader - 8) / 8)
	if h.log != 0 {
		copy(a.Bytes(nlog, 8+8*h.n), a.Bytes(h.log, 8+8*h.n))
	}
	old := h.log
	atomic.StoreUint64(a.refLogWord(), nlog)
	h.log, h.cap = nlog, ncap
	if old != 0 {
		a.Free(old)
	}
	return nil
}

func init() { releaseDeadLog = releaseLog }

// releaseLog releases every reference in a dead process's log, then frees
// the log.
func releaseLog(a *Arena, log uint64) {
	if _, err := a.refWord(log); err != nil {
		return
	}
	blkBytes := a.word64(log - blockHeader + blkSize)
	room := (blkBytes - blockHeader - 8) / 8
	n := min(atomic.LoadUint64(a.Uint64(log)), room)
	for i := uint64(0); i < n; i++ {
		if off := atomic.LoadUint64(a.Uint64(log + 8 + 8*i)); off != 0 {
			a.Release(off)
		}
	}
	a.Free(log)
}
