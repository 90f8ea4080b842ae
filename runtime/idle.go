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
// An idle child does not know yet whether it will be a daemon, so it is
// started without PR_SET_PDEATHSIG; a daemon sets it on reading its
// message (worker.Main), and the watchdog pipe covers the moment before.
// A non-daemon never has it, so that, as in Python, it outlives a killed
// parent however soon that parent dies. An idle child whose parent dies
// reads end of file on its start pipe and exits without a word.

// Idle is a child waiting for its start message.
type Idle struct {
	c *Child
	w *os.File
}

// StartIdle starts an idle child with the tree's arena.
func StartIdle(arena *os.File) (*Idle, error) {
	c, w, err := startChild(SpawnOptions{Arena: arena}, false)
	if err != nil {
		return nil, err
	}
	return &Idle{c: c, w: w}, nil
}

// Ready says whether the idle child is still alive to take work.
func (i *Idle) Ready() bool {
	_, ended := i.c.ExitCode()
	return !ended
}

// Deliver hands the idle child its start message; it is then an ordinary
// child. Deliver may be called once.
func (i *Idle) Deliver(msg []byte) (*Child, error) {
	if err := deliver(i.c, i.w, msg); err != nil {
		return nil, err
	}
	return i.c, nil
}

// Discard ends the idle child and waits for it.
func (i *Idle) Discard() {
	i.w.Close()
	i.c.Kill()
	<-i.c.done
}
