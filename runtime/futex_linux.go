// Futex wait and wake on words of the shared arena.

package runtime

import (
	"errors"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations. The words live in a MAP_SHARED mapping seen by several
// processes, so the private variants (FUTEX_PRIVATE_FLAG) must not be used:
// the kernel keys a shared futex by the backing file and offset, which is
// what lets a wake in one process reach a waiter in another.
const (
	futexWaitOp = 0 // FUTEX_WAIT
	futexWakeOp = 1 // FUTEX_WAKE
)

// errFutexTimeout is futexWait's report that its timeout ran out.
var errFutexTimeout = errors.New("runtime: futex wait timed out")

// futexWait sleeps while *addr == val, for at most timeout (timeout < 0:
// no limit). It returns nil when woken, when *addr no longer held val on
// entry (EAGAIN) or when a signal interrupted the sleep (EINTR); callers
// re-check their condition in a loop in every case. It returns
// errFutexTimeout when the timeout ran out.
//
// The call goes through unix.Syscall6, not RawSyscall, so the Go scheduler
// knows the thread is blocked and runs other goroutines meanwhile.
func futexWait(addr *uint32, val uint32, timeout time.Duration) error {
	var tsp *unix.Timespec
	if timeout >= 0 {
		ts := unix.NsecToTimespec(int64(timeout))
		tsp = &ts
	}
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)),
		futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(tsp)), 0, 0)
	switch errno {
	case 0, unix.EAGAIN, unix.EINTR:
		return nil
	case unix.ETIMEDOUT:
		return errFutexTimeout
	default:
		return errno
	}
}

// futexWake wakes at most n processes sleeping in futexWait on addr and
// returns how many it woke.
func futexWake(addr *uint32, n int) int {
	if n <= 0 {
		return 0
	}
	if n > 1<<30 {
		n = 1 << 30
	}
	r, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)),
		futexWakeOp, uintptr(n), 0, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(r)
}

// futexWakeAll wakes every process sleeping on addr.
func futexWakeAll(addr *uint32) int { return futexWake(addr, 1<<30) }
