// Spawning and reaping child processes.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"
)

// Fixed descriptors of a child process (see the package comment).
const (
	StartFD    = 3
	ArenaFD    = 4
	WatchdogFD = 5
)

// WorkerEnv is set in a child's environment to put the binary in worker
// mode.
const WorkerEnv = "PROCSH_WORKER"

// A child starts with GOMAXPROCS=1 unless the user set GOMAXPROCS: the Go
// runtime's start and the child's initialisation (its Lua state) are
// work for one thread, and with one P a goroutine started meanwhile (the
// sweeper, the scavenger, a timer's) waits for the main one to block
// instead of waking a thread of its own: fewer threads made, fewer
// context switches, and an idle child waits with three threads instead
// of five or six. Once the child has its work, WorkerStarted gives it
// the default GOMAXPROCS back (the CPUs its cgroup and affinity allow,
// updated as they change), as if the variable had never been set: its
// Lua code runs as the root's does.
//
// WorkerEnv says which: "1" when the environment is the user's, as it
// was, and startProcs when GOMAXPROCS=1 was added for the start.
const startProcs = "p1"

// workerEnv is the environment of a child: this process's, with WorkerEnv
// and, unless the user set it, GOMAXPROCS=1 for the start.
func workerEnv() []string {
	env := os.Environ()
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return append(env, WorkerEnv+"=1")
	}
	return append(env, WorkerEnv+"="+startProcs, "GOMAXPROCS=1")
}

// TakeWorkerEnv removes from a child's environment what its parent added
// to it (WorkerEnv, and GOMAXPROCS if the parent set it), so that its Lua
// code and its own children see the environment the user gave the root.
// It reports whether GOMAXPROCS was the parent's: WorkerStarted must then
// be called once the child has its work.
func TakeWorkerEnv() (startProcsSet bool) {
	startProcsSet = os.Getenv(WorkerEnv) == startProcs
	os.Unsetenv(WorkerEnv)
	if startProcsSet {
		os.Unsetenv("GOMAXPROCS")
	}
	return startProcsSet
}

// WorkerStarted gives a child whose parent set GOMAXPROCS=1 for its start
// the default GOMAXPROCS, after startProcsFor: the change stops the world,
// reads the cgroup's CPU limit again and starts threads for the new Ps,
// a few percent of the CPU time of a child that ends sooner (a short
// target, the spawn benchmark's empty one), next to nothing for one that
// runs longer.
func WorkerStarted() { time.AfterFunc(startProcsFor, goruntime.SetDefaultGOMAXPROCS) }

// startProcsFor is how long a child with its work keeps one P. The Go
// runtime itself revises GOMAXPROCS no more often than once a second.
const startProcsFor = 10 * time.Millisecond

// SpawnOptions says how to start a child.
type SpawnOptions struct {
	// Message is the start message, written to the child's StartFD.
	Message []byte
	// Arena is the tree's shared memory, passed at ArenaFD (may be nil).
	Arena *os.File
	// Daemon children die with their parent: PR_SET_PDEATHSIG, backed by
	// the watchdog pipe (see watchdog.go).
	Daemon bool
	// Executable defaults to /proc/self/exe.
	Executable string
	// ExtraFiles are passed at descriptors 6, 7, … (a pool worker's task
	// and result pipes). The caller keeps them and closes its copies.
	ExtraFiles []*os.File
}

// Child is a started child process. Its methods are safe to call from any
// goroutine.
type Child struct {
	Pid    int
	proc   *os.Process
	done   chan struct{}
	mu     sync.Mutex
	code   int  // valid once done is closed
	reaped bool // the child is gone and proc released: no signal reaches it
}

// Spawn starts a child in worker mode and hands it its start message. A
// Spawn that fails half-way kills what it started.
func Spawn(o SpawnOptions) (*Child, error) {
	c, w, err := startChild(o, o.Daemon)
	if err != nil {
		return nil, err
	}
	if err := deliver(c, w, o.Message); err != nil {
		return nil, err
	}
	return c, nil
}

