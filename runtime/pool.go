// The pool scheduler: per-worker pipes carrying length-prefixed frames,
// and the queue that hands tasks to idle workers, one at a time each.
//
// A pool worker is a child with two more descriptors:
//
//	6  PoolTaskFD    frames from the parent: tasks, and the order to quit
//	7  PoolResultFD  frames to the parent: booted, ready, one result per task
//
// A frame is a 4-byte little-endian length followed by that many bytes;
// the first byte of a frame says what it is (see the Frame constants).
// What a task or a result holds is the caller's business (luaapi encodes
// Lua values); the scheduler only needs to know which frame answers
// which task. Each worker holds at most one task, so a worker that dies
// takes exactly the task it was running with it; a task it was handed
// and had not taken yet goes back to the queue (pool_requeue.go).
//
// Goroutines: one per worker reads its result pipe, hands the next task
// to the worker as soon as it answers, and posts events (results, exits)
// that the pool's owner takes with Events, on its own goroutine. With
// mailboxes (pool_mailbox.go), tasks and results go through the arena
// instead, and the owner waiting in Await takes results itself.

package runtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Descriptors of a pool worker, after the fixed ones.
const (
	PoolTaskFD   = 6
	PoolResultFD = 7
)

// Kinds of frame: the first byte of each.
const (
	FrameTask   byte = 'T' // parent → worker: run this
	FrameQuit   byte = 'Q' // parent → worker: exit now
	FrameBooted byte = 'B' // worker → parent: started, initializer running
	FrameReady  byte = 'S' // worker → parent: initializer done
	FrameResult byte = 'R' // worker → parent: the answer to the task it held
)

// MaxFrame is the largest frame either side accepts.
const MaxFrame = 1<<31 - 1

// NewFrame starts a frame of the given kind; append its body, then seal
// it with SealFrame.
func NewFrame(kind byte, capacity int) []byte {
	b := make([]byte, 5, 5+capacity)
	b[4] = kind
	return b
}

