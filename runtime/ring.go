// Ring: a process-shared message queue in the arena, under Queue,
// JoinableQueue, SimpleQueue and Pipe.

package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// Ring sizes.
const (
	// DefaultRingSize is a ring's buffer when none is asked for. A
	// message larger than a quarter of it goes out of line (see Ring).
	DefaultRingSize = 1 << 20
	// UnboundedRingSize is the buffer of a queue with no maxsize. Python's
	// put on such a queue never blocks (a feeder thread buffers in the
	// putter's memory); here put blocks only when the ring is full, so an
	// unbounded queue gets a large ring: 16 MiB holds about a million
	// small items, and the arena is sparse, so only what is used costs
	// memory.
	UnboundedRingSize = 16 << 20
	// MinRingSize and MaxRingSize bound the buffer.
	MinRingSize = 1 << 10
	MaxRingSize = 1 << 30
)

// Errors of a Ring. A full or empty ring is ErrTimeout.
var (
	// ErrEOF: Get or Poll on an empty tracked ring whose every writer has
	// closed it or exited.
	ErrEOF = errors.New("end of file: every process holding the sending end has closed it or exited")
	// ErrBrokenPipe: Put on a tracked ring whose every reader has closed
	// it or exited.
	ErrBrokenPipe = errors.New("broken pipe: every process holding the receiving end has closed it or exited")
	// ErrTaskDone: TaskDone called more times than there were items put.
	ErrTaskDone = errors.New("task_done() called too many times, want one call per item got")
)

// RingOptions says what kind of Ring NewRing makes.
type RingOptions struct {
	// Size is the buffer in bytes (0: DefaultRingSize), rounded up to a
	// power of two.
	Size int
	// Maxsize is the most messages the ring holds at once (0: as many as
	// fit), Python's Queue(maxsize).
	Maxsize int
	// Joinable counts unfinished tasks (JoinableQueue).
	Joinable bool
	// Track records which processes hold each end, so that readers see
	// the end of file when every writer has gone (Pipe).
	Track bool
}

// RingSide names an end of a tracked Ring.
type RingSide int

// The ends of a Ring.
const (
	RingReader RingSide = 0
	RingWriter RingSide = 1
)

// Ring is a FIFO of messages (byte strings) in the arena, shared by any
// number of writer and reader processes, handed between processes as its
// Offset.
//
// Layout: a 1 KiB header, then the buffer (a power of two). The header
// keeps the writers' fields and the readers' fields on separate cache
// lines:
//
//	0    magic, flags, capacity, maxsize, join waiters, tasks done
//	     (JoinableQueue)
//	64   the writers' Mutex
//	128  write index (published), messages put, data sequence word,
//	     readers waiting, the writers' journal
//	192  the readers' Mutex
//	256  read index, messages got, space sequence word, writers waiting,
//	     the readers' journal
//	320  holders of each end (tracked rings): each side's first block
//	     of holder slots
//
// Indices count bytes since the ring was made and never wrap; a position
// in the buffer is the index modulo the capacity. The buffer holds
// frames, 8-byte aligned, that may wrap around its end:
//
//	whole message:        u32 length, u8 1, 3 bytes 0, payload
//	out-of-line message:  u32 16, u8 3, 3 bytes 0, u64 block offset,
//	                      u64 length
//
// One message, one frame. A message whose frame would exceed a quarter
// of the buffer (maxFrame) is copied whole into a block of its own, which
// the writer allocates in the arena before it takes any lock, and only a
// small frame naming the block goes through the ring; the reader copies
// the block out, publishes the read index, then frees the block. So no
// message is ever partly in the ring: no writer holds the writers' Mutex
// while it waits for room for the rest of a message, no reader waits for
// a writer while it holds the readers' Mutex, and a writer stopped or
// killed at any instruction leaves nothing a reader waits on, so every
// timeout holds. A bounded queue takes a message larger than its buffer,
// as Python's does. A message the arena has no room for fails in the
// putting process, with the allocator's error (ErrArenaFull). A writer
// killed between allocating a block and publishing its frame, or a reader
// killed between publishing the read index and freeing the block, leaks
// the block: it stays taken until the arena ends.
//
// No torn messages: a writer holds the writers' Mutex, waits until the
// frame fits (capacity minus the bytes between the read and write
// indices), copies the frame in and only then publishes it. A writer
// killed before that leaves nothing visible; the next writer recovers the
// Mutex (see Mutex) and writes over the dead one's bytes. A reader
// likewise copies a message out and then publishes the read index.
//
// Commits survive SIGKILL. Each side moves an index and a counter
// together (write index and messages put, read index and messages got),
// and a process may die between any two stores, so each side keeps a
// journal on its own cache line. A commit stores the intended count, then
// the intended index, which arms the journal (an index past a frame is
// never 0), then the counter and the index themselves, then clears the
// intended index. Whoever next takes that side's Mutex and finds the
// journal armed stores the two values again (the stores are idempotent)
// and clears it; whoever only looks (Len, Empty, Full, TaskDone, Join,
// every waiter before it sleeps) does the same, taking the Mutex, when
// the journal is armed and the Mutex's holder is dead. A writer stores the
// count before the index, so a message is counted as put before any
// reader can get it. A JoinableQueue's unfinished tasks are the messages
// put minus the tasks done, so a message counts as unfinished exactly
// when it was published, whoever dies when.
//
// Waiting: a reader that finds the ring empty releases the readers' Mutex,
// spins briefly, then counts itself in the readers-waiting word and sleeps
// on the data sequence word. A writer bumps that word and wakes one
// sleeper after publishing, only when the waiting word is non-zero; with
// Go's sequentially consistent atomics either the writer sees the count or
// the reader sees the new write index, and FUTEX_WAIT returns at once when
// the sequence moved in between. Writers waiting for room do the same
// with the space sequence word. Sleeps are bounded (waitSlice) so a
// cancelled context, a dead process's journal or a closed pipe is
// noticed.
//
// A Ring handle (the Go value) is for one goroutine at a time: Get returns
// its message in a buffer the next Get reuses.
type Ring struct {
	a        *Arena
	off      uint64
	buf      []byte
	capacity uint64
	mask     uint64
	maxFrame uint64 // largest frame of a whole message
	maxsize  int64
	flags    uint32

	wmu, rmu *Mutex
	widx     *uint64
	puts     *uint64
	dataSeq  *uint32
	rwaiting *uint32
	wjIdx    *uint64 // the writers' journal: intended write index (0: none)
	wjCount  *uint64 // and messages put
	ridx     *uint64
	gets     *uint64
	spaceSeq *uint32
	wwaiting *uint32
	rjIdx    *uint64 // the readers' journal: intended read index (0: none)
	rjCount  *uint64 // and messages got
	done     *uint64 // tasks done (JoinableQueue)
	doneLow  *uint32 // its low half, which Join sleeps on
	jwaiting *uint32

	scratch []byte
}

