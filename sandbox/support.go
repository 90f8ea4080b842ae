// What this kernel can enforce.

package sandbox

import (
	"os"
	"strings"
	"sync"
)

// Support says what this kernel can enforce.
type Support struct {
	// LandlockABI is the Landlock ABI version the kernel offers, 0 when
	// it has none (too old, or Landlock not enabled at boot: it must be
	// in the lsm= list) or when this binary cannot apply it (Cgo).
	// Version 1 is enough for files and exec.
	LandlockABI int
	// Cgo says this binary runs with cgo (a -tags cluster build, or one
	// under the race detector), where Go cannot make a system call on
	// every thread, as Landlock needs: LandlockABI is 0 then, whatever
	// the kernel offers. It is asked only where the kernel has Landlock.
	Cgo bool
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
		probed.s.LandlockABI = landlockVersion()
		if probed.s.LandlockABI > 0 && !allThreadsSyscalls() {
			probed.s.LandlockABI, probed.s.Cgo = 0, true
		}
		probed.s.Seccomp = seccompSupported()
		probed.s.Rlimits = true
		for _, f := range strings.Split(os.Getenv(MissingEnv), ",") {
			switch f {
			case "landlock":
				probed.s.LandlockABI, probed.s.Cgo = 0, false
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
		if s.Cgo {
			return "it needs Landlock on every thread, which this procsh, built with cgo (as -tags cluster and -race builds are), cannot apply; a build without cgo can"
		}
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
