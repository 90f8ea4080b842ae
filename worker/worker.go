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
	os.Unsetenv(runtime.WorkerEnv)
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
		// runtime.Idle) sets the parent-death signal now, on the main
		// thread, to which init locked this goroutine: the setting is
		// the thread's. The watchdog covers a parent that died before.
		unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
		runtime.WatchParent(func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) })
	}
	goruntime.UnlockOSThread()
	code := w.RunStart(msg)
	// Exiting is a section that never ends: a SIGTERM that came first
	// ends the process by that signal, after its children, instead of
	// this exit; one that comes later is too late.
	runtime.EnterCritical()
	return code
}

// The parent-death signal is a setting of the main thread: keep main on
// it until Main has set it (init functions run there, and a lock taken in
// init holds for main).
func init() {
	if Active() {
		goruntime.LockOSThread()
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