const (
	ringMagic   = 0x474e4952 // "RING"
	ringVersion = 2

	ringMagicOff    = 0
	ringFlagsOff    = 4
	ringCapOff      = 8
	ringMaxsizeOff  = 16
	ringJoinWaitOff = 28
	ringDoneOff     = 32
	ringWMutexOff   = 64
	ringWIdxOff     = 128
	ringPutsOff     = 136
	ringDataSeqOff  = 144
	ringRWaitOff    = 148
	ringWJIdxOff    = 152
	ringWJCountOff  = 160
	ringRMutexOff   = 192
	ringRIdxOff     = 256
	ringGetsOff     = 264
	ringSpaceSeqOff = 272
	ringWWaitOff    = 276
	ringRJIdxOff    = 280
	ringRJCountOff  = 288
	ringHoldersOff  = 320
	ringHeaderSize  = 1024

	flagJoinable = 1 << 0
	flagTrack    = 1 << 1
	flagKnown    = flagJoinable | flagTrack
	flagVersion  = ringVersion << 24

	frameHeader   = 8
	kindWhole     = 1
	kindOutOfLine = 3
	outOfLineSize = 16 // an out-of-line frame's payload: block offset, length

	// ringSpin is how many times a waiter looks before sleeping, where
	// another CPU can change what it looks at.
	ringSpin = 4000

	// trackSlice bounds the sleeps of a waiter on a tracked ring, so a
	// peer that died is noticed promptly.
	trackSlice = 50 * time.Millisecond
)

// NewRing allocates an empty Ring.
func (a *Arena) NewRing(o RingOptions) (*Ring, error) {
	size := o.Size
	if size == 0 {
		size = DefaultRingSize
	}
	if size < MinRingSize || size > MaxRingSize {
		return nil, fmt.Errorf("ring: got a buffer of %d bytes, want %s to %s", size, formatSize(MinRingSize), formatSize(MaxRingSize))
	}
	if o.Maxsize < 0 {
		return nil, fmt.Errorf("ring: got maxsize %d, want 0 (no limit) or more", o.Maxsize)
	}
	size = 1 << bits.Len(uint(size-1))
	off, err := a.Alloc(ringHeaderSize + size)
	if err != nil {
		return nil, err
	}
	flags := uint32(flagVersion)
	if o.Joinable {
		flags |= flagJoinable
	}
	if o.Track {
		flags |= flagTrack
	}
	atomic.StoreUint64(a.Uint64(off+ringCapOff), uint64(size))
	atomic.StoreUint64(a.Uint64(off+ringMaxsizeOff), uint64(o.Maxsize))
	atomic.StoreUint32(a.Uint32(off+ringFlagsOff), flags)
	atomic.StoreUint32(a.Uint32(off+ringMagicOff), ringMagic)
	return a.RingAt(off)
}

// RingAt returns a handle to the Ring at off, which another process may
// have made.
func (a *Arena) RingAt(off uint64) (*Ring, error) {
	if off%64 != 0 || off < heapStart || off+ringHeaderSize > uint64(a.size) || atomic.LoadUint32(a.Uint32(off+ringMagicOff)) != ringMagic {
		return nil, fmt.Errorf("ring: no ring at offset %d of the arena", off)
	}
	flags := atomic.LoadUint32(a.Uint32(off + ringFlagsOff))
	if flags>>24 != ringVersion {
		return nil, fmt.Errorf("ring: got layout version %d, want %d", flags>>24, ringVersion)
	}
	if flags&0xffffff&^flagKnown != 0 {
		return nil, fmt.Errorf("ring: got flags %#x at offset %d, want only %#x", flags&0xffffff, off, flagKnown)
	}
	capacity := atomic.LoadUint64(a.Uint64(off + ringCapOff))
	if capacity < MinRingSize || capacity > MaxRingSize || capacity&(capacity-1) != 0 || off+ringHeaderSize+capacity > uint64(a.size) {
		return nil, fmt.Errorf("ring: bad capacity %d at offset %d", capacity, off)
	}
	maxsize := atomic.LoadUint64(a.Uint64(off + ringMaxsizeOff))
	if maxsize > 1<<62 {
		return nil, fmt.Errorf("ring: bad maxsize %d at offset %d", maxsize, off)
	}
	r := &Ring{
		a:        a,
		off:      off,
		buf:      a.Bytes(off+ringHeaderSize, int(capacity)),
		capacity: capacity,
		mask:     capacity - 1,
		maxFrame: capacity / 4,
		maxsize:  int64(maxsize),
		flags:    flags,
		wmu:      a.MutexAt(off + ringWMutexOff),
		rmu:      a.MutexAt(off + ringRMutexOff),
		widx:     a.Uint64(off + ringWIdxOff),
		puts:     a.Uint64(off + ringPutsOff),
		dataSeq:  a.Uint32(off + ringDataSeqOff),
		rwaiting: a.Uint32(off + ringRWaitOff),
		wjIdx:    a.Uint64(off + ringWJIdxOff),
		wjCount:  a.Uint64(off + ringWJCountOff),
		ridx:     a.Uint64(off + ringRIdxOff),
		gets:     a.Uint64(off + ringGetsOff),
		spaceSeq: a.Uint32(off + ringSpaceSeqOff),
		wwaiting: a.Uint32(off + ringWWaitOff),
		rjIdx:    a.Uint64(off + ringRJIdxOff),
		rjCount:  a.Uint64(off + ringRJCountOff),
		done:     a.Uint64(off + ringDoneOff),
		doneLow:  a.Uint32(off + ringDoneOff),
		jwaiting: a.Uint32(off + ringJoinWaitOff),
	}
	what := "a Queue"
	if r.Tracked() {
		what = "a Pipe"
	}
	r.wmu.what = what + "'s writer lock"
	r.rmu.what = what + "'s reader lock"
	return r, nil
}

