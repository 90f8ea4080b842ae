// CPU time: RLIMIT_CPU, SIGXCPU at its soft limit, SIGKILL at its hard.

package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CPUTime is the CPU time this process has used so far, in user and
// system mode, all threads together (what RLIMIT_CPU counts).
func CPUTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LimitCPU makes the kernel send SIGXCPU once this process has used
// budget more CPU time than it has now, and again every second it goes
// on. RLIMIT_CPU counts whole seconds of the process's total, so the
// moment is rounded to the nearest whole second, and at least the next
// one: a budget of 1 s is 0.5 to 1.5 s. With backstop > 0 the hard
// limit is set that much later (rounded up too), where the kernel sends
// SIGKILL: a process whose code ignores SIGXCPU still ends. With
// backstop 0 the hard limit stays as it is, so that restore can put the
// soft limit back (a pool task's limit). Neither limit is set above the
// hard limit the process already has: a child cannot widen what its
// parent left it. restore sets RLIMIT_CPU back to what it was, as far as
// the hard limit now allows.
func LimitCPU(budget, backstop time.Duration) (restore func() error, err error) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CPU, &old); err != nil {
		return nil, fmt.Errorf("getrlimit(RLIMIT_CPU): %w", err)
	}
	used := CPUTime()
	soft := max(wholeSeconds(used+budget), uint64(used/time.Second)+1)
	lim := unix.Rlimit{Cur: soft, Max: old.Max}
	if backstop > 0 {
		lim.Max = soft + seconds(backstop)
	}
	lim.Max = min(lim.Max, old.Max)
	lim.Cur = min(lim.Cur, lim.Max)
	if err := unix.Setrlimit(unix.RLIMIT_CPU, &lim); err != nil {
		return nil, fmt.Errorf("setrlimit(RLIMIT_CPU, %d s, %d s): %w", lim.Cur, lim.Max, err)
	}
	restore = func() error {
		back := unix.Rlimit{Cur: min(old.Cur, lim.Max), Max: lim.Max}
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &back); err != nil {
			return fmt.Errorf("setrlimit(RLIMIT_CPU): %w", err)
		}
		return nil
	}
	return restore, nil
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) uint64 {
	return uint64((d + time.Second - 1) / time.Second)
}

// wholeSeconds is d in whole seconds, rounded to the nearest.
func wholeSeconds(d time.Duration) uint64 {
	return uint64(d.Round(time.Second) / time.Second)
}

// NotifyCPU calls f, on a goroutine of its own, each time SIGXCPU
// arrives. Go ignores SIGXCPU unless asked for it; once asked, a process
// must handle it, or a process past its soft limit would go on until
// its hard limit kills it. Call it once per process.
func NotifyCPU(f func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGXCPU)
	go func() {
		for range ch {
			f()
		}
	}()
}