// SealFrame writes the frame's length into its first four bytes.
func SealFrame(b []byte) []byte {
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// FrameReader reads frames from a pipe.
type FrameReader struct {
	r   *bufio.Reader
	hdr [4]byte
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next frame (kind byte first), newly allocated: the
// caller may keep it. At the end of the pipe it returns io.EOF.
func (f *FrameReader) Next() ([]byte, error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("pool: frame header cut short: %w", err)
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(f.hdr[:])
	if n == 0 || n > MaxFrame {
		return nil, fmt.Errorf("pool: got a frame of %d bytes, want 1 to %d", n, MaxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f.r, b); err != nil {
		return nil, fmt.Errorf("pool: frame of %d bytes cut short: %w", n, err)
	}
	return b, nil
}

// WorkerPipes are the worker's ends of its task and result pipes, seen
// from the worker.
func WorkerPipes() (tasks, results *os.File) {
	return os.NewFile(PoolTaskFD, "pool-tasks"), os.NewFile(PoolResultFD, "pool-results")
}

// PoolPipes are a new worker's two pipes, made before it is spawned.
type PoolPipes struct {
	taskR, taskW, resR, resW *os.File
}

// NewPoolPipes makes the pipes of a worker about to be spawned.
func NewPoolPipes() (*PoolPipes, error) {
	taskR, taskW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pool: task pipe: %w", err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		taskR.Close()
		taskW.Close()
		return nil, fmt.Errorf("pool: result pipe: %w", err)
	}
	// Big pipes: a frame up to this size is written at once, so the
	// parent does not wait for the worker to read a task, nor a worker
	// for the parent to read its results.
	for _, f := range []*os.File{taskR, resW} { // the child's ends: Fd makes a file blocking
		unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	}
	return &PoolPipes{taskR, taskW, resR, resW}, nil
}

// pipeSize is the buffer size asked for a pool pipe (Linux's default
// limit for unprivileged processes).
const pipeSize = 1 << 20

// ChildFiles are the files to pass in SpawnOptions.ExtraFiles.
func (pp *PoolPipes) ChildFiles() []*os.File { return []*os.File{pp.taskR, pp.resW} }

// Close closes all four ends (after a failed spawn).
func (pp *PoolPipes) Close() {
	for _, f := range []*os.File{pp.taskR, pp.taskW, pp.resR, pp.resW} {
		f.Close()
	}
}

// PoolTask is one unit of work: a frame to send, made for the worker that
// gets it.
type PoolTask struct {
	// Frame makes the sealed task frame for w. It is called without the
	// scheduler's lock, from any goroutine, once for each worker the task
	// is handed to, while w is held for this task alone: at most once,
	// unless a worker dies before taking the task, which then goes to
	// another (pool_requeue.go).
	Frame func(w *PoolWorker) []byte
	// Value is the owner's bookkeeping.
	Value any
	// Wall, when not 0, is how long a worker may hold the task (a wall
	// clock limit): past it the scheduler ends the worker, SIGTERM then
	// SIGKILL after WallGrace, and the task is lost with it, Expired.
	Wall time.Duration
	// started is set when a worker is handed the task (and cleared if
	// the task goes back to the queue); expired when its wall-clock time
	// ran out.
	started, expired atomic.Bool
}

// WallGrace is how long a process past its wall-clock limit has between
// SIGTERM and SIGKILL.
const WallGrace = 500 * time.Millisecond

// Expired says whether the task's worker was ended because the task ran
// past its Wall. Safe to call from any goroutine.
func (t *PoolTask) Expired() bool { return t.expired.Load() }

// Started says whether a worker has been handed the task (it may have
// finished since). Safe to call from any goroutine.
func (t *PoolTask) Started() bool { return t.started.Load() }

// PoolWorker is one worker of a Scheduler.
type PoolWorker struct {
	Child *Child
	// Value is the owner's (its process object); Local is the owner's
	// per-worker state that Frame functions may use: only the goroutine
	// making a frame for this worker touches it.
	Value, Local any
	tasks        *os.File
	results      *os.File
	s            *Scheduler
	booted       bool
	ready        bool
	busy         *PoolTask
	quit         bool
	done         int
	// box is the worker's mailbox, or nil when its pipes carry its
	// frames; rseen counts the results taken from it. sendMu is held
	// while a frame is written to the worker, so that its mailbox is
	// not freed under the writer.
	box    *mailbox
	rseen  uint32
	sendMu sync.Mutex
	// What was written to the worker, under sendMu, to tell after its
	// death whether it took its task (pool_requeue.go): the task, the
	// mailbox's tseq once it was posted, the bytes of its frame on the
	// pipe; gone once its death was dealt with, when nothing more is
	// written to it.
	sent    *PoolTask
	sentSeq uint32
	sentLen int
	gone    bool
}

// Ready says whether the worker has started and run its initializer.
func (w *PoolWorker) Ready() bool {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.ready
}

// Booted says whether the worker has started (its initializer may still
// be running).
func (w *PoolWorker) Booted() bool {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.booted
}

// Kinds of PoolEvent.
const (
	EventResult = iota + 1 // Task answered: Frame is the result frame
	EventExit              // the worker ended; Task, if not nil, was lost with it
	EventReady             // the worker is ready for tasks
	EventBooted            // the worker has started; its initializer runs
)

// PoolEvent is what a worker did, for the owner to act on.
type PoolEvent struct {
	Kind   int
	Worker *PoolWorker
	Task   *PoolTask
	Frame  []byte
	Code   int   // exit code, for EventExit
	Err    error // a broken pipe or frame, for EventExit
	Served int   // tasks the worker answered, for EventExit
}

// Scheduler hands queued tasks to idle workers in order, one task per
// worker at a time. Its methods are safe to call from any goroutine.
type Scheduler struct {
	mu       sync.Mutex
	queue    []*PoolTask
	head     int
	workers  map[*PoolWorker]struct{}
	events   []PoolEvent
	notify   chan struct{}
	maxTasks int
	closing  bool
	stopped  bool
	// With mailboxes: the arena, the pool's doorbell, and the worker
	// that answered last, which gets the next task first (it may still
	// be spinning for one).
	arena  *Arena
	bell   *doorbell
	recent *PoolWorker
}

// NewScheduler makes a scheduler whose workers each serve at most
// maxTasks tasks (0: no limit) before they are told to quit.
func NewScheduler(maxTasks int) *Scheduler {
	return &Scheduler{workers: map[*PoolWorker]struct{}{}, notify: make(chan struct{}, 1), maxTasks: maxTasks}
}

// AddWorker takes a freshly spawned worker: it closes the parent's copies
// of the child's ends and starts reading its results.
func (s *Scheduler) AddWorker(c *Child, pp *PoolPipes, value, local any) *PoolWorker {
	pp.taskR.Close()
	pp.resW.Close()
	w := &PoolWorker{Child: c, Value: value, Local: local, tasks: pp.taskW, results: pp.resR, s: s}
	s.mu.Lock()
	s.attachMailbox(w)
	s.workers[w] = struct{}{}
	s.mu.Unlock()
	go w.serve()
	return w
}

// Submit queues tasks, in order, and starts what idle workers can take.
func (s *Scheduler) Submit(tasks ...*PoolTask) {
	s.mu.Lock()
	s.queue = append(s.queue, tasks...)
	work := s.assignLocked()
	s.mu.Unlock()
	work.send()
}

// Cancel takes out of the queue those of tasks that no worker has been
// handed yet, and returns them, in queue order; the others (running,
// done, or never submitted) stay as they are. Nothing runs a task
// Cancel returned.
func (s *Scheduler) Cancel(tasks ...*PoolTask) []*PoolTask {
	want := make(map[*PoolTask]bool, len(tasks))
	for _, t := range tasks {
		want[t] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*PoolTask
	kept := s.queue[:s.head]
	for _, t := range s.queue[s.head:] {
		if want[t] {
			out = append(out, t)
		} else {
			kept = append(kept, t)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
	return out
}

// Queued counts the tasks not yet handed to a worker.
func (s *Scheduler) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) - s.head
}

// Workers counts the workers that have not ended.
func (s *Scheduler) Workers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.workers)
}

// Close says no more tasks will come: each worker is told to quit once
// the queue is empty.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closing = true
	work := s.assignLocked()
	s.mu.Unlock()
	work.send()
}

