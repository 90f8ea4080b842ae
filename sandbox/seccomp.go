// Sockets: a seccomp filter that refuses network sockets, written as
// classic BPF by hand: a filter library builds its syscall tables at
// package init, which every process of a tree would pay at its start.

package sandbox

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DenySockets installs a seccomp filter, on every thread of this process
// and inherited by every process it starts, that makes socket(2) fail
// with EPERM for every family but AF_UNIX (so AF_INET, AF_INET6,
// AF_PACKET, AF_NETLINK… are refused), and io_uring_setup(2) too, since
// io_uring can make sockets without socket(2). Unix sockets stay: they
// reach only this machine, and procsh's Listener and Client may use
// them. Nothing procsh needs inside a tree is a socket: the arena is a
// memfd, and children talk over pipes. It sets no_new_privs, which a
// filter needs.
func DenySockets() error {
	if !Probe().Seccomp {
		return errors.New("seccomp is not available on this kernel")
	}
	prog, err := socketFilter()
	if err != nil {
		return err
	}
	// no_new_privs on the calling thread lets an unprivileged process
	// install a filter; TSYNC then gives it to every thread.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}

// auditArch is the AUDIT_ARCH_ value of this build's architecture, which
// the filter checks first: a system call of another ABI has other
// numbers.
var auditArch = map[string]uint32{
	"amd64":   unix.AUDIT_ARCH_X86_64,
	"arm64":   unix.AUDIT_ARCH_AARCH64,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE,
	"s390x":   unix.AUDIT_ARCH_S390X,
}

// socketFilter is the program: for this architecture's calls with a
// number below the x32 bit, io_uring_setup fails with EPERM, socket
// fails with EPERM unless its family (args[0], whose low 32 bits sit at
// offset 16 on a little-endian machine) is AF_UNIX, and everything else
// is allowed; a call of another ABI fails with EPERM.
func socketFilter() ([]unix.SockFilter, error) {
	arch, ok := auditArch[goruntime.GOARCH]
	if !ok || goruntime.GOARCH == "s390x" {
		return nil, fmt.Errorf("seccomp: no filter for the architecture %s", goruntime.GOARCH)
	}
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		deny  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		allow = unix.SECCOMP_RET_ALLOW
	)
	// seccomp_data: nr at 0, arch at 4, args from 16.
	return []unix.SockFilter{
		{Code: ldAbs, K: 4},                                   // 0: A = arch
		{Code: jeq, K: arch, Jt: 1, Jf: 0},                    // 1: this ABI? to 3
		{Code: ret, K: deny},                                  // 2: another ABI
		{Code: ldAbs, K: 0},                                   // 3: A = nr
		{Code: jge, K: 0x40000000, Jt: 6, Jf: 0},              // 4: x32 numbers: to 11
		{Code: jeq, K: unix.SYS_IO_URING_SETUP, Jt: 5, Jf: 0}, // 5: to 11
		{Code: jeq, K: unix.SYS_SOCKET, Jt: 1, Jf: 0},         // 6: to 8
		{Code: ret, K: allow},                                 // 7
		{Code: ldAbs, K: 16},                                  // 8: A = family
		{Code: jeq, K: unix.AF_UNIX, Jt: 0, Jf: 1},            // 9: AF_UNIX? to 10, else 11
		{Code: ret, K: allow},                                 // 10
		{Code: ret, K: deny},                                  // 11
	}, nil
}

// seccompSupported says whether this kernel has seccomp filters.
func seccompSupported() bool {
	_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	return err == nil
}
