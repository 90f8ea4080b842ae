// What this kernel can enforce.

package sandbox

import (
	"os"
	"strings"
	"sync"

	seccomp "github.com/elastic/go-seccomp-bpf"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// Support says what this kernel can enforce.
type Support struct {
	// LandlockABI is the Landlock ABI version the kernel offers, 0 when
	// it has none (too old, or Landlock not enabled at boot: it must be
	// in the lsm= list). Version 1 is enough for files and exec.
	LandlockABI int
	// Seccomp says whether seccomp filters can be installed.
	Seccomp bool
	// Rlimits says whether RLIMIT_CPU and RLIMIT_DATA apply; always on
	// Linux (RLIMIT_DATA counts anonymous mappings since Linux 4.7).
	Rlimits bool
}

var probed struct {
	once sync.Once
	s    Support
}

// MissingEnv names features (landlock, seccomp, rlimits, separated by
// commas) that Probe reports missing whatever the kernel offers: tests
// set it to see what procsh does on a kernel without them.
const MissingEnv = "PROCSH_SANDBOX_MISSING"

// Probe asks the kernel what it supports, once per process.
func Probe() Support {
	probed.once.Do(func() {
		if v, err := ll.LandlockGetABIVersion(); err == nil {
			probed.s.LandlockABI = v
		}
		probed.s.Seccomp = seccomp.Supported()
		probed.s.Rlimits = true
		for _, f := range strings.Split(os.Getenv(MissingEnv), ",") {
			switch f {
			case "landlock":
				probed.s.LandlockABI = 0
			case "seccomp":
				probed.s.Seccomp = false
			case "rlimits":
				probed.s.Rlimits = false
			}
		}
	})
	return probed.s
}

// Missing says why this kernel cannot enforce the named limit ("wall",
// "cpu", "memory", "files", "exec", "net"), or "" when it can.
func (s Support) Missing(limit string) string {
	switch limit {
	case "files", "exec":
		if s.LandlockABI < 1 {
			return "it needs Landlock (Linux 5.13 or later, with landlock in the boot's lsm= list), which this kernel does not offer"
		}
	case "net":
		if !s.Seccomp {
			return "it needs seccomp filters, which this kernel does not offer"
		}
	case "cpu", "memory":
		if !s.Rlimits {
			return "it needs resource limits, which this system does not offer"
		}
	}
	return ""
}