// Offset returns where the Ring lives in the arena.
func (r *Ring) Offset() uint64 { return r.off }

// Free gives the Ring's memory back to the arena, with the blocks of the
// out-of-line messages still in it and the holder slots it grew. Nobody
// may use it after.
func (r *Ring) Free() {
	r.redoWrite()
	r.redoRead()
	rd, end := atomic.LoadUint64(r.ridx), atomic.LoadUint64(r.widx)
	for rd < end && end-rd <= r.capacity {
		n, kind := r.header(rd)
		if kind == kindOutOfLine && n == outOfLineSize {
			block, _ := r.outOfLine(rd)
			r.a.Free(block)
		} else if kind != kindWhole || frameSize(int(n)) > r.maxFrame {
			break
		}
		rd += frameSize(int(n))
	}
	for _, side := range []RingSide{RingReader, RingWriter} {
		next := atomic.LoadUint64(r.a.Uint64(r.holderBlock(side)))
		for hops := 0; next != 0 && r.validBlock(next) && hops < maxHolderBlocks; hops++ {
			blk := next
			next = atomic.LoadUint64(r.a.Uint64(blk))
			r.a.Free(blk)
		}
	}
	r.a.Free(r.off)
}

// Capacity returns the size of the buffer in bytes.
func (r *Ring) Capacity() int { return int(r.capacity) }

// Maxsize returns the most messages the ring holds (0: no limit).
func (r *Ring) Maxsize() int { return int(r.maxsize) }

// Joinable reports whether the ring counts unfinished tasks.
func (r *Ring) Joinable() bool { return r.flags&flagJoinable != 0 }

// Tracked reports whether the ring records the holders of its ends.
func (r *Ring) Tracked() bool { return r.flags&flagTrack != 0 }

// Len returns how many messages are in the ring.
func (r *Ring) Len() int {
	r.settle()
	n := int64(atomic.LoadUint64(r.puts) - atomic.LoadUint64(r.gets))
	return int(max(n, 0))
}

// Empty reports whether the ring holds nothing to read.
func (r *Ring) Empty() bool {
	r.settle()
	return atomic.LoadUint64(r.widx) == atomic.LoadUint64(r.ridx)
}

// Full reports whether a Put would have to wait for maxsize.
func (r *Ring) Full() bool { return r.maxsize > 0 && int64(r.Len()) >= r.maxsize }

// frameSize is the bytes a frame with n payload bytes takes.
func frameSize(n int) uint64 { return uint64(frameHeader+n+7) &^ 7 }

// The journals (see Ring).

// commitWrite publishes the frame that ends at idx, one more message. The
// caller holds the writers' Mutex and is in a critical section.
//
// Only the store that arms the journal and the store of the index, which
// readers acquire, need to be atomic (each an exchange on amd64, as costly
// as the atomic add it replaces); the others are plain stores, made in
// program order by the compiler between those two and by the CPU
// (aligned, single-copy atomic). A process killed at any point has made
// exactly the stores before it, which is all the journal relies on.
func (r *Ring) commitWrite(idx uint64) {
	n := *r.puts + 1
	*r.wjCount = n
	atomic.StoreUint64(r.wjIdx, idx)
	*r.puts = n
	atomic.StoreUint64(r.widx, idx)
	*r.wjIdx = 0
}

// commitRead publishes the read index idx, past one more message, as
// commitWrite does. The caller holds the readers' Mutex and is in a
// critical section.
func (r *Ring) commitRead(idx uint64) {
	n := *r.gets + 1
	*r.rjCount = n
	atomic.StoreUint64(r.rjIdx, idx)
	atomic.StoreUint64(r.ridx, idx)
	*r.gets = n
	*r.rjIdx = 0
}

// redoWrite finishes a commit that a dead writer left half-way, and
// reports whether there was one. The caller holds the writers' Mutex.
func (r *Ring) redoWrite() bool {
	idx := atomic.LoadUint64(r.wjIdx)
	if idx == 0 {
		return false
	}
	atomic.StoreUint64(r.puts, atomic.LoadUint64(r.wjCount))
	atomic.StoreUint64(r.widx, idx)
	atomic.StoreUint64(r.wjIdx, 0)
	return true
}

