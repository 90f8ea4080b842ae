// Sockets: a seccomp filter that refuses network sockets.

package sandbox

import (
	"errors"
	"fmt"

	seccomp "github.com/elastic/go-seccomp-bpf"
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
	filter := seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{{
				Action: seccomp.ActionErrno,
				Names:  []string{"io_uring_setup"},
				NamesWithCondtions: []seccomp.NameWithConditions{{
					Name: "socket",
					Conditions: seccomp.ArgumentConditions{{
						Argument:  0,
						Operation: seccomp.NotEqual,
						Value:     unix.AF_UNIX,
					}},
				}},
			}},
		},
	}
	if err := seccomp.LoadFilter(filter); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}
