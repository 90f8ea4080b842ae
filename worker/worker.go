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
	"fmt"
	"io"
	"os"
	"syscall"

	"procsh/luaapi"
	"procsh/runtime"
)

// Active says whether this process was started in worker mode.
func Active() bool { return os.Getenv(runtime.WorkerEnv) != "" }

const byHand = `procsh: this is procsh's worker mode: procsh starts it itself to run a
child process, and hands it its work on an inherited pipe. There is nothing
to do when it is started by hand; run a script with "procsh script.lua".
`

// Main runs this process as a child and returns its exit code.
func Main() int {
	// First of all: a Ctrl-C meant for the root must not kill a child
	// that is still starting.
	runtime.IgnoreInterrupts()
	os.Unsetenv(runtime.WorkerEnv)
	msg, err := readStart()
	if err != nil {
		fmt.Fprint(os.Stderr, byHand)
		return 1
	}
	runtime.DeferTermination()
	var arena *runtime.Arena
	if f := os.NewFile(runtime.ArenaFD, "arena"); isMemfd(f) {
		if arena, err = runtime.AttachArena(f); err != nil {
			fmt.Fprintf(os.Stderr, "procsh: %s: %v\n", msg.Self.Name, err)
			return 1
		}
	}
	if msg.Self.Daemon {
		// A daemon never outlives its parent.
		runtime.WatchParent(func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) })
	}
	return luaapi.RunChild(msg, arena)
}

// readStart reads the whole start message, if StartFD is a pipe.
func readStart() (luaapi.StartMessage, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(runtime.StartFD, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return luaapi.StartMessage{}, fmt.Errorf("no start pipe")
	}
	f := os.NewFile(runtime.StartFD, "start")
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return luaapi.StartMessage{}, err
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