// Stop drops the queued tasks and returns them; no task is handed out
// afterwards, and idle workers are told to quit. The caller ends the
// busy ones.
func (s *Scheduler) Stop() []*PoolTask {
	s.mu.Lock()
	s.stopped = true
	dropped := append([]*PoolTask(nil), s.queue[s.head:]...)
	s.queue, s.head = nil, 0
	work := s.assignLocked()
	s.mu.Unlock()
	work.send()
	return dropped
}

// Events takes the events posted so far, oldest first, after taking the
// results published in mailboxes (and handing out the tasks that frees).
func (s *Scheduler) Events() []PoolEvent {
	s.mu.Lock()
	var work assignments
	if s.collectLocked() {
		work = s.assignLocked()
	}
	ev := s.events
	s.events = nil
	s.mu.Unlock()
	work.send()
	return ev
}

// Notify receives a value after events were posted.
func (s *Scheduler) Notify() <-chan struct{} { return s.notify }

func (s *Scheduler) postLocked(ev PoolEvent) {
	s.events = append(s.events, ev)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if s.bell != nil {
		s.bell.ring()
	}
}

// resultLocked posts the result frame b of the task w held.
func (s *Scheduler) resultLocked(w *PoolWorker, b []byte) {
	s.postLocked(PoolEvent{Kind: EventResult, Worker: w, Task: w.busy, Frame: b})
	w.busy = nil
	w.done++
	s.recent = w
}

// assignment is a task given to a worker, or (task nil) an order to quit.
type assignment struct {
	w *PoolWorker
	t *PoolTask
}

type assignments []assignment

// assignLocked pairs idle workers with queued tasks, and tells idle
// workers to quit when the pool is closing and nothing is left. The
// worker that answered last is served first: with a mailbox, it may
// still be spinning for its next task.
func (s *Scheduler) assignLocked() assignments {
	var out assignments
	if w := s.recent; w != nil {
		if _, ok := s.workers[w]; ok {
			out = s.assignOneLocked(w, out)
		}
	}
	for w := range s.workers {
		out = s.assignOneLocked(w, out)
	}
	return out
}

// assignOneLocked gives w, if idle, the next task or the order to quit.
func (s *Scheduler) assignOneLocked(w *PoolWorker, out assignments) assignments {
	if !w.ready || w.busy != nil || w.quit {
		return out
	}
	if s.maxTasks > 0 && w.done >= s.maxTasks || s.closing && s.head == len(s.queue) || s.stopped {
		w.quit = true
		return append(out, assignment{w: w})
	}
	if s.head == len(s.queue) {
		return out
	}
	t := s.queue[s.head]
	s.queue[s.head] = nil
	s.head++
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
	w.busy = t
	t.started.Store(true)
	return append(out, assignment{w, t})
}