// startChild starts a child in worker mode and returns it with the write
// end of its start pipe.
func startChild(o SpawnOptions, pdeathsig bool) (*Child, *os.File, error) {
	exe := o.Executable
	if exe == "" {
		exe = "/proc/self/exe"
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("spawn: start pipe: %w", err)
	}
	defer r.Close()
	watch, err := watchdogReader()
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr, r, o.Arena, watch}
	files = append(files, o.ExtraFiles...)
	sys := &syscall.SysProcAttr{}
	if pdeathsig {
		sys.Pdeathsig = syscall.SIGKILL
	}
	pidfd := -1
	if pollablePidfd() {
		sys.PidFD = &pidfd
	}
	proc, err := os.StartProcess(exe, []string{"procsh-worker"}, &os.ProcAttr{Env: workerEnv(), Files: files, Sys: sys})
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("spawn: %w", err)
	}
	c := &Child{Pid: proc.Pid, proc: proc, done: make(chan struct{})}
	live.Lock()
	live.m[c] = struct{}{}
	live.Unlock()
	go c.reap(pidfd)
	return c, w, nil
}

// deliver writes the start message to w and closes it; on failure it
// kills the child and waits for it.
func deliver(c *Child, w *os.File, msg []byte) error {
	var err error
	// The message may be larger than the pipe's buffer: write it while
	// the child reads.
	if len(msg) <= 60000 {
		_, err = w.Write(msg)
		w.Close()
	} else {
		go func() {
			w.Write(msg)
			w.Close()
		}()
	}
	if err != nil {
		c.Kill()
		c.Wait(nil, -1)
		return fmt.Errorf("spawn: writing the start message: %w", err)
	}
	return nil
}

// reap waits for the child to end and records its exit code: the status
// it exited with, or -N when signal N ended it.
func (c *Child) reap(pidfd int) {
	code := -1
	ws, byPidfd := waitPidfd(pidfd) // reap_pidfd.go
	if byPidfd {
		if ws.Signaled() {
			code = -int(ws.Signal())
		} else {
			code = ws.ExitStatus()
		}
	} else if st, err := c.proc.Wait(); err == nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -int(ws.Signal())
		} else {
			code = st.ExitCode()
		}
	}
	c.mu.Lock()
	c.code = code
	c.reaped = true
	if byPidfd {
		// os.Process keeps a pidfd of its own, which only its Wait
		// or Release closes.
		c.proc.Release()
	}
	c.mu.Unlock()
	live.Lock()
	delete(live.m, c)
	live.Unlock()
	// What the child held in shared memory is released before anyone
	// learns that it has gone, so a join is followed by a clean arena.
	sweepArenas()
	close(c.done)
}

// live holds this process's children that have not been reaped.
var live = struct {
	sync.Mutex
	m map[*Child]struct{}
}{m: map[*Child]struct{}{}}

// Children counts this process's children that have not been reaped.
func Children() int {
	live.Lock()
	defer live.Unlock()
	return len(live.m)
}

// Done is closed once the child has ended and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitCode is the child's exit code, and whether it has ended.
func (c *Child) ExitCode() (int, bool) {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.code, true
	default:
		return 0, false
	}
}

// Wait waits for the child to end, for at most timeout (negative: no
// limit), or until ctx (which may be nil) is cancelled. It reports
// whether the child has ended, or ctx's error.
func (c *Child) Wait(ctx context.Context, timeout time.Duration) (bool, error) {
	var cancel <-chan struct{}
	if ctx != nil {
		cancel = ctx.Done()
	}
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-c.done:
		return true, nil
	case <-expire:
		return false, nil
	case <-cancel:
		return false, ctx.Err()
	}
}

// Signal sends sig unless the child has already been reaped.
func (c *Child) Signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reaped {
		return nil
	}
	err := c.proc.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Terminate sends SIGTERM.
func (c *Child) Terminate() error { return c.Signal(syscall.SIGTERM) }

// Kill sends SIGKILL.
func (c *Child) Kill() error { return c.Signal(syscall.SIGKILL) }

// Stop ends the child and waits until it has: SIGTERM, then SIGKILL if it
// has not ended after grace. Calling it on an ended child does nothing.
func (c *Child) Stop(grace time.Duration) {
	c.Terminate()
	if ok, _ := c.Wait(nil, grace); !ok {
		c.Kill()
		<-c.done
	}
}