// redoRead finishes a commit that a dead reader left half-way, and
// reports whether there was one. The caller holds the readers' Mutex.
func (r *Ring) redoRead() bool {
	idx := atomic.LoadUint64(r.rjIdx)
	if idx == 0 {
		return false
	}
	atomic.StoreUint64(r.ridx, idx)
	atomic.StoreUint64(r.gets, atomic.LoadUint64(r.rjCount))
	atomic.StoreUint64(r.rjIdx, 0)
	return true
}

// settle finishes the commits of dead processes, for those that only look
// at the ring: a journal armed under a Mutex whose holder is dead is
// redone by taking that Mutex over. A journal armed by a live holder is
// that holder's to finish. Two loads when nothing is armed.
func (r *Ring) settle() {
	if atomic.LoadUint64(r.wjIdx) != 0 && r.settleSide(r.wmu, r.redoWrite) {
		wakeAll(r.dataSeq, r.rwaiting)
	}
	if atomic.LoadUint64(r.rjIdx) != 0 && r.settleSide(r.rmu, r.redoRead) {
		wakeAll(r.spaceSeq, r.wwaiting)
	}
}

func (r *Ring) settleSide(m *Mutex, redo func() bool) bool {
	if r.a.Alive(m.Holder()) {
		return false
	}
	EnterCritical()
	defer LeaveCritical()
	if !m.TryLock() {
		return false
	}
	did := redo()
	m.Unlock()
	return did
}

// deadline is a blocking call's limit, made from its timeout.
type deadline struct {
	at      time.Time
	forever bool
	now     bool // timeout 0: do not wait
}

func makeDeadline(timeout time.Duration) deadline {
	switch {
	case timeout < 0:
		return deadline{forever: true}
	case timeout == 0:
		return deadline{now: true}
	}
	return deadline{at: time.Now().Add(timeout)}
}

// left is the time left: -1 for no limit, 0 when it has run out.
func (d *deadline) left() time.Duration {
	switch {
	case d.forever:
		return -1
	case d.now:
		return 0
	}
	return max(time.Until(d.at), 0)
}

// lockCritical opens a critical section and takes m within the deadline,
// so that termination never finds this process holding m outside a
// section (others would have to recover m, with a warning). The wait for
// m itself gives way to termination: then the section closes, and the
// process ends there, holding nothing. On error the section is closed.
func lockCritical(m *Mutex, ctx context.Context, dl *deadline) error {
	EnterCritical()
	if m.TryLock() {
		return nil
	}
	left := dl.left()
	if left == 0 {
		LeaveCritical()
		return ErrTimeout
	}
	wctx, stop := withTermination(ctx)
	err := m.Lock(wctx, left)
	stop()
	if err != nil {
		LeaveCritical() // where a pending termination ends the process
		return err
	}
	return nil
}

// withTermination is ctx (may be nil), also done once termination is
// pending.
func withTermination(ctx context.Context) (context.Context, func()) {
	if !TermDeferred() {
		return ctx, func() {}
	}
	if ctx == nil {
		return TermContext(), func() {}
	}
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(TermContext(), cancel)
	return c, func() { stop(); cancel() }
}

// copyIn writes src at index idx, wrapping around the buffer's end.
func (r *Ring) copyIn(idx uint64, src []byte) {
	p := idx & r.mask
	n := copy(r.buf[p:], src)
	if n < len(src) {
		copy(r.buf, src[n:])
	}
}

// copyOut reads len(dst) bytes at index idx.
func (r *Ring) copyOut(dst []byte, idx uint64) {
	p := idx & r.mask
	n := copy(dst, r.buf[p:])
	if n < len(dst) {
		copy(dst[n:], r.buf)
	}
}

// header reads the frame header at idx: payload length and kind.
func (r *Ring) header(idx uint64) (n uint64, kind byte) {
	h := binary.LittleEndian.Uint64(r.buf[idx&r.mask:])
	return h & 0xffffffff, byte(h >> 32)
}

func (r *Ring) setHeader(idx uint64, n int, kind byte) {
	binary.LittleEndian.PutUint64(r.buf[idx&r.mask:], uint64(n)|uint64(kind)<<32)
}

// outOfLine reads the block offset and length of the out-of-line frame
// at idx.
func (r *Ring) outOfLine(idx uint64) (block, n uint64) {
	var d [outOfLineSize]byte
	r.copyOut(d[:], idx+frameHeader)
	return binary.LittleEndian.Uint64(d[0:]), binary.LittleEndian.Uint64(d[8:])
}

// room reports whether a frame of size bytes fits now, and whether
// maxsize allows another message.
func (r *Ring) room(w, size uint64) bool {
	if w-atomic.LoadUint64(r.ridx)+size > r.capacity {
		return false
	}
	if r.maxsize > 0 && int64(atomic.LoadUint64(r.puts)-atomic.LoadUint64(r.gets)) >= r.maxsize {
		return false
	}
	return true
}

// wakeOne wakes a waiter counted in waiting, if there is one.
func wakeOne(seq, waiting *uint32) {
	if atomic.LoadUint32(waiting) != 0 {
		atomic.AddUint32(seq, 1)
		futexWake(seq, 1)
	}
}

// wakeAll wakes every waiter counted in waiting.
func wakeAll(seq, waiting *uint32) {
	if atomic.LoadUint32(waiting) != 0 {
		atomic.AddUint32(seq, 1)
		futexWakeAll(seq)
	}
}