// send writes the assigned frames, into the worker's mailbox or on its
// pipe. A worker that died meanwhile never takes its frame; its reader
// sees the end of its pipe and puts the task back in the queue
// (pool_requeue.go).
func (a assignments) send() {
	for _, x := range a {
		if x.t == nil {
			x.w.send(nil)
			continue
		}
		if x.t.Wall > 0 {
			w, t := x.w, x.t
			time.AfterFunc(t.Wall, func() { w.expire(t) })
		}
		x.w.send(x.t)
	}
}

// send writes the frame of t, or the order to quit (t nil), to w, unless
// w's death was dealt with meanwhile (t then went back to the queue).
func (w *PoolWorker) send(t *PoolTask) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if w.gone {
		return
	}
	var frame []byte
	if t == nil {
		frame = SealFrame(NewFrame(FrameQuit, 0))
	} else {
		frame = t.Frame(w)
	}
	w.sent, w.sentLen = t, 0
	if w.box != nil {
		in := w.box.postTask(frame)
		w.sentSeq = atomic.LoadUint32(w.box.tseq)
		if in {
			return
		}
	}
	w.sentLen = len(frame)
	if _, err := w.tasks.Write(frame); err != nil {
		// Not all of the frame reached the pipe: its reader was gone
		// (EPIPE). A worker runs only a frame it read whole, so this
		// one is untaken, and goes back to the queue with the death.
		w.sent = nil
	}
}

// expire ends the worker if it still holds t, whose wall-clock time has
// run out: it gets no other task, and t is lost with it, Expired.
func (w *PoolWorker) expire(t *PoolTask) {
	w.s.mu.Lock()
	if w.busy != t {
		w.s.mu.Unlock()
		return
	}
	t.expired.Store(true)
	w.quit = true
	w.s.mu.Unlock()
	w.Child.Stop(WallGrace)
}

// serve reads the worker's frames until its pipe ends, then waits for it
// to exit and reports the exit with the task it held.
func (w *PoolWorker) serve() {
	s := w.s
	r := NewFrameReader(w.results)
	var ferr error
	for {
		b, err := r.Next()
		if err != nil {
			if err != io.EOF {
				ferr = err
			}
			break
		}
		s.mu.Lock()
		switch b[0] {
		case FrameBooted:
			w.booted = true
			s.postLocked(PoolEvent{Kind: EventBooted, Worker: w})
		case FrameReady:
			w.booted, w.ready = true, true
			s.postLocked(PoolEvent{Kind: EventReady, Worker: w})
		case FrameResult:
			if w.busy == nil {
				s.mu.Unlock()
				ferr = errors.New("pool: worker answered a task it was not given")
				w.Child.Kill()
				goto end
			}
			s.resultLocked(w, b)
		case FrameNotice:
			// A result in the mailbox, published while the owner was not
			// waiting (it may have taken it since).
			if !s.collectOneLocked(w) && w.box == nil {
				s.mu.Unlock()
				ferr = errors.New("pool: worker without a mailbox sent a notice")
				w.Child.Kill()
				goto end
			}
		default:
			s.mu.Unlock()
			ferr = fmt.Errorf("pool: worker sent a frame of unknown kind %q", b[0])
			w.Child.Kill()
			goto end
		}
		work := s.assignLocked()
		s.mu.Unlock()
		work.send()
	}
end:
	// The pipe ends when the worker exits (or closes it, which it only
	// does to exit): wait for the exit code.
	<-w.Child.Done()
	code, _ := w.Child.ExitCode()
	w.results.Close()
	s.mu.Lock()
	s.collectOneLocked(w) // a result published before it died
	lost := w.busy
	w.busy = nil
	delete(s.workers, w)
	var work assignments
	if s.requeueLocked(w, lost) {
		lost = nil
		work = s.assignLocked()
	}
	s.mu.Unlock()
	work.send()
	// Its mailbox is freed before anyone learns that it has gone.
	w.freeMailbox()
	s.mu.Lock()
	s.postLocked(PoolEvent{Kind: EventExit, Worker: w, Task: lost, Code: code, Err: ferr, Served: w.done})
	s.mu.Unlock()
	w.tasks.Close()
}
