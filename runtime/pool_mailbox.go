// Pool mailboxes: a worker's tasks and results through the arena, with
// futex waits and a short spin, in place of its pipes.

package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sync/atomic"
	"time"
)

// A pool worker's pipes carry its frames through the kernel, and the
// parent reads them on goroutines the Go netpoller wakes, which then hand
// each result to the goroutine that owns the Lua state: an apply_async
// round trip paid two pipe wake-ups, the netpoller and two goroutine
// hand-offs, about 70% of its time. A mailbox carries the same frames
// through the arena instead, one slot each way, since a worker holds at
// most one task and answers it with one result:
//
//	0    magic, the size of each area
//	8    offset of the pool's doorbell
//	64   tseq   tasks published (the parent adds 1 after writing one)
//	68   tsleep 1 while the worker sleeps on tseq
//	72   tlen   length of the task frame (without its 4-byte length), or
//	            onPipe: the frame follows on the task pipe
//	76   ttaken the tseq of the last task the worker took, stored before
//	            it runs it (what the parent reads when the worker dies)
//	128  rseq   results published (the worker adds 1 after writing one)
//	132  rlen   length of the result frame (without its 4-byte length)
//	192  the task area, then the result area
//
// The writer of each side copies the frame into its area, stores the
// length and then adds 1 to the sequence word; the reader takes a frame
// when the word moved. A slot is free again once its frame is read,
// which the protocol guarantees before the next one is written: the
// parent writes a task only to an idle worker (its last result taken),
// and a worker answers only the task it holds. A frame larger than an
// area goes through the pipe as before: a task's slot then says onPipe,
// and a result is a frame on the result pipe.
//
// The doorbell is one block per pool: a sequence word that every
// worker's result (and every event the parent's own goroutines post)
// moves, the word that says the owner of the pool is in Await, and the
// word that says it sleeps. The owner (the goroutine that owns the Lua
// state) waits in Await on that word itself: a result wakes it directly,
// or not at all when it was still spinning. A worker that answers while
// the owner is not in Await writes a one-byte notice on its result pipe
// instead, so the Scheduler's reader goroutine takes the result and
// hands out the next task as it always did: workers never wait for a
// script busy with something else.
//
// Wake-ups are never lost: each side stores its own word before it loads
// the other's (Go's atomics are sequentially consistent), so of a worker
// that publishes then looks at the owner's words, and an owner that
// announces itself then looks for results, at least one sees the other.
//
// Deaths: the pipes stay, and a worker's death still shows as the end of
// its result pipe. A result the worker published before it died is
// taken before the task is declared lost. A worker killed half-way
// through writing a frame has not published it.

// Mailbox layout.
const (
	boxMagic  = 0x58424d50 // "PMBX"
	boxTSeq   = 64
	boxTSleep = 68
	boxTLen   = 72
	boxTTaken = 76
	boxRSeq   = 128
	boxRLen   = 132
	boxHeader = 192
	// boxArea is the size of each area: the tasks of a map over 100,000
	// numbers on Pool(2) (about 100 KB each) fit. Pages nobody touches
	// cost nothing.
	boxArea = 256 << 10
	// onPipe in tlen: the task frame follows on the pipe.
	onPipe = 1<<32 - 1
)

// Doorbell layout.
const (
	bellSeq      = 0
	bellWaiting  = 4
	bellSleeping = 8
	bellSize     = 64
)

// Spinning. A wait spins only where another CPU can run the other side,
// and only for about the time the other side usually takes to answer.
const (
	// ownerSpin bounds the owner's spin in Await while a worker runs a
	// task: about one round trip to a worker.
	ownerSpin = 50 * time.Microsecond
	// workerSpin bounds a worker's spin for its next task after it
	// answered: the time the owner takes to read a result and send the
	// next task. A worker whose spins keep failing stops spinning, and
	// tries again from time to time (spinner).
	workerSpin = 20 * time.Microsecond
	// boxSleep bounds each futex sleep, as waitSlice does elsewhere.
	boxSleep = time.Second
)

// numCPU is how many CPUs this process may run on.
var numCPU = goruntime.NumCPU()

// FrameMailbox is the first frame a pool worker gets when the parent gave
// it a mailbox: 'M' and the mailbox's offset, 8 bytes little-endian.
const FrameMailbox byte = 'M'

// FrameNotice is a worker's one-byte frame on its result pipe saying that
// it published a result in its mailbox while the owner was not waiting.
const FrameNotice byte = 'N'

