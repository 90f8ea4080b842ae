// A task handed to a worker that died before taking it goes back to the
// queue, for another worker.

package runtime

import (
	"os"
	"slices"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The scheduler hands a task to a worker it believes idle; the worker may
// have died an instant before, and the scheduler learns it only when the
// worker's result pipe ends. Python's pool loses nothing there: its
// workers take tasks from a shared queue, and a task the dead worker
// never took is still in it. Here the task was written to that worker
// alone, so the death is examined: a task the worker provably never took
// goes back to the head of the queue, and only a task it took is lost
// (WorkerLostError). A task must never run twice where it could have run
// once, so what cannot be proved untaken counts as taken.
//
// The proof is what the transport shows after the worker is reaped (all
// its stores to the arena are done by then):
//
//   - nothing was written to it: its death was dealt with before the
//     goroutine handing out the task wrote it, and gone stops that write;
//     or the write failed (the worker had already died, and the pipe
//     had no reader), so the worker never read the frame whole;
//   - through a mailbox: the worker stores the sequence number of each
//     task it takes in the mailbox's ttaken word before it returns the
//     task to its loop (WorkerChannel.Next), so a ttaken below the task's
//     sequence number means its loop never saw it;
//   - on the pipe: the pipe still holds every byte of the task's frame
//     (FIONREAD on the parent's end). A worker that read any of it, into
//     a buffer it may never have parsed, counts as having taken it.
//
// A task of a stopped scheduler, or one whose wall-clock limit ended the
// worker, stays lost, as its owner expects.

// requeueLocked deals with the death of w, which held t (nil: none): from
// now on nothing is written to w, and t, if w never took it, goes back to
// the head of the queue. It reports whether t went back.
func (s *Scheduler) requeueLocked(w *PoolWorker, t *PoolTask) bool {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.gone = true
	if t == nil || s.stopped || t.expired.Load() || !w.untakenLocked(t) {
		return false
	}
	t.started.Store(false)
	if s.head > 0 {
		s.head--
		s.queue[s.head] = t
	} else {
		s.queue = slices.Insert(s.queue, 0, t)
	}
	return true
}

// untakenLocked reports whether w, dead, provably never took t. The
// caller holds w.sendMu.
func (w *PoolWorker) untakenLocked(t *PoolTask) bool {
	if w.sent != t {
		return true
	}
	if w.box != nil {
		return atomic.LoadUint32(w.box.ttaken) != w.sentSeq
	}
	n, err := pipeUnread(w.tasks)
	return err == nil && n >= w.sentLen
}

// pipeUnread returns how many bytes a pipe holds that its reader has not
// read (FIONREAD, which Linux names TIOCINQ), asked on either end.
func pipeUnread(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }); err != nil {
		return 0, err
	}
	return n, ierr
}
