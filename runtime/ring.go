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
	// message larger than a quarter of it is streamed in pieces.
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
//	0    magic, flags, capacity, maxsize, unfinished tasks and join
//	     waiters (JoinableQueue), the stream in progress
//	64   the writers' Mutex
//	128  write index (published), messages put, data sequence word,
//	     readers waiting
//	192  the readers' Mutex
//	256  read index, messages got, space sequence word, writers waiting
//	320  holders of each end (tracked rings): an overflow flag and
//	     holderSlots slots
//
// Indices count bytes since the ring was made and never wrap; a position
// in the buffer is the index modulo the capacity. The buffer holds
// frames, 8-byte aligned, that may wrap around its end:
//
//	whole message:  u32 length, u8 1, 3 bytes 0, payload
//	piece:          u32 length, u8 2, u8 flags (first, last), 2 bytes 0,
//	                u64 stream id, u64 total length, data
//
// No torn messages: a writer holds the writers' Mutex, waits until the
// frame fits (capacity minus the bytes between the read and write
// indices), copies the frame in and only then publishes it with one atomic
// store of the write index. A writer killed before that store leaves
// nothing visible; the next writer recovers the Mutex (see Mutex) and
// writes over the dead one's bytes. A reader likewise copies a frame out
// and then publishes the read index.
//
// Messages larger than a quarter of the buffer are streamed as pieces, the
// writer holding the writers' Mutex and the reader the readers' Mutex from
// the first piece to the last, so the pieces of two messages never
// interleave. Each piece names its stream (the writer's pid and a
// counter); the header names the stream in progress until its last piece
// is published. A reader waiting for the next piece gives the message up
// when the header names another stream (the writer gave up) or the
// writer's process has died, and skips pieces of streams it is not
// reading (a reader that died mid-message took the start with it).
//
// Waiting: a reader that finds the ring empty releases the readers' Mutex,
// spins briefly, then counts itself in the readers-waiting word and sleeps
// on the data sequence word. A writer bumps that word and wakes one
// sleeper after publishing, only when the waiting word is non-zero; with
// Go's sequentially consistent atomics either the writer sees the count or
// the reader sees the new write index, and FUTEX_WAIT returns at once when
// the sequence moved in between. Writers waiting for room do the same
// with the space sequence word. Sleeps are bounded (waitSlice) so a
// cancelled context, a dead writer or a closed pipe is noticed.
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

	wmu, rmu  *Mutex
	widx      *uint64
	puts      *uint64
	dataSeq   *uint32
	rwaiting  *uint32
	ridx      *uint64
	gets      *uint64
	spaceSeq  *uint32
	wwaiting  *uint32
	active    *uint64
	unfinshed *uint32
	jwaiting  *uint32

	scratch []byte
}

const (
	ringMagic   = 0x474e4952 // "RING"
	ringVersion = 1

	ringMagicOff      = 0
	ringFlagsOff      = 4
	ringCapOff        = 8
	ringMaxsizeOff    = 16
	ringUnfinishedOff = 24
	ringJoinWaitOff   = 28
	ringActiveOff     = 32
	ringWMutexOff     = 64
	ringWIdxOff       = 128
	ringPutsOff       = 136
	ringDataSeqOff    = 144
	ringRWaitOff      = 148
	ringRMutexOff     = 192
	ringRIdxOff       = 256
	ringGetsOff       = 264
	ringSpaceSeqOff   = 272
	ringWWaitOff      = 276
	ringHoldersOff    = 320
	ringHeaderSize    = 1024

	holderSlots    = 31
	holderSideSize = 8 + holderSlots*8

	flagJoinable = 1 << 0
	flagTrack    = 1 << 1
	flagVersion  = ringVersion << 24

	frameHeader = 8
	pieceHeader = frameHeader + 16
	kindWhole   = 1
	kindPiece   = 2
	pieceFirst  = 1
	pieceLast   = 2

	// pendingLife is how long a handle to a tracked ring's end, sent but
	// not yet received, keeps that end open.
	pendingLife = 10 // seconds

	// ringSpin is how many times a waiter looks before sleeping, where
	// another CPU can change what it looks at.
	ringSpin = 4000

	// trackSlice bounds the sleeps of a waiter on a tracked ring, so a
	// peer that died is noticed promptly.
	trackSlice = 50 * time.Millisecond
)