// Put appends msg. With block false, or when the timeout (< 0: none) runs
// out, it returns ErrTimeout if msg cannot go in; ctx.Err() when ctx (may
// be nil) is cancelled; ErrBrokenPipe on a tracked ring every reader has
// left; the allocator's error (wrapping ErrArenaFull) when msg needs a
// block of its own and the arena has no room for it.
func (r *Ring) Put(ctx context.Context, msg []byte, block bool, timeout time.Duration) error {
	return r.PutParts(ctx, nil, msg, block, timeout)
}

// PutParts is Put of the message head followed by body, which saves the
// caller joining them.
func (r *Ring) PutParts(ctx context.Context, head, body []byte, block bool, timeout time.Duration) error {
	if !block {
		timeout = 0
	}
	m := parts{head, body}
	if frameSize(m.len()) > r.maxFrame {
		blk, err := r.store(m)
		if err != nil {
			return err
		}
		if err := r.putFrame(ctx, kindOutOfLine, outOfLineParts(blk, m.len()), timeout); err != nil {
			r.a.Free(blk)
			return err
		}
		return nil
	}
	return r.putFrame(ctx, kindWhole, m, timeout)
}

// Message is a message made ready, ahead of its put, by Prepare: the
// caller's bytes copied, into a block of the arena when they need one.
// Each Message is put once (PutMessage) or discarded (Discard).
type Message struct {
	data  []byte // a whole message
	block uint64 // or an out-of-line one: its block and length
	n     int
}

// Len is the message's length in bytes.
func (m Message) Len() int {
	if m.block != 0 {
		return m.n
	}
	return len(m.data)
}

// Prepare copies head followed by body into a Message for this ring. A
// message too large for a frame gets its block now, so that an arena with
// no room for it fails here, with the allocator's error.
func (r *Ring) Prepare(head, body []byte) (Message, error) {
	m := parts{head, body}
	if frameSize(m.len()) > r.maxFrame {
		blk, err := r.store(m)
		if err != nil {
			return Message{}, err
		}
		return Message{block: blk, n: m.len()}, nil
	}
	data := make([]byte, 0, m.len())
	return Message{data: append(append(data, head...), body...)}, nil
}

// PutMessage is Put of a prepared Message. When it fails, m is still the
// caller's, to put again or discard.
func (r *Ring) PutMessage(ctx context.Context, m Message, block bool, timeout time.Duration) error {
	if !block {
		timeout = 0
	}
	if m.block != 0 {
		return r.putFrame(ctx, kindOutOfLine, outOfLineParts(m.block, m.n), timeout)
	}
	if frameSize(len(m.data)) > r.maxFrame {
		return fmt.Errorf("ring: got a message of %d bytes prepared for another ring, want one prepared for this ring", len(m.data))
	}
	return r.putFrame(ctx, kindWhole, parts{body: m.data}, timeout)
}

// Discard gives back what a Message that will not be put holds.
func (r *Ring) Discard(m Message) {
	if m.block != 0 {
		r.a.Free(m.block)
	}
}

// store copies a message into a block of its own.
func (r *Ring) store(m parts) (uint64, error) {
	blk, err := r.a.Alloc(m.len())
	if err != nil {
		return 0, err
	}
	b := r.a.Bytes(blk, m.len())
	copy(b[copy(b, m.head):], m.body)
	return blk, nil
}

// outOfLineParts is the payload of an out-of-line frame.
func outOfLineParts(blk uint64, n int) parts {
	d := make([]byte, outOfLineSize)
	binary.LittleEndian.PutUint64(d[0:], blk)
	binary.LittleEndian.PutUint64(d[8:], uint64(n))
	return parts{head: d}
}

// parts is a message in two pieces, head then body.
type parts struct{ head, body []byte }

func (m parts) len() int { return len(m.head) + len(m.body) }

// putFrame appends one frame of kind with payload m, within timeout.
func (r *Ring) putFrame(ctx context.Context, kind byte, m parts, timeout time.Duration) error {
	size := frameSize(m.len())
	tr := activeTracer()
	if r.flags&flagTrack == 0 || r.anyHolder(RingReader) {
		EnterCritical()
		if r.wmu.tryCAS() {
			r.redoWrite()
			w := atomic.LoadUint64(r.widx)
			if r.room(w, size) {
				var at int64
				if tr != nil {
					at = tr.Now() // before the commit: a get sees it after
				}
				r.publish(w, size, kind, m)
				seq := *r.puts
				r.wmu.Unlock()
				LeaveCritical()
				wakeOne(r.dataSeq, r.rwaiting)
				if tr != nil {
					r.traceMessage(tr, false, seq, at, at, false)
				}
				return nil
			}
			r.wmu.Unlock()
		}
		LeaveCritical()
	}
	return r.putSlow(ctx, kind, m, size, timeout, tr)
}

// publish writes a frame at w and publishes it. The caller holds the
// writers' Mutex and is in a critical section.
func (r *Ring) publish(w, size uint64, kind byte, m parts) {
	r.setHeader(w, m.len(), kind)
	r.copyIn(w+frameHeader, m.head)
	r.copyIn(w+frameHeader+uint64(len(m.head)), m.body)
	r.commitWrite(w + size)
}

func (r *Ring) putSlow(ctx context.Context, kind byte, m parts, size uint64, timeout time.Duration, tr Tracer) error {
	dl := makeDeadline(timeout)
	if err := r.checkReaders(); err != nil {
		return err
	}
	var start int64
	if tr != nil {
		start = tr.Now()
	}
	blocked := false
	for {
		if err := lockCritical(r.wmu, ctx, &dl); err != nil {
			return err
		}
		r.redoWrite()
		w := atomic.LoadUint64(r.widx)
		if r.room(w, size) {
			var at int64
			if tr != nil {
				at = tr.Now()
			}
			r.publish(w, size, kind, m)
			seq := *r.puts
			r.wmu.Unlock()
			LeaveCritical()
			wakeOne(r.dataSeq, r.rwaiting)
			if tr != nil {
				r.traceMessage(tr, false, seq, at, start, blocked)
			}
			return nil
		}
		r.wmu.Unlock()
		LeaveCritical()
		blocked = true
		if err := r.awaitRoom(ctx, &dl, size); err != nil {
			return err
		}
	}
}

