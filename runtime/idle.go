// Idle children: a child started ahead of time, waiting for its work.

package runtime

import "os"

// Starting a child costs over a millisecond before it can run anything
// (exec, the Go runtime, a fresh Lua state), most of it before it reads
// its start message. A process that starts children keeps one idle child
// ready: started with the same descriptors, initialised, blocked on its
// start pipe. Start then only writes the message, which is encoded at
// that moment, so the child still starts with the world as it is at
// start().
//
// The idle child is started on a goroutine of its own: exec holds the
// thread that calls it until the child has replaced its image (Go's
// fork is a vfork), which the caller, the start() that used the previous
// idle child, need not wait for. That start() returns at once, and the
// next child gets all the time until the next start() to initialise.
//
// An idle child does not know yet whether it will be a daemon, so it is
// started without PR_SET_PDEATHSIG; a daemon sets it on reading its
// message (worker.Main), and the watchdog pipe covers the moment before.
// A non-daemon never has it, so that, as in Python, it outlives a killed
// parent however soon that parent dies. An idle child whose parent dies
// reads end of file on its start pipe and exits without a word.

// Idle is a child waiting for its start message.
type Idle struct {
	started chan struct{} // closed once the child is started, or failed to
	c       *Child
	w       *os.File
	err     error
}

// StartIdle starts an idle child with the tree's arena, in the
// background; Ready, Deliver and Discard wait for the start to finish.
func StartIdle(arena *os.File) (*Idle, error) {
	i := &Idle{started: make(chan struct{})}
	go func() {
		// A termination waits for the start, so that the child is
		// known (and ended) rather than left half started.
		EnterCritical()
		defer LeaveCritical()
		i.c, i.w, i.err = startChild(SpawnOptions{Arena: arena}, false)
		close(i.started)
	}()
	return i, nil
}

// Ready says whether the idle child started and is still alive to take
// work.
func (i *Idle) Ready() bool {
	<-i.started
	if i.err != nil {
		return false
	}
	_, ended := i.c.ExitCode()
	return !ended
}

// Deliver hands the idle child its start message; it is then an ordinary
// child. Deliver may be called once.
func (i *Idle) Deliver(msg []byte) (*Child, error) {
	<-i.started
	if i.err != nil {
		return nil, i.err
	}
	if err := deliver(i.c, i.w, msg); err != nil {
		return nil, err
	}
	return i.c, nil
}

// Discard ends the idle child and waits for it.
func (i *Idle) Discard() {
	<-i.started
	if i.err != nil {
		return
	}
	i.w.Close()
	i.c.Kill()
	<-i.c.done
}