// mailbox is a worker's slot pair, as either side sees it.
type mailbox struct {
	off              uint64
	tseq, tsleep     *uint32
	tlen, rseq, rlen *uint32
	ttaken           *uint32
	tasks, results   []byte
}

func mailboxAt(a *Arena, off uint64) *mailbox {
	return &mailbox{
		off:     off,
		tseq:    a.Uint32(off + boxTSeq),
		tsleep:  a.Uint32(off + boxTSleep),
		tlen:    a.Uint32(off + boxTLen),
		rseq:    a.Uint32(off + boxRSeq),
		rlen:    a.Uint32(off + boxRLen),
		ttaken:  a.Uint32(off + boxTTaken),
		tasks:   a.Bytes(off+boxHeader, boxArea),
		results: a.Bytes(off+boxHeader+boxArea, boxArea),
	}
}

// doorbell is the pool's words the owner waits on, and the owner's spin.
type doorbell struct {
	off                    uint64
	seq, waiting, sleeping *uint32
	spin                   spinner // only the owner, in Await, uses it
}

func doorbellAt(a *Arena, off uint64) *doorbell {
	return &doorbell{off: off, seq: a.Uint32(off + bellSeq), waiting: a.Uint32(off + bellWaiting), sleeping: a.Uint32(off + bellSleeping)}
}

// ring moves the sequence word and wakes the owner if it sleeps on it.
func (b *doorbell) ring() {
	atomic.AddUint32(b.seq, 1)
	if atomic.LoadUint32(b.sleeping) != 0 {
		futexWakeAll(b.seq)
	}
}

// newMailbox allocates a worker's mailbox, ringing bell.
func newMailbox(a *Arena, bell uint64) (*mailbox, error) {
	off, err := a.Alloc(boxHeader + 2*boxArea)
	if err != nil {
		return nil, err
	}
	atomic.StoreUint32(a.Uint32(off), boxMagic)
	atomic.StoreUint32(a.Uint32(off+4), boxArea)
	atomic.StoreUint64(a.Uint64(off+8), bell)
	return mailboxAt(a, off), nil
}

// postTask writes a task frame (sealed) into the mailbox and publishes
// it; a frame too large for the area is announced, and the caller then
// writes it on the pipe. It reports whether the frame went in.
func (m *mailbox) postTask(frame []byte) bool {
	body := frame[4:]
	in := len(body) <= len(m.tasks)
	if in {
		copy(m.tasks, body)
		atomic.StoreUint32(m.tlen, uint32(len(body)))
	} else {
		atomic.StoreUint32(m.tlen, onPipe)
	}
	atomic.AddUint32(m.tseq, 1)
	if atomic.LoadUint32(m.tsleep) != 0 {
		futexWake(m.tseq, 1)
	}
	return in
}

// takeResult returns the result published after seen, copied out, or
// nil when there is none.
func (m *mailbox) takeResult(seen *uint32) []byte {
	r := atomic.LoadUint32(m.rseq)
	if r == *seen {
		return nil
	}
	*seen = r
	n := atomic.LoadUint32(m.rlen)
	if int(n) > len(m.results) || n == 0 {
		n = 0
	}
	return append([]byte(nil), m.results[:n]...)
}

// UseMailboxes makes s carry tasks and results through mailboxes in a
// (see above) for the workers added from now on. Without it, or for a
// worker whose mailbox could not be allocated, the pipes carry them.
func (s *Scheduler) UseMailboxes(a *Arena) error {
	off, err := a.Alloc(bellSize)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.arena, s.bell = a, doorbellAt(a, off)
	s.mu.Unlock()
	return nil
}

// ReleaseMailboxes frees the doorbell once no worker is left; the owner
// calls it when it is done with the pool and no longer waits in Await.
// With workers still alive (a worker that would not die), the doorbell
// is left allocated, as they may still ring it.
func (s *Scheduler) ReleaseMailboxes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bell == nil || len(s.workers) > 0 {
		return
	}
	s.arena.Free(s.bell.off)
	s.bell = nil
}

// attachMailbox gives a new worker its mailbox, if s uses them: the
// offset goes first on the task pipe. On failure the worker keeps its
// pipes.
func (s *Scheduler) attachMailbox(w *PoolWorker) {
	if s.bell == nil {
		return
	}
	m, err := newMailbox(s.arena, s.bell.off)
	if err != nil {
		return
	}
	f := NewFrame(FrameMailbox, 8)
	f = binary.LittleEndian.AppendUint64(f, m.off)
	if _, err := w.tasks.Write(SealFrame(f)); err != nil {
		s.arena.Free(m.off)
		return
	}
	w.box = m
}