// awaitRoom waits until a frame of size bytes could fit.
func (r *Ring) awaitRoom(ctx context.Context, dl *deadline, size uint64) error {
	var check func() error
	if r.flags&flagTrack != 0 {
		check = r.checkReaders
	}
	return r.await(ctx, r.spaceSeq, r.wwaiting, dl, func() bool {
		return r.room(atomic.LoadUint64(r.widx), size)
	}, check)
}

// checkReaders reports ErrBrokenPipe when a tracked ring has no reader
// left.
func (r *Ring) checkReaders() error {
	if r.flags&flagTrack != 0 && r.sideGone(RingReader) {
		return ErrBrokenPipe
	}
	return nil
}

// Get removes the oldest message and returns it, in a buffer that the next
// Get on this handle may reuse. With block false, or when the timeout
// (< 0: none) runs out, it returns ErrTimeout if there is none; ctx.Err()
// when ctx (may be nil) is cancelled; ErrEOF on an empty tracked ring
// whose every writer has gone.
func (r *Ring) Get(ctx context.Context, block bool, timeout time.Duration) ([]byte, error) {
	if !block {
		timeout = 0
	}
	tr := activeTracer()
	EnterCritical()
	if r.rmu.tryCAS() {
		r.redoRead()
		rd := atomic.LoadUint64(r.ridx)
		if atomic.LoadUint64(r.widx) != rd {
			if n, kind := r.header(rd); kind == kindWhole && frameSize(int(n)) <= r.maxFrame {
				msg := r.takeWhole(rd, n)
				seq := *r.gets
				r.rmu.Unlock()
				LeaveCritical()
				r.afterGet()
				if tr != nil {
					at := tr.Now() // after the commit
					r.traceMessage(tr, true, seq, at, at, false)
				}
				return msg, nil
			}
		}
		r.rmu.Unlock()
	}
	LeaveCritical()
	return r.getSlow(ctx, timeout, tr)
}

// Reused reports whether msg, which Get returned, lies in the buffer the
// next Get reuses; a message Get returns otherwise is the caller's to
// keep.
func (r *Ring) Reused(msg []byte) bool {
	return cap(msg) > 0 && cap(r.scratch) > 0 && &msg[:1][0] == &r.scratch[:1][0]
}

// takeWhole copies out the whole message at rd and publishes the read
// index. The caller holds the readers' Mutex, in a critical section.
func (r *Ring) takeWhole(rd, n uint64) []byte {
	if uint64(cap(r.scratch)) < n {
		r.scratch = make([]byte, n, max(n, 256))
	}
	msg := r.scratch[:n]
	r.copyOut(msg, rd+frameHeader)
	r.commitRead(rd + frameSize(int(n)))
	return msg
}

// afterGet wakes the writers waiting for room, and another reader when
// messages are left.
func (r *Ring) afterGet() {
	wakeAll(r.spaceSeq, r.wwaiting)
	if atomic.LoadUint32(r.rwaiting) != 0 && atomic.LoadUint64(r.widx) != atomic.LoadUint64(r.ridx) {
		wakeOne(r.dataSeq, r.rwaiting)
	}
}

func (r *Ring) getSlow(ctx context.Context, timeout time.Duration, tr Tracer) ([]byte, error) {
	dl := makeDeadline(timeout)
	var start int64
	if tr != nil {
		start = tr.Now()
	}
	blocked := false
	for {
		if err := lockCritical(r.rmu, ctx, &dl); err != nil {
			return nil, err
		}
		r.redoRead()
		msg, blk, err := r.readLocked()
		seq := *r.gets
		r.rmu.Unlock()
		LeaveCritical()
		if msg != nil || err != nil {
			// A reader killed before this Free leaks the block.
			r.a.Free(blk)
			r.afterGet()
			if tr != nil && msg != nil {
				r.traceMessage(tr, true, seq, tr.Now(), start, blocked)
			}
			return msg, err
		}
		blocked = true
		if err := r.awaitData(ctx, &dl); err != nil {
			return nil, err
		}
	}
}

// readLocked reads the next message, nil when the ring is empty. For an
// out-of-line message it also returns the block, for the caller to free
// once it has released the readers' Mutex. The caller holds that Mutex,
// in a critical section.
func (r *Ring) readLocked() (msg []byte, blk uint64, err error) {
	rd := atomic.LoadUint64(r.ridx)
	if atomic.LoadUint64(r.widx) == rd {
		return nil, 0, nil
	}
	n, kind := r.header(rd)
	switch {
	case kind == kindWhole && frameSize(int(n)) <= r.maxFrame:
		return r.takeWhole(rd, n), 0, nil
	case kind == kindOutOfLine && n == outOfLineSize:
		blk, size := r.outOfLine(rd)
		if blk < heapStart || blk%64 != 0 || blk+size > uint64(r.a.size) || blk+size < blk {
			r.commitRead(rd + frameSize(int(n)))
			return nil, 0, fmt.Errorf("ring: got a message of %d bytes at offset %d, outside the arena of %s", size, blk, formatSize(r.a.size))
		}
		msg = make([]byte, size)
		copy(msg, r.a.Bytes(blk, int(size)))
		r.commitRead(rd + frameSize(int(n)))
		return msg, blk, nil
	}
	return nil, 0, fmt.Errorf("ring: got a frame of kind %d and %d bytes at index %d, want a message frame", kind, n, rd)
}

