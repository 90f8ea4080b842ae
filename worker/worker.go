// Package worker is the child side of procsh: a procsh binary started by
// another procsh process, in worker mode, reads its start message from
// runtime.StartFD, maps the tree's arena from runtime.ArenaFD, and runs the
// Lua target (or the pool task loop) it was given.
//
// Worker mode is guarded by the environment variable runtime.WorkerEnv.
// Started by hand, a worker finds no start message, says what it is for,
// and exits with status 1.
package worker

import (
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"procsh/luaapi"
	"procsh/runtime"
)

// Active says whether this process was started in worker mode.
func Active() bool { return os.Getenv(runtime.WorkerEnv) != "" }

const byHand = `procsh: this is procsh's worker mode: procsh starts it itself to run a
child process, and hands it its work on an inherited pipe. There is nothing
to do when it is started by hand; run a script with "procsh script.lua".
`

// Main runs this process as a child and returns its exit code. A Go panic
// that reaches it (a bug: Lua errors are reported by the Lua side) is
// reported in one line, and the child exits 1, not 2 with a Go trace.
func Main() (status int) {
	// First of all: a Ctrl-C meant for the root must not kill a child
	// that is still starting.
	runtime.IgnoreInterrupts()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "procsh: internal error in pid %d: %v\n", os.Getpid(), r)
			status = 1
		}
	}()
	startProcsSet := runtime.TakeWorkerEnv()
	if !isPipe(runtime.StartFD) {
		fmt.Fprint(os.Stderr, byHand)
		return 1
	}
	runtime.DeferTermination()
	var arena *runtime.Arena
	if f := os.NewFile(runtime.ArenaFD, "arena"); isMemfd(f) {
		var err error
		if arena, err = runtime.AttachArena(f); err != nil {
			fmt.Fprintf(os.Stderr, "procsh: worker: %v\n", err)
			return 1
		}
	}
	// All of this, the Lua state included, is made before the start
	// message arrives: an idle child (runtime.Idle) waits in readStart.
	w := luaapi.PrepareChild(arena)
	msg, err := readStart()
	if err == errNoWork {
		return 0 // an idle child whose parent ended or discarded it
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: worker: %v\n", err)
		return 1
	}
	if msg.Self.Daemon {
		// A daemon never outlives its parent. One started idle (see
		// runtime.Idle) sets the parent-death signal now. The watchdog
		// covers a parent that died before.
		setParentDeathSignal()
		runtime.WatchParent(func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) })
	}
	if startProcsSet {
		runtime.WorkerStarted()
	}
	code := w.RunStart(msg)
	// Exiting is a section that never ends: a SIGTERM that came first
	// ends the process by that signal, after its children, instead of
	// this exit; one that comes later is too late.
	runtime.EnterExit()
	return code
}

// setParentDeathSignal makes the kernel kill this process when its parent
// ends. The setting is a thread's, and lasts as long as that thread: set
// on the main thread, which Go never ends, it is unlocked again; set on
// another, the goroutine stays locked to it, and Go ends a thread only
// when the goroutine locked to it returns, which main does by ending the
// process. (Locking main to the main thread from the start instead costs
// every child a hand-off of its P between threads each time main blocks
// while it starts.)
func setParentDeathSignal() {
	goruntime.LockOSThread()
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	if unix.Gettid() == os.Getpid() {
		goruntime.UnlockOSThread()
	}
}

var errNoWork = errors.New("the start pipe closed with no message")

// isPipe says whether fd is an open pipe.
func isPipe(fd int) bool {
	var st syscall.Stat_t
	return syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFIFO
}

// readStart reads the whole start message from StartFD.
func readStart() (luaapi.StartMessage, error) {
	// Read through Go's poller: an idle child waiting here parks its
	// goroutine instead of holding a thread in read(2), for which the
	// runtime would start another to run the rest.
	syscall.SetNonblock(runtime.StartFD, true)
	f := os.NewFile(runtime.StartFD, "start")
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return luaapi.StartMessage{}, err
	}
	if len(b) == 0 {
		return luaapi.StartMessage{}, errNoWork
	}
	return luaapi.DecodeStartMessage(b)
}

// isMemfd says whether f is an open regular file (the arena's memfd).
func isMemfd(f *os.File) bool {
	if f == nil {
		return false
	}
	var st syscall.Stat_t
	return syscall.Fstat(int(f.Fd()), &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG
}
