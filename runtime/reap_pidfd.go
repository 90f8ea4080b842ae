// Reaping a child through Go's poller, on a pidfd of its own.

package runtime

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A child's end is waited for on a pidfd registered with Go's poller (the
// kernel makes it readable when the child ends), not in a waitid system
// call: that held a thread of the parent for each child's whole life,
// and each time a child started, the runtime took the P back from the
// blocked thread and started or woke another to run the rest.

// pollablePidfd says whether the kernel has pidfds that waitid takes
// (Linux 5.4 and later).
var pollablePidfd = sync.OnceValue(func() bool {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var info unix.Siginfo
	return unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil) == unix.ECHILD
})

// sigchld is the siginfo_t that waitid fills for a child.
type sigchld struct {
	signo, errno, code int32
	_                  int32
	pid                int32
	uid                uint32
	status             int32
	_                  [100]byte
}

// The si_code values of a child's end (CLD_* in <signal.h>).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// waitPidfd waits for the child of pidfd to end, reaps it and closes
// pidfd. It gives the child's wait status, or false when pidfd is -1 or
// could not be waited on: the caller then waits by the pid.
func waitPidfd(pidfd int) (syscall.WaitStatus, bool) {
	if pidfd < 0 {
		return 0, false
	}
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return 0, false
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info sigchld
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			info = sigchld{}
			werr = unix.Waitid(unix.P_PIDFD, int(fd), (*unix.Siginfo)(unsafe.Pointer(&info)), unix.WEXITED|unix.WNOHANG, nil)
			if werr != unix.EINTR {
				break
			}
		}
		// Not ended yet (pid 0, or EAGAIN): wait until pidfd is readable.
		return !(werr == nil && info.pid == 0 || werr == unix.EAGAIN)
	})
	if err != nil || werr != nil {
		return 0, false
	}
	switch info.code {
	case cldExited:
		return syscall.WaitStatus(info.status&0xff) << 8, true
	case cldKilled:
		return syscall.WaitStatus(info.status & 0x7f), true
	case cldDumped:
		return syscall.WaitStatus(info.status&0x7f | 0x80), true
	}
	return 0, false
}