// awaitData waits until the ring is not empty; on a tracked ring,
// ErrEOF when it stays empty and every writer has gone.
func (r *Ring) awaitData(ctx context.Context, dl *deadline) error {
	ready := func() bool { return atomic.LoadUint64(r.widx) != atomic.LoadUint64(r.ridx) }
	var check func() error
	if r.flags&flagTrack != 0 {
		check = func() error {
			if r.sideGone(RingWriter) {
				r.settle() // what a writer that just died armed
				if !ready() {
					return ErrEOF
				}
			}
			return nil
		}
	}
	return r.await(ctx, r.dataSeq, r.rwaiting, dl, ready, check)
}

// Poll waits until there is something to read (or, on a tracked ring, the
// end of file to report), at most timeout (< 0: forever), and reports
// whether there is.
func (r *Ring) Poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if !r.Empty() {
		return true, nil
	}
	dl := makeDeadline(timeout)
	switch err := r.awaitData(ctx, &dl); err {
	case nil, ErrEOF:
		return true, nil
	case ErrTimeout:
		return false, nil
	default:
		return false, err
	}
}

// await waits until ready() holds: it spins a little, then sleeps on seq
// in bounded slices, counted in waiting so that the other side wakes it.
// Before each look it finishes the commits of dead processes (settle).
// check, when not nil, runs before every sleep and may end the wait with
// its error.
func (r *Ring) await(ctx context.Context, seq, waiting *uint32, dl *deadline, ready func() bool, check func() error) error {
	if spinCPUs && !dl.now {
		for range ringSpin {
			if ready() {
				return nil
			}
		}
	}
	atomic.AddUint32(waiting, 1)
	defer atomic.AddUint32(waiting, ^uint32(0))
	slice := waitSlice
	if r.flags&flagTrack != 0 {
		slice = trackSlice
	}
	watching := false
	for {
		s := atomic.LoadUint32(seq)
		r.settle()
		if ready() {
			return nil
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !watching && ctx.Done() != nil {
				watching = true
				stop := context.AfterFunc(ctx, func() { futexWakeAll(seq) })
				defer stop()
			}
		}
		left := dl.left()
		if left == 0 {
			return ErrTimeout
		}
		sleep := slice
		if left > 0 {
			sleep = min(sleep, left)
		}
		futexWait(seq, s, sleep)
	}
}

// JoinableQueue: unfinished tasks, the messages put minus the tasks done.

// Unfinished returns how many messages were put and not yet marked done.
func (r *Ring) Unfinished() int {
	r.settle()
	n := int64(atomic.LoadUint64(r.puts) - atomic.LoadUint64(r.done))
	return int(max(n, 0))
}

// TaskDone marks one message done; ErrTaskDone when none is unfinished.
func (r *Ring) TaskDone() error {
	r.settle()
	for {
		d := atomic.LoadUint64(r.done)
		p := atomic.LoadUint64(r.puts)
		if d >= p {
			return ErrTaskDone
		}
		if atomic.CompareAndSwapUint64(r.done, d, d+1) {
			if d+1 == p && atomic.LoadUint32(r.jwaiting) != 0 {
				futexWakeAll(r.doneLow)
			}
			return nil
		}
	}
}

// Join waits until every message put has been marked done, at most
// timeout (< 0: forever), and reports whether they were.
func (r *Ring) Join(ctx context.Context, timeout time.Duration) (bool, error) {
	if r.Unfinished() == 0 {
		return true, nil
	}
	dl := makeDeadline(timeout)
	atomic.AddUint32(r.jwaiting, 1)
	defer atomic.AddUint32(r.jwaiting, ^uint32(0))
	watching := false
	for {
		v := atomic.LoadUint32(r.doneLow)
		if r.Unfinished() == 0 {
			return true, nil
		}
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if !watching && ctx.Done() != nil {
				watching = true
				stop := context.AfterFunc(ctx, func() { futexWakeAll(r.doneLow) })
				defer stop()
			}
		}
		left := dl.left()
		if left == 0 {
			return false, nil
		}
		sleep := waitSlice
		if left > 0 {
			sleep = min(sleep, left)
		}
		futexWait(r.doneLow, v, sleep)
	}
}

// Holders of a tracked ring's ends. Each side has a chain of blocks of
// 64-bit slots: the first, of holderSlots slots, in the ring's header;
// the others, of blockSlots slots, allocated in the arena as they are
// needed and linked by their first word (0: the end of the chain). A slot
// holds 0 (free); a token (high half 0) for a process holding that end;
// or, for a handle sent and not yet received, the sender's token with an
// expiry time (Unix seconds) in the high half. An end is gone when no slot
// holds a live process or an unexpired handle in flight.
//
// A process that needs a slot takes a free one; failing that, the slot of
// a holder that died or of a handle in flight that expired; failing that,
// it grows the chain by a block whose first slot it has already taken.
// Slots are taken and given back by compare-and-swap, without a lock, and
// blocks are only freed with the ring, so any number of processes can hold
// an end, and no count of holders, live or dead, keeps an end open.

const (
	holderSlots     = 31
	holderSideSize  = 8 + holderSlots*8
	blockSlots      = 63
	holderBlockSize = 8 + blockSlots*8
	maxHolderBlocks = 1 << 20 // bounds a walk of a chain the arena's memory corrupted

	// pendingLife is how long a handle to a tracked ring's end, sent but
	// not yet received, keeps that end open.
	pendingLife = 10 // seconds
)