// freeMailbox frees a worker's mailbox once it has exited and no frame
// is being written to it.
func (w *PoolWorker) freeMailbox() {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if w.box != nil {
		w.s.arena.Free(w.box.off)
		w.box = nil
	}
}

// collectLocked takes the results workers published in their mailboxes
// and posts them. It reports whether it took any.
func (s *Scheduler) collectLocked() bool {
	took := false
	for w := range s.workers {
		if s.collectOneLocked(w) {
			took = true
		}
	}
	return took
}

// collectOneLocked takes w's published result, if any. A worker that
// publishes a result for a task it was not given is killed; its reader
// then reports its exit.
func (s *Scheduler) collectOneLocked(w *PoolWorker) bool {
	if w.box == nil {
		return false
	}
	b := w.box.takeResult(&w.rseen)
	if b == nil {
		return false
	}
	if w.busy == nil {
		w.Child.Kill()
		return false
	}
	// The task's frame was made and sent by whichever goroutine handed
	// it out; the result proves that finished, through the worker, which
	// the race detector cannot see: the lock says it.
	w.sendMu.Lock()
	w.sendMu.Unlock()
	s.resultLocked(w, b)
	return true
}

// Await waits, on the goroutine that owns the pool, until something may
// have been posted (a result published, an event), ctx is done, or
// timeout passes (negative: no limit); the caller then takes Events and
// looks again. It spins first while a worker runs a task, then sleeps on
// the doorbell. It reports false at once when s has no doorbell, leaving
// the caller to wait on Notify.
func (s *Scheduler) Await(ctx context.Context, timeout time.Duration) bool {
	s.mu.Lock()
	b := s.bell
	if b == nil {
		s.mu.Unlock()
		return false
	}
	atomic.StoreUint32(b.waiting, 1)
	defer atomic.StoreUint32(b.waiting, 0)
	seq := atomic.LoadUint32(b.seq)
	if len(s.events) > 0 || s.collectLocked() {
		work := s.assignLocked()
		s.mu.Unlock()
		work.send()
		return true
	}
	busy := 0
	for w := range s.workers {
		if w.busy != nil {
			busy++
		}
	}
	s.mu.Unlock()
	// Spin only while a worker runs and a CPU is left for the spinner:
	// with every CPU taken by a worker, spinning would only delay them.
	if busy > 0 && busy < numCPU && timeout != 0 {
		spin := ownerSpin
		if timeout > 0 {
			spin = min(spin, timeout)
		}
		if b.spin.try(b.seq, seq, spin) {
			return true
		}
	}
	if ctx != nil {
		if ctx.Err() != nil {
			return false
		}
		stop := context.AfterFunc(ctx, b.ring)
		defer stop()
	}
	sleep := boxSleep
	if timeout >= 0 {
		sleep = min(sleep, timeout)
	}
	atomic.StoreUint32(b.sleeping, 1)
	if atomic.LoadUint32(b.seq) == seq {
		futexWait(b.seq, seq, sleep)
	}
	atomic.StoreUint32(b.sleeping, 0)
	return atomic.LoadUint32(b.seq) != seq
}

// spinFor looks at word until it differs from v, for at most d; it
// reports whether it did.
func spinFor(word *uint32, v uint32, d time.Duration) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if atomic.LoadUint32(word) != v {
			return true
		}
		if i%64 == 0 && time.Since(start) >= d {
			return false
		}
	}
}

// WorkerChannel is a pool worker's side of its frames: tasks from the
// parent, results back. It starts on the pipes and moves to a mailbox
// when the parent sends one. Only the worker's task loop uses it.
type WorkerChannel struct {
	arena   *Arena
	tasks   *FrameReader
	results *os.File
	box     *mailbox
	bell    *doorbell
	seen    uint32 // tasks taken
	spin    spinner
	// buf holds the last task taken from the mailbox; the next one
	// reuses it (a new buffer per task is a task's size in fresh pages
	// until the collector first runs).
	buf []byte
}

// NewWorkerChannel reads this worker's tasks from its task pipe (and
// mailbox, in arena, if the parent gives it one) and writes its results.
func NewWorkerChannel(arena *Arena) *WorkerChannel {
	tasks, results := WorkerPipes()
	return &WorkerChannel{arena: arena, tasks: NewFrameReader(tasks), results: results}
}

// Send writes a frame on the result pipe (booted, ready).
func (c *WorkerChannel) Send(frame []byte) error {
	_, err := c.results.Write(frame)
	return err
}

