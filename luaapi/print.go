// print: one whole line, one write, under the tree's output lock.

package luaapi

import (
	"os"
	"strings"
	"sync"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// basePrint replaces Lua's print, which writes each argument separately:
// lines from different processes never interleave, whatever their length.
func basePrint(L *lua.LState) int {
	n := L.GetTop()
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteByte('\t')
		}
		sb.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	sb.WriteByte('\n')
	worldOf(L).WriteOut(os.Stdout, []byte(sb.String()))
	return 0
}

// WriteOut writes b to f whole, under the tree's output lock when there
// is an arena, and never cut in two by termination. Safe to call from any
// goroutine.
//
// Termination does not wait for a line that has not started: the wait for
// the lock, and the wait for f to take data (a full pipe, a stopped
// terminal), give up when SIGTERM arrives, and the line is dropped. Only
// a write that has begun is finished first. The section starts before
// the lock is taken, so the process never ends between taking the lock
// and writing: no other process has to recover the lock from it.
//
// After the lock is recovered from a writer that died, possibly in the
// middle of a line, the output starts on a fresh line.
func (w *World) WriteOut(f *os.File, b []byte) {
	runtime.EnterCritical()
	defer runtime.LeaveCritical()
	stop := runtime.TermContext()
	if w.Arena != nil {
		m := w.Arena.OutputLock()
		recovered, err := m.LockRecover(stop, -1)
		if err != nil {
			return // termination is pending
		}
		defer m.Unlock()
		if recovered {
			freshLines()
		}
	}
	writeWhole(f, b)
}

// writeWhole writes b to f unless termination comes first: it waits until
// f can take data, watching for termination, then writes all of b. A
// write that has begun is not abandoned.
func writeWhole(f *os.File, b []byte) {
	if !waitWritable(f) {
		return
	}
	f.Write(b)
}

// waitWritable waits until f can take data without blocking (as poll(2)
// says) and reports true, or reports false once termination is pending.
// It does not change f's blocking mode, which other processes share. In
// a process that does not defer termination (the root) there is nothing
// to watch, and it saves the system call.
func waitWritable(f *os.File) bool {
	if !runtime.TermDeferred() {
		return true
	}
	stop := runtime.TermContext()
	fd, ok := fdOf(f)
	if !ok {
		return stop.Err() == nil
	}
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for stop.Err() == nil {
		// A slice of 50 ms: termination is seen within that.
		n, err := unix.Poll(fds[:], 50)
		if n > 0 || err != nil && err != unix.EINTR {
			return true // writable, or an error the write will report
		}
	}
	return false
}

// fdOf is f's descriptor, without f.Fd's side effect of making it
// blocking.
func fdOf(f *os.File) (int, bool) {
	switch f {
	case os.Stdout:
		return 1, true
	case os.Stderr:
		return 2, true
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	rc.Control(func(d uintptr) { fd = int(d) })
	return fd, fd >= 0
}

// The owner-death warning of the output lock waits here, written by
// ownerDied while this process holds the lock, until freshLines writes
// it.
var outputLockWarning struct {
	sync.Mutex
	line []byte
}

// freshLines is called holding the output lock just recovered from a
// writer that died, perhaps in the middle of a line, on standard output or
// standard error: each of them (once if they are the same file) gets a
// newline to end that line, then the warning about the dead writer goes
// to standard error on a line of its own.
func freshLines() {
	writeWhole(os.Stdout, []byte{'\n'})
	if !sameFile(os.Stdout, os.Stderr) {
		writeWhole(os.Stderr, []byte{'\n'})
	}
	outputLockWarning.Lock()
	line := outputLockWarning.line
	outputLockWarning.line = nil
	outputLockWarning.Unlock()
	if line != nil {
		writeWhole(os.Stderr, line)
	}
}

// sameFile says whether a and b are the same open file (a terminal, a
// pipe) as fstat(2) sees it.
func sameFile(a, b *os.File) bool {
	sa, err := a.Stat()
	if err != nil {
		return false
	}
	sb, err := b.Stat()
	return err == nil && os.SameFile(sa, sb)
}