// holderBlock returns the offset of side's first block of slots.
func (r *Ring) holderBlock(side RingSide) uint64 {
	return r.off + ringHoldersOff + uint64(side)*holderSideSize
}

// validBlock reports whether off could be a block of slots Alloc gave.
func (r *Ring) validBlock(off uint64) bool {
	return off%64 == 0 && off >= heapStart && off+holderBlockSize <= uint64(r.a.size)
}

// slotWalk visits the slots of one side: for w := r.slots(side); w.next(); { w.slot }.
type slotWalk struct {
	r    *Ring
	blk  uint64 // the block being walked
	i, n int    // the next slot's index in it, and its slot count
	hops int
	slot *uint64
}

func (r *Ring) slots(side RingSide) slotWalk {
	return slotWalk{r: r, blk: r.holderBlock(side), n: holderSlots}
}

// next moves to the next slot, and reports whether there is one.
func (w *slotWalk) next() bool {
	for w.i == w.n {
		nb := atomic.LoadUint64(w.r.a.Uint64(w.blk))
		if nb == 0 || !w.r.validBlock(nb) || w.hops >= maxHolderBlocks {
			return false
		}
		w.blk, w.i, w.n = nb, 0, blockSlots
		w.hops++
	}
	w.slot = w.r.a.Uint64(w.blk + 8 + uint64(w.i)*8)
	w.i++
	return true
}

// Hold records this process as a holder of side: it made the ring, or
// received a handle to that end (which takes the place of a handle in
// flight, if one is recorded). It fails only when it needs a new block of
// slots and the arena has no room for one.
func (r *Ring) Hold(side RingSide) error {
	for w := r.slots(side); w.next(); {
		if v := atomic.LoadUint64(w.slot); v>>32 != 0 && atomic.CompareAndSwapUint64(w.slot, v, uint64(r.a.me)) {
			return nil
		}
	}
	return r.claimSlot(side, uint64(r.a.me))
}

// Send records a handle to side in flight to another process, which holds
// the end open for pendingLife seconds or until it is received. It fails
// as Hold does.
func (r *Ring) Send(side RingSide) error {
	return r.claimSlot(side, uint64(time.Now().Unix()+pendingLife)<<32|uint64(r.a.me))
}

func (r *Ring) claimSlot(side RingSide, v uint64) error {
	for w := r.slots(side); w.next(); {
		if atomic.LoadUint64(w.slot) == 0 && atomic.CompareAndSwapUint64(w.slot, 0, v) {
			return nil
		}
	}
	now := uint64(time.Now().Unix())
	for w := r.slots(side); w.next(); {
		if old := atomic.LoadUint64(w.slot); r.stale(old, now) && atomic.CompareAndSwapUint64(w.slot, old, v) {
			return nil
		}
	}
	return r.growSlots(side, v)
}

// stale reports whether slot value v names a holder that died or a handle
// in flight that expired.
func (r *Ring) stale(v, now uint64) bool {
	switch {
	case v == 0:
		return false
	case v>>32 != 0:
		return v>>32 <= now
	}
	return !r.a.Alive(uint32(v))
}

// growSlots links a new block of slots at the end of side's chain, its
// first slot holding v. A process killed before the link leaks the block.
func (r *Ring) growSlots(side RingSide, v uint64) error {
	nb, err := r.a.Alloc(holderBlockSize)
	if err != nil {
		return fmt.Errorf("ring: cannot record another holder of a pipe's end: %w", err)
	}
	atomic.StoreUint64(r.a.Uint64(nb+8), v)
	blk := r.holderBlock(side)
	for hops := 0; hops < maxHolderBlocks; hops++ {
		link := r.a.Uint64(blk)
		next := atomic.LoadUint64(link)
		if next == 0 {
			if atomic.CompareAndSwapUint64(link, 0, nb) {
				return nil
			}
			continue
		}
		if !r.validBlock(next) {
			break
		}
		blk = next
	}
	r.a.Free(nb)
	return fmt.Errorf("ring: the holder slots of a pipe's end at offset %d are corrupt", r.off)
}

// Drop removes one of this process's holds on side (its close), and wakes
// the other side's waiters so they can see the end gone.
func (r *Ring) Drop(side RingSide) {
	me := uint64(r.a.me)
	for w := r.slots(side); w.next(); {
		if atomic.LoadUint64(w.slot) == me && atomic.CompareAndSwapUint64(w.slot, me, 0) {
			break
		}
	}
	if side == RingWriter {
		atomic.AddUint32(r.dataSeq, 1)
		futexWakeAll(r.dataSeq)
	} else {
		atomic.AddUint32(r.spaceSeq, 1)
		futexWakeAll(r.spaceSeq)
	}
}

// anyHolder reports whether any slot of side is taken, without looking
// whether its process lives: the cheap test of a send.
func (r *Ring) anyHolder(side RingSide) bool {
	for w := r.slots(side); w.next(); {
		if atomic.LoadUint64(w.slot) != 0 {
			return true
		}
	}
	return false
}

// SideGone reports whether no process holds side any more: each holder
// closed it or died, and no handle to it is in flight.
func (r *Ring) SideGone(side RingSide) bool { return r.sideGone(side) }

func (r *Ring) sideGone(side RingSide) bool {
	now := uint64(time.Now().Unix())
	for w := r.slots(side); w.next(); {
		v := atomic.LoadUint64(w.slot)
		switch {
		case v == 0:
		case r.stale(v, now):
			atomic.CompareAndSwapUint64(w.slot, v, 0) // free it for the next holder
		default:
			return false
		}
	}
	return true
}