// Next returns the next frame from the parent, kind byte first: a task or
// the order to quit, valid until the next call. At the end of the task
// pipe it returns io.EOF.
func (c *WorkerChannel) Next() ([]byte, error) {
	for c.box == nil {
		b, err := c.tasks.Next()
		if err != nil || b[0] != FrameMailbox {
			return b, err
		}
		if err := c.attach(b[1:]); err != nil {
			return nil, err
		}
	}
	c.await()
	c.seen++
	n := atomic.LoadUint32(c.box.tlen)
	var b []byte
	var err error
	switch {
	case n == onPipe:
		b, err = c.tasks.Next()
	case n == 0 || int(n) > len(c.box.tasks):
		err = fmt.Errorf("pool: mailbox holds a task of %d bytes, want 1 to %d", n, len(c.box.tasks))
	default:
		c.buf = append(c.buf[:0], c.box.tasks[:n]...)
		b = c.buf
	}
	// Taken: from here on the parent counts the task as started
	// (pool_requeue.go).
	atomic.StoreUint32(c.box.ttaken, c.seen)
	return b, err
}

// attach takes the mailbox a FrameMailbox names.
func (c *WorkerChannel) attach(body []byte) error {
	if c.arena == nil || len(body) != 8 {
		return errors.New("pool: got a mailbox with no arena to find it in")
	}
	off := binary.LittleEndian.Uint64(body)
	if err := c.arena.CheckRange(off, boxHeader+2*boxArea); err != nil {
		return fmt.Errorf("pool: mailbox: %w", err)
	}
	if atomic.LoadUint32(c.arena.Uint32(off)) != boxMagic {
		return fmt.Errorf("pool: no mailbox at offset %d", off)
	}
	bell := atomic.LoadUint64(c.arena.Uint64(off + 8))
	if err := c.arena.CheckRange(bell, bellSize); err != nil {
		return fmt.Errorf("pool: mailbox's doorbell: %w", err)
	}
	// A new mailbox: no task taken yet. The parent may have published
	// the first one before this worker read the offset; Next finds it.
	c.box, c.bell, c.seen = mailboxAt(c.arena, off), doorbellAt(c.arena, bell), 0
	return nil
}

// Reply sends the result of the task it last took: into the mailbox when
// it fits, ringing the owner, or noticing the parent's reader when the
// owner is not waiting; on the pipe otherwise.
func (c *WorkerChannel) Reply(frame []byte) error {
	body := frame[4:]
	if c.box == nil || len(body) > len(c.box.results) {
		return c.Send(frame)
	}
	copy(c.box.results, body)
	atomic.StoreUint32(c.box.rlen, uint32(len(body)))
	atomic.AddUint32(c.box.rseq, 1)
	atomic.AddUint32(c.bell.seq, 1)
	if atomic.LoadUint32(c.bell.waiting) == 0 {
		return c.Send(noticeFrame)
	}
	if atomic.LoadUint32(c.bell.sleeping) != 0 {
		futexWakeAll(c.bell.seq)
	}
	return nil
}

var noticeFrame = SealFrame(NewFrame(FrameNotice, 0))

// await returns once the worker's mailbox holds a task it has not
// taken: it spins first, then sleeps on tseq, with tsleep set so that
// the parent wakes it.
func (c *WorkerChannel) await() {
	m, seen := c.box, c.seen
	if atomic.LoadUint32(m.tseq) != seen || c.spin.try(m.tseq, seen, workerSpin) {
		return
	}
	for atomic.LoadUint32(m.tseq) == seen {
		atomic.StoreUint32(m.tsleep, 1)
		if atomic.LoadUint32(m.tseq) == seen {
			futexWait(m.tseq, seen, boxSleep)
		}
		atomic.StoreUint32(m.tsleep, 0)
	}
}

// spinner is an adaptive spin: it spins while its spins pay, stops after
// a few in a row that did not (the other side is slower than the spin,
// or has no CPU to run on: a busy machine), and tries again every so
// often.
type spinner struct {
	misses int // spins in a row that ended without the word moving
	skips  int // waits since spinning stopped
}

// try spins until *word differs from v, for at most d, when spinning
// pays; it reports whether the word moved.
func (sp *spinner) try(word *uint32, v uint32, d time.Duration) bool {
	if !spinCPUs {
		return false
	}
	if sp.misses >= 4 {
		if sp.skips++; sp.skips < 64 {
			return false
		}
		sp.skips, sp.misses = 0, 0
	}
	if spinFor(word, v, d) {
		sp.misses = 0
		return true
	}
	sp.misses++
	return false
}
