// How a process ended, and whether a pid names a running process.

package runtime

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitStatus is how a process ended, as Python's Process.exitcode says
// it: 0 or the code it exited with, or -N when signal N ended it.
type ExitStatus int

// Signal returns the signal that ended the process, if one did.
func (s ExitStatus) Signal() (syscall.Signal, bool) {
	if s < 0 {
		return syscall.Signal(-s), true
	}
	return 0, false
}

// String says how the process ended: "exited with code 3", "killed by
// SIGKILL".
func (s ExitStatus) String() string {
	if sig, ok := s.Signal(); ok {
		return "killed by " + signalName(sig)
	}
	return "exited with code " + strconv.Itoa(int(s))
}

// Repr shows the status as Python's repr of an exit code does: "3", or
// "-SIGTERM" for a signal.
func (s ExitStatus) Repr() string {
	if sig, ok := s.Signal(); ok {
		if name := unix.SignalName(sig); name != "" {
			return "-" + name
		}
	}
	return strconv.Itoa(int(s))
}

func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(sig))
}

// PidRunning reports whether pid names a running process that is not a
// zombie, as this process's /proc sees it. It is for the pids of this
// process's own children and of its parent, which share its pid
// namespace; processes of the arena are told apart by their tokens
// (Arena.Alive), which no other process can take over.
func PidRunning(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		switch b[i+2] {
		case 'Z', 'X', 'x':
			return false
		}
	}
	return true
}