// streamSeq numbers the streams of this process.
var streamSeq atomic.Uint32

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
	if off%64 != 0 || off+ringHeaderSize > uint64(a.size) || atomic.LoadUint32(a.Uint32(off+ringMagicOff)) != ringMagic {
		return nil, fmt.Errorf("ring: no ring at offset %d of the arena", off)
	}
	flags := atomic.LoadUint32(a.Uint32(off + ringFlagsOff))
	if flags>>24 != ringVersion {
		return nil, fmt.Errorf("ring: got layout version %d, want %d", flags>>24, ringVersion)
	}
	capacity := atomic.LoadUint64(a.Uint64(off + ringCapOff))
	if capacity < MinRingSize || capacity > MaxRingSize || capacity&(capacity-1) != 0 || off+ringHeaderSize+capacity > uint64(a.size) {
		return nil, fmt.Errorf("ring: bad capacity %d at offset %d", capacity, off)
	}
	r := &Ring{
		a:         a,
		off:       off,
		buf:       a.Bytes(off+ringHeaderSize, int(capacity)),
		capacity:  capacity,
		mask:      capacity - 1,
		maxFrame:  capacity / 4,
		maxsize:   int64(atomic.LoadUint64(a.Uint64(off + ringMaxsizeOff))),
		flags:     flags,
		wmu:       a.MutexAt(off + ringWMutexOff),
		rmu:       a.MutexAt(off + ringRMutexOff),
		widx:      a.Uint64(off + ringWIdxOff),
		puts:      a.Uint64(off + ringPutsOff),
		dataSeq:   a.Uint32(off + ringDataSeqOff),
		rwaiting:  a.Uint32(off + ringRWaitOff),
		ridx:      a.Uint64(off + ringRIdxOff),
		gets:      a.Uint64(off + ringGetsOff),
		spaceSeq:  a.Uint32(off + ringSpaceSeqOff),
		wwaiting:  a.Uint32(off + ringWWaitOff),
		active:    a.Uint64(off + ringActiveOff),
		unfinshed: a.Uint32(off + ringUnfinishedOff),
		jwaiting:  a.Uint32(off + ringJoinWaitOff),
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

// Free gives the Ring's memory back to the arena. Nobody may use it after.
func (r *Ring) Free() { r.a.Free(r.off) }

// Capacity returns the size of the buffer in bytes.
func (r *Ring) Capacity() int { return int(r.capacity) }

// Maxsize returns the most messages the ring holds (0: no limit).
func (r *Ring) Maxsize() int { return int(r.maxsize) }

// Joinable reports whether the ring counts unfinished tasks.
func (r *Ring) Joinable() bool { return r.flags&flagJoinable != 0 }

// Tracked reports whether the ring records the holders of its ends.
func (r *Ring) Tracked() bool { return r.flags&flagTrack != 0 }

// Len returns how many messages are in the ring (a message being written
// or read counts until it is whole).
func (r *Ring) Len() int {
	n := int64(atomic.LoadUint64(r.puts) - atomic.LoadUint64(r.gets))
	return int(max(n, 0))
}

// Empty reports whether the ring holds nothing to read.
func (r *Ring) Empty() bool { return atomic.LoadUint64(r.widx) == atomic.LoadUint64(r.ridx) }

// Full reports whether a Put would have to wait for maxsize.
func (r *Ring) Full() bool { return r.maxsize > 0 && int64(r.Len()) >= r.maxsize }

// frameSize is the bytes a frame with n payload bytes takes.
func frameSize(n int) uint64 { return uint64(frameHeader+n+7) &^ 7 }

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

// lock takes m within the deadline.
func lockWithin(m *Mutex, ctx context.Context, dl *deadline) error {
	if m.TryLock() {
		return nil
	}
	left := dl.left()
	if left == 0 {
		return ErrTimeout
	}
	return m.Lock(ctx, left)
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

// header reads the frame header at idx: payload length, kind, flags.
func (r *Ring) header(idx uint64) (n uint64, kind, flags byte) {
	h := binary.LittleEndian.Uint64(r.buf[idx&r.mask:])
	return h & 0xffffffff, byte(h >> 32), byte(h >> 40)
}

func (r *Ring) setHeader(idx uint64, n int, kind, flags byte) {
	binary.LittleEndian.PutUint64(r.buf[idx&r.mask:], uint64(n)|uint64(kind)<<32|uint64(flags)<<40)
}

// room reports whether a frame of size bytes fits now, and whether
// maxsize allows another message (count).
func (r *Ring) room(w, size uint64, count bool) bool {
	if w-atomic.LoadUint64(r.ridx)+size > r.capacity {
		return false
	}
	if count && r.maxsize > 0 && int64(atomic.LoadUint64(r.puts)-atomic.LoadUint64(r.gets)) >= r.maxsize {
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
// left.
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
	size := frameSize(m.len())
	if size > r.maxFrame {
		return r.putStream(ctx, m, timeout)
	}
	if r.flags&flagTrack == 0 || r.anyHolder(RingReader) {
		EnterCritical()
		if r.wmu.TryLock() {
			w := atomic.LoadUint64(r.widx)
			if r.room(w, size, true) {
				r.publishWhole(w, size, m)
				r.wmu.Unlock()
				LeaveCritical()
				wakeOne(r.dataSeq, r.rwaiting)
				return nil
			}
			r.wmu.Unlock()
		}
		LeaveCritical()
	}
	return r.putSlow(ctx, m, size, timeout)
}

// parts is a message in two pieces, head then body.
type parts struct{ head, body []byte }

func (m parts) len() int { return len(m.head) + len(m.body) }

// copyParts writes n bytes of m, from its byte off, at index idx.
func (r *Ring) copyParts(idx uint64, m parts, off, n int) {
	if off < len(m.head) {
		k := min(n, len(m.head)-off)
		r.copyIn(idx, m.head[off:off+k])
		idx, off, n = idx+uint64(k), off+k, n-k
	}
	if n > 0 {
		off -= len(m.head)
		r.copyIn(idx, m.body[off:off+n])
	}
}

// publishWhole writes a whole-message frame at w and publishes it. The
// caller holds the writers' Mutex and is in a critical section.
func (r *Ring) publishWhole(w, size uint64, m parts) {
	r.setHeader(w, m.len(), kindWhole, 0)
	r.copyIn(w+frameHeader, m.head)
	r.copyIn(w+frameHeader+uint64(len(m.head)), m.body)
	if r.flags&flagJoinable != 0 {
		atomic.AddUint32(r.unfinshed, 1)
	}
	atomic.StoreUint64(r.widx, w+size)
	atomic.AddUint64(r.puts, 1)
}

func (r *Ring) putSlow(ctx context.Context, msg parts, size uint64, timeout time.Duration) error {
	dl := makeDeadline(timeout)
	if err := r.checkReaders(); err != nil {
		return err
	}
	for {
		if err := lockWithin(r.wmu, ctx, &dl); err != nil {
			return err
		}
		w := atomic.LoadUint64(r.widx)
		if r.room(w, size, true) {
			EnterCritical()
			r.publishWhole(w, size, msg)
			r.wmu.Unlock()
			LeaveCritical()
			wakeOne(r.dataSeq, r.rwaiting)
			return nil
		}
		r.wmu.Unlock()
		if err := r.awaitRoom(ctx, &dl, size, true); err != nil {
			return err
		}
	}
}

// awaitRoom waits until a frame of size bytes could fit.
func (r *Ring) awaitRoom(ctx context.Context, dl *deadline, size uint64, count bool) error {
	var check func() error
	if r.flags&flagTrack != 0 {
		check = r.checkReaders
	}
	return r.await(ctx, r.spaceSeq, r.wwaiting, dl, func() bool {
		return r.room(atomic.LoadUint64(r.widx), size, count)
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

// putStream writes a message larger than a frame as pieces, holding the
// writers' Mutex throughout.
func (r *Ring) putStream(ctx context.Context, msg parts, timeout time.Duration) error {
	dl := makeDeadline(timeout)
	if err := r.checkReaders(); err != nil {
		return err
	}
	for {
		if err := lockWithin(r.wmu, ctx, &dl); err != nil {
			return err
		}
		// Room for one more message (maxsize) before any piece.
		if r.room(atomic.LoadUint64(r.widx), 0, true) {
			break
		}
		r.wmu.Unlock()
		if err := r.awaitRoom(ctx, &dl, 0, true); err != nil {
			return err
		}
	}
	defer r.wmu.Unlock()
	id := uint64(r.a.me)<<32 | uint64(streamSeq.Add(1))
	chunk := int(r.maxFrame-pieceHeader) &^ 7
	var ph [16]byte
	binary.LittleEndian.PutUint64(ph[0:], id)
	binary.LittleEndian.PutUint64(ph[8:], uint64(msg.len()))
	joinable := r.flags&flagJoinable != 0
	if joinable {
		atomic.AddUint32(r.unfinshed, 1)
	}
	atomic.StoreUint64(r.active, id)
	for off := 0; off < msg.len(); {
		n := min(chunk, msg.len()-off)
		size := frameSize(16 + n)
		w := atomic.LoadUint64(r.widx)
		if !r.room(w, size, false) {
			if err := r.awaitRoom(ctx, &dl, size, false); err != nil {
				// Give the message up: readers waiting for its next
				// piece see that the stream in progress is not theirs.
				atomic.StoreUint64(r.active, 0)
				if joinable {
					atomic.AddUint32(r.unfinshed, ^uint32(0))
				}
				wakeAll(r.dataSeq, r.rwaiting)
				return err
			}
			continue
		}
		var flags byte
		if off == 0 {
			flags |= pieceFirst
		}
		if off+n == msg.len() {
			flags |= pieceLast
		}
		EnterCritical()
		r.setHeader(w, 16+n, kindPiece, flags)
		r.copyIn(w+frameHeader, ph[:])
		r.copyParts(w+pieceHeader, msg, off, n)
		atomic.StoreUint64(r.widx, w+size)
		if flags&pieceLast != 0 {
			atomic.AddUint64(r.puts, 1)
			atomic.StoreUint64(r.active, 0)
		}
		LeaveCritical()
		// The reader of a stream sleeps holding the readers' Mutex; wake
		// it rather than a reader that would only wait for that Mutex.
		wakeAll(r.dataSeq, r.rwaiting)
		off += n
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
	EnterCritical()
	if r.rmu.TryLock() {
		rd := atomic.LoadUint64(r.ridx)
		if atomic.LoadUint64(r.widx) != rd {
			if n, kind, _ := r.header(rd); kind == kindWhole {
				msg := r.takeWhole(rd, n)
				r.rmu.Unlock()
				LeaveCritical()
				r.afterGet()
				return msg, nil
			}
		}
		r.rmu.Unlock()
	}
	LeaveCritical()
	return r.getSlow(ctx, timeout)
}

// Reused reports whether msg, which Get returned, lies in the buffer the
// next Get reuses; a message Get returns otherwise is the caller's to
// keep.
func (r *Ring) Reused(msg []byte) bool {
	return cap(msg) > 0 && cap(r.scratch) > 0 && &msg[:1][0] == &r.scratch[:1][0]
}

// takeWhole copies out the whole message at rd and publishes the read
// index. The caller holds the readers' Mutex.
func (r *Ring) takeWhole(rd, n uint64) []byte {
	if uint64(cap(r.scratch)) < n {
		r.scratch = make([]byte, n, max(n, 256))
	}
	msg := r.scratch[:n]
	r.copyOut(msg, rd+frameHeader)
	atomic.StoreUint64(r.ridx, rd+frameSize(int(n)))
	atomic.AddUint64(r.gets, 1)
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

func (r *Ring) getSlow(ctx context.Context, timeout time.Duration) ([]byte, error) {
	dl := makeDeadline(timeout)
	for {
		if err := lockWithin(r.rmu, ctx, &dl); err != nil {
			return nil, err
		}
		msg, err := r.readLocked(ctx)
		r.rmu.Unlock()
		if msg != nil || err != nil {
			r.afterGet()
			return msg, err
		}
		if err := r.awaitData(ctx, &dl); err != nil {
			return nil, err
		}
	}
}

// awaitData waits until the ring is not empty; on a tracked ring,
// ErrEOF when it stays empty and every writer has gone.
func (r *Ring) awaitData(ctx context.Context, dl *deadline) error {
	ready := func() bool { return atomic.LoadUint64(r.widx) != atomic.LoadUint64(r.ridx) }
	var check func() error
	if r.flags&flagTrack != 0 {
		check = func() error {
			if r.sideGone(RingWriter) && !ready() {
				return ErrEOF
			}
			return nil
		}
	}
	return r.await(ctx, r.dataSeq, r.rwaiting, dl, ready, check)
}

// errStreamLost: the writer of the message being read gave it up or died.
var errStreamLost = errors.New("ring: the writer of a streamed message gave it up")

// readLocked reads the next message, nil when the ring is empty. It
// skips pieces of messages nobody is reading, and waits for the rest of a
// streamed message once its first piece is read. The caller holds the
// readers' Mutex.
func (r *Ring) readLocked(ctx context.Context) ([]byte, error) {
	var (
		stream    uint64 // id of the message being read, 0 if none
		total     uint64
		assembled []byte
	)
	for {
		rd := atomic.LoadUint64(r.ridx)
		if atomic.LoadUint64(r.widx) == rd {
			if stream == 0 {
				return nil, nil
			}
			err := r.awaitPiece(ctx, stream)
			if err == errStreamLost {
				return nil, nil // the partial message is dropped
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		n, kind, flags := r.header(rd)
		if kind == kindWhole {
			EnterCritical()
			msg := r.takeWhole(rd, n)
			LeaveCritical()
			return msg, nil
		}
		var ph [16]byte
		r.copyOut(ph[:], rd+frameHeader)
		id := binary.LittleEndian.Uint64(ph[0:])
		tot := binary.LittleEndian.Uint64(ph[8:])
		data := n - 16
		if flags&pieceFirst != 0 && tot <= uint64(r.a.size)*4 {
			stream, total = id, tot
			assembled = make([]byte, 0, tot)
		} else if stream == 0 || id != stream {
			stream, assembled = 0, nil
		}
		if stream != 0 && uint64(len(assembled))+data > total {
			stream, assembled = 0, nil // inconsistent: drop it
		}
		EnterCritical()
		if stream != 0 {
			m := len(assembled)
			assembled = assembled[:m+int(data)]
			r.copyOut(assembled[m:], rd+pieceHeader)
		}
		atomic.StoreUint64(r.ridx, rd+frameSize(int(n)))
		done := stream != 0 && flags&pieceLast != 0
		if done {
			atomic.AddUint64(r.gets, 1)
		}
		LeaveCritical()
		wakeAll(r.spaceSeq, r.wwaiting)
		if done {
			if uint64(len(assembled)) != total {
				stream, assembled = 0, nil
				continue
			}
			return assembled, nil
		}
	}
}

// awaitPiece waits, holding the readers' Mutex, for the next piece of
// stream: errStreamLost when its writer gave it up or died. The caller's
// timeout does not apply: the message has started arriving.
func (r *Ring) awaitPiece(ctx context.Context, stream uint64) error {
	dl := deadline{forever: true}
	tok := uint32(stream >> 32)
	return r.await(ctx, r.dataSeq, r.rwaiting, &dl, func() bool {
		return atomic.LoadUint64(r.widx) != atomic.LoadUint64(r.ridx)
	}, func() error {
		// Look at the stream in progress before the write index: a
		// writer publishes its last piece before it clears the stream.
		if atomic.LoadUint64(r.active) == stream && r.a.Alive(tok) {
			return nil
		}
		if atomic.LoadUint64(r.widx) != atomic.LoadUint64(r.ridx) {
			return nil
		}
		return errStreamLost
	})
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

// JoinableQueue: unfinished tasks.

// Unfinished returns how many messages were put and not yet marked done.
func (r *Ring) Unfinished() int { return int(atomic.LoadUint32(r.unfinshed)) }

// TaskDone marks one message done; ErrTaskDone when none is unfinished.
func (r *Ring) TaskDone() error {
	for {
		v := atomic.LoadUint32(r.unfinshed)
		if v == 0 {
			return ErrTaskDone
		}
		if atomic.CompareAndSwapUint32(r.unfinshed, v, v-1) {
			if v == 1 && atomic.LoadUint32(r.jwaiting) != 0 {
				futexWakeAll(r.unfinshed)
			}
			return nil
		}
	}
}

// Join waits until every message put has been marked done, at most
// timeout (< 0: forever), and reports whether they were.
func (r *Ring) Join(ctx context.Context, timeout time.Duration) (bool, error) {
	if atomic.LoadUint32(r.unfinshed) == 0 {
		return true, nil
	}
	dl := makeDeadline(timeout)
	atomic.AddUint32(r.jwaiting, 1)
	defer atomic.AddUint32(r.jwaiting, ^uint32(0))
	watching := false
	for {
		v := atomic.LoadUint32(r.unfinshed)
		if v == 0 {
			return true, nil
		}
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if !watching && ctx.Done() != nil {
				watching = true
				stop := context.AfterFunc(ctx, func() { futexWakeAll(r.unfinshed) })
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
		futexWait(r.unfinshed, v, sleep)
	}
}

// Holders of a tracked ring's ends. Each side has an overflow word and
// holderSlots slots of 64 bits: 0 free; a pid (high half 0) for a process
// holding that end; or, for a handle sent and not yet received, the
// sender's pid with an expiry time (Unix seconds) in the high half. An end
// is gone when no slot holds a live process or an unexpired handle in
// flight. When the slots run out the overflow word is set and the end is
// never reported gone.

func (r *Ring) holderSlot(side RingSide, i int) *uint64 {
	return r.a.Uint64(r.off + ringHoldersOff + uint64(side)*holderSideSize + 8 + uint64(i)*8)
}

func (r *Ring) holderOverflow(side RingSide) *uint32 {
	return r.a.Uint32(r.off + ringHoldersOff + uint64(side)*holderSideSize)
}

// Hold records this process as a holder of side: it made the ring, or
// received a handle to that end (which takes the place of the handle in
// flight, if one is recorded).
func (r *Ring) Hold(side RingSide) {
	for i := range holderSlots {
		s := r.holderSlot(side, i)
		if v := atomic.LoadUint64(s); v>>32 != 0 && atomic.CompareAndSwapUint64(s, v, uint64(r.a.me)) {
			return
		}
	}
	r.claimSlot(side, uint64(r.a.me))
}

// Send records a handle to side in flight to another process, which holds
// the end open for pendingLife seconds or until it is received.
func (r *Ring) Send(side RingSide) {
	r.claimSlot(side, uint64(time.Now().Unix()+pendingLife)<<32|uint64(r.a.me))
}

func (r *Ring) claimSlot(side RingSide, v uint64) {
	for i := range holderSlots {
		s := r.holderSlot(side, i)
		if atomic.LoadUint64(s) == 0 && atomic.CompareAndSwapUint64(s, 0, v) {
			return
		}
	}
	atomic.StoreUint32(r.holderOverflow(side), 1)
}

// Drop removes one of this process's holds on side (its close), and wakes
// the other side's waiters so they can see the end gone.
func (r *Ring) Drop(side RingSide) {
	for i := range holderSlots {
		s := r.holderSlot(side, i)
		if atomic.LoadUint64(s) == uint64(r.a.me) && atomic.CompareAndSwapUint64(s, uint64(r.a.me), 0) {
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
	if atomic.LoadUint32(r.holderOverflow(side)) != 0 {
		return true
	}
	for i := range holderSlots {
		if atomic.LoadUint64(r.holderSlot(side, i)) != 0 {
			return true
		}
	}
	return false
}

// SideGone reports whether no process holds side any more: each holder
// closed it or died, and no handle to it is in flight.
func (r *Ring) SideGone(side RingSide) bool { return r.sideGone(side) }

func (r *Ring) sideGone(side RingSide) bool {
	if atomic.LoadUint32(r.holderOverflow(side)) != 0 {
		return false
	}
	now := uint64(time.Now().Unix())
	for i := range holderSlots {
		s := r.holderSlot(side, i)
		v := atomic.LoadUint64(s)
		switch {
		case v == 0:
		case v>>32 != 0:
			if v>>32 > now {
				return false
			}
			atomic.CompareAndSwapUint64(s, v, 0) // expired in flight
		case r.a.Alive(uint32(v)):
			return false
		default:
			atomic.CompareAndSwapUint64(s, v, 0) // its holder died
		}
	}
	return true
}
