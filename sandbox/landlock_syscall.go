// Landlock's system calls: the ABI version, rulesets with path rules,
// and enforcing a ruleset on every thread of the process.

package sandbox

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// landlockVersion asks the kernel for its Landlock ABI version
// (landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)):
// 0 when it has none.
func landlockVersion() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// File access rights, as linux/landlock.h numbers them.
const (
	accessExecute    = unix.LANDLOCK_ACCESS_FS_EXECUTE
	accessWriteFile  = unix.LANDLOCK_ACCESS_FS_WRITE_FILE
	accessReadFile   = unix.LANDLOCK_ACCESS_FS_READ_FILE
	accessReadDir    = unix.LANDLOCK_ACCESS_FS_READ_DIR
	accessRemoveDir  = unix.LANDLOCK_ACCESS_FS_REMOVE_DIR
	accessRemoveFile = unix.LANDLOCK_ACCESS_FS_REMOVE_FILE
	accessMakeChar   = unix.LANDLOCK_ACCESS_FS_MAKE_CHAR
	accessMakeDir    = unix.LANDLOCK_ACCESS_FS_MAKE_DIR
	accessMakeReg    = unix.LANDLOCK_ACCESS_FS_MAKE_REG
	accessMakeSock   = unix.LANDLOCK_ACCESS_FS_MAKE_SOCK
	accessMakeFifo   = unix.LANDLOCK_ACCESS_FS_MAKE_FIFO
	accessMakeBlock  = unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK
	accessMakeSym    = unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	accessRefer      = unix.LANDLOCK_ACCESS_FS_REFER
	accessTruncate   = unix.LANDLOCK_ACCESS_FS_TRUNCATE
	accessIoctlDev   = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	// accessFile are the rights that apply to a file: a rule on
	// anything but a folder may grant only these.
	accessFile = accessExecute | accessWriteFile | accessReadFile | accessTruncate | accessIoctlDev
)

// accessFSUpTo are the file rights Landlock ABI version abi can
// restrict, of those up to version 7: version 1 brought the base rights
// (EXECUTE to MAKE_SYM), 2 REFER, 3 TRUNCATE, 5 IOCTL_DEV; 4 (network),
// 6 (scopes) and 7 (logging flags) added none. Handling every right the
// kernel knows and dropping the rest is go-landlock's BestEffort.
func accessFSUpTo(abi int) uint64 {
	if abi < 1 {
		return 0
	}
	rights := uint64(accessMakeSym<<1 - 1)
	if abi >= 2 {
		rights |= accessRefer
	}
	if abi >= 3 {
		rights |= accessTruncate
	}
	if abi >= 5 {
		rights |= accessIoctlDev
	}
	return rights
}

// A ruleset is a Landlock ruleset being built: what it handles is
// forbidden except where a rule allows it. Close it when done.
type ruleset struct {
	fd      int
	handled uint64
}

// newRuleset makes a ruleset that handles the file rights given.
func newRuleset(handled uint64) (*ruleset, error) {
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	// Only handled_access_fs is given: its 8 bytes are the size every
	// ABI version takes, the later fields (network, scopes) left out.
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr.Handled_access_fs), 0)
	if errno != 0 {
		return nil, fmt.Errorf("landlock: creating a ruleset: %w", errno)
	}
	return &ruleset{fd: int(fd), handled: handled}, nil
}

// allow lets the rights given (of those the ruleset handles) be used on
// path and, for a folder, everything below it; on anything but a folder
// only file rights apply. A path that does not exist is an error,
// unless ignoreMissing.
func (r *ruleset) allow(path string, rights uint64, ignoreMissing bool) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if ignoreMissing && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("landlock: populating ruleset for %q: open: %w", path, err)
	}
	defer unix.Close(fd)
	rights &= r.handled
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		rights &= accessFile
	}
	if rights == 0 {
		return nil // a rule that allows nothing is refused, and needless
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(r.fd), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock: populating ruleset for %q: landlock_add_rule: %w", path, errno)
	}
	return nil
}

// Close releases the ruleset; what was enforced stays.
func (r *ruleset) Close() error { return unix.Close(r.fd) }

// errCgo is why a binary built with cgo cannot apply Landlock.
var errCgo = errors.New("landlock: Landlock must restrict every thread of the process, which Go does only in a build without cgo; this procsh was built with cgo (as -tags cluster and -race builds are): build it with CGO_ENABLED=0, or without -tags cluster")

// enforce applies the ruleset, for good, to every thread of this
// process and to every process it starts, with no_new_privs set first
// as Landlock requires. Without cgo, syscall.AllThreadsSyscall makes
// each call on every thread the Go runtime runs; with cgo it cannot
// (C may have made threads Go does not know), and enforce returns
// errCgo having changed nothing.
func (r *ruleset) enforce() error {
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		if errno == syscall.ENOTSUP {
			return errCgo
		}
		return fmt.Errorf("landlock: prctl(PR_SET_NO_NEW_PRIVS): %w", errno)
	}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(r.fd), 0, 0); errno != 0 {
		if errno == syscall.E2BIG {
			return fmt.Errorf("landlock: the maximum number of stacked rulesets is reached for the current thread: %w", errno)
		}
		return fmt.Errorf("landlock: landlock_restrict_self: %w", errno)
	}
	return nil
}

// allThreadsSyscalls says whether this binary can make a system call on
// every thread (syscall.AllThreadsSyscall), which only a build without
// cgo can. It asks with a prctl that the kernel refuses on the first
// thread (PR_SET_NO_NEW_PRIVS takes only 1), so nothing changes.
func allThreadsSyscalls() bool {
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 0, 0)
	return errno != syscall.ENOTSUP
}
