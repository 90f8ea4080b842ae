// The test binary doubles as a helper process: with PROCSH_RUNTIME_TEST_HELPER
// set, TestMain runs the named helper on the arena inherited at fd 3 and
// exits, so tests exercise real child processes.

package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	helperEnv     = "PROCSH_RUNTIME_TEST_HELPER"
	helperArgsEnv = "PROCSH_RUNTIME_TEST_ARGS"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	code := m.Run()
	if kids := liveChildren(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "child processes left behind: %v\n", kids)
		code = 1
	}
	os.Exit(code)
}

// liveChildren lists this process's children, reaped or not.
func liveChildren() []string {
	var kids []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}

// Exit codes of helpers.
const (
	exitOK      = 0
	exitFailed  = 1 // the helper's check failed; it says why on stderr
	exitUnknown = 2
)

// helpers are the named child programs. args are the numbers given to
// startHelper.
var helpers = map[string]func(a *Arena, args []uint64) error{
	// increment mutexOff counterOff n [gateOff parties]: n locked
	// increments of a uint64, starting when parties helpers are ready.
	"increment": func(a *Arena, args []uint64) error {
		m, counter := a.MutexAt(args[0]), a.Uint64(args[1])
		if len(args) == 5 {
			if err := gate(a.Uint32(args[3]), uint32(args[4])); err != nil {
				return err
			}
		}
		for i := uint64(0); i < args[2]; i++ {
			if err := m.Lock(nil, 10*time.Second); err != nil {
				return err
			}
			// A plain, slow read-modify-write: only the lock makes it safe.
			v := *counter
			spin(50)
			*counter = v + 1
			if err := m.Unlock(); err != nil {
				return err
			}
		}
		return nil
	},
	// die-holding-lock mutexOff: lock, then SIGKILL itself.
	"die-holding-lock": func(a *Arena, args []uint64) error {
		if err := a.MutexAt(args[0]).Lock(nil, 5*time.Second); err != nil {
			return err
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return errors.New("still alive after SIGKILL")
	},
	// spin-lock mutexOff stopOff: lock and unlock until *stop != 0.
	"spin-lock": func(a *Arena, args []uint64) error {
		m, stop := a.MutexAt(args[0]), a.Uint32(args[1])
		deadline := time.Now().Add(60 * time.Second)
		for atomic.LoadUint32(stop) == 0 && time.Now().Before(deadline) {
			for range 100 {
				m.Lock(nil, -1)
				m.Unlock()
			}
		}
		return nil
	},
	// lock-release lockOff: release a Lock another process holds.
	"lock-release": func(a *Arena, args []uint64) error {
		return a.LockAt(args[0]).Release()
	},
	// rlock-release rlockOff: release an RLock another process holds; want
	// ErrNotOwner.
	"rlock-release": func(a *Arena, args []uint64) error {
		if err := a.RLockAt(args[0]).Release(); !errors.Is(err, ErrNotOwner) {
			return fmt.Errorf("RLock.Release by a non-owner = %v, want %v", err, ErrNotOwner)
		}
		return nil
	},
	// rlock-try rlockOff: a non-blocking acquire of an RLock another
	// process holds must fail.
	"rlock-try": func(a *Arena, args []uint64) error {
		ok, err := a.RLockAt(args[0]).Acquire(nil, false, -1)
		if ok || err != nil {
			return fmt.Errorf("RLock.Acquire(block=false) of a held RLock = %v, %v, want false, nil", ok, err)
		}
		return nil
	},
	// semaphore semOff insideOff maxOff n gateOff parties: n
	// acquire/hold/release cycles, counting holders in *inside and
	// recording the most seen in *max.
	"semaphore": func(a *Arena, args []uint64) error {
		s, inside, most := a.SemaphoreAt(args[0]), a.Uint32(args[1]), a.Uint32(args[2])
		if err := gate(a.Uint32(args[4]), uint32(args[5])); err != nil {
			return err
		}
		for i := uint64(0); i < args[3]; i++ {
			ok, err := s.Acquire(nil, true, 10*time.Second)
			if !ok || err != nil {
				return fmt.Errorf("Semaphore.Acquire = %v, %v, want true, nil", ok, err)
			}
			n := atomic.AddUint32(inside, 1)
			for {
				m := atomic.LoadUint32(most)
				if n <= m || atomic.CompareAndSwapUint32(most, m, n) {
					break
				}
			}
			spin(200)
			if i%64 == 0 {
				time.Sleep(20 * time.Microsecond)
			}
			atomic.AddUint32(inside, ^uint32(0))
			if err := s.Release(); err != nil {
				return err
			}
		}
		return nil
	},
	// barrier-rounds barrierOff counterOff masksOff actionsOff rounds: each
	// round, count an arrival, wait, and check that the round is whole.
	"barrier-rounds": func(a *Arena, args []uint64) error {
		b, counter, actions := a.BarrierAt(args[0]), a.Uint64(args[1]), a.Uint64(args[3])
		parties := uint64(b.Parties())
		for r := uint64(0); r < args[4]; r++ {
			atomic.AddUint64(counter, 1)
			idx, err := b.Wait(nil, 10*time.Second, func() error {
				if c := atomic.LoadUint64(counter); c != parties*(r+1) {
					return fmt.Errorf("round %d: the action saw %d arrivals, want %d", r, c, parties*(r+1))
				}
				atomic.AddUint64(actions, 1)
				return nil
			})
			if err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
			if c := atomic.LoadUint64(counter); c < parties*(r+1) || c > parties*(r+2) {
				return fmt.Errorf("round %d: released with %d arrivals counted, want %d to %d", r, c, parties*(r+1), parties*(r+2))
			}
			atomic.OrUint32(a.Uint32(args[2]+4*r), 1<<idx)
		}
		return nil
	},
	// barrier-broken barrierOff: wait once; want ErrBrokenBarrier.
	"barrier-broken": func(a *Arena, args []uint64) error {
		if _, err := a.BarrierAt(args[0]).Wait(nil, 10*time.Second, nil); !errors.Is(err, ErrBrokenBarrier) {
			return fmt.Errorf("Barrier.Wait = %v, want %v", err, ErrBrokenBarrier)
		}
		return nil
	},
	// barrier-once barrierOff: wait once; want success.
	"barrier-once": func(a *Arena, args []uint64) error {
		_, err := a.BarrierAt(args[0]).Wait(nil, 10*time.Second, nil)
		return err
	},
	// event-wait eventOff: wait for the Event; want it set.
	"event-wait": func(a *Arena, args []uint64) error {
		ok, err := a.EventAt(args[0]).Wait(nil, 10*time.Second)
		if !ok || err != nil {
			return fmt.Errorf("Event.Wait = %v, %v, want true, nil", ok, err)
		}
		return nil
	},
	// cond-wait condOff mutexOff readyOff wokenOff: count itself ready and
	// wait, under the Mutex; count itself woken.
	"cond-wait": func(a *Arena, args []uint64) error {
		c, m := a.CondAt(args[0]), a.MutexAt(args[1])
		if err := m.Lock(nil, 10*time.Second); err != nil {
			return err
		}
		*a.Uint32(args[2])++
		woken, err := c.Wait(m, nil, 10*time.Second)
		if woken {
			atomic.AddUint32(a.Uint32(args[3]), 1)
		}
		m.Unlock()
		if !woken {
			return fmt.Errorf("Cond.Wait = %v, %v, want true, nil", woken, err)
		}
		return nil
	},
	// condition-wait condnOff readyOff: the same on a Condition.
	"condition-wait": func(a *Arena, args []uint64) error {
		c := a.ConditionAt(args[0])
		if ok, err := c.Acquire(nil, true, 10*time.Second); !ok {
			return fmt.Errorf("Condition.Acquire = %v, %v", ok, err)
		}
		*a.Uint32(args[1])++
		woken, err := c.Wait(nil, 10*time.Second)
		c.Release()
		if !woken || err != nil {
			return fmt.Errorf("Condition.Wait = %v, %v, want true, nil", woken, err)
		}
		return nil
	},
	// alloc n outOff: allocate n bytes, check they are zero, fill them with
	// 0xAB, and leave the offset at outOff.
	"alloc": func(a *Arena, args []uint64) error {
		off, err := a.Alloc(int(args[0]))
		if err != nil {
			return err
		}
		b := a.Bytes(off, int(args[0]))
		if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
			return fmt.Errorf("Alloc(%d) = %d: byte %d is not zero", args[0], off, i)
		}
		for i := range b {
			b[i] = 0xAB
		}
		atomic.StoreUint64(a.Uint64(args[1]), off)
		return nil
	},
	// free off: free what another process allocated.
	"free": func(a *Arena, args []uint64) error {
		a.Free(args[0])
		return nil
	},
	// barrier-bench barrierOff rounds: wait rounds times.
	"barrier-bench": func(a *Arena, args []uint64) error {
		b := a.BarrierAt(args[0])
		for r := uint64(0); r < args[1]; r++ {
			if _, err := b.Wait(nil, 30*time.Second, nil); err != nil {
				return err
			}
		}
		return nil
	},
}

// spinSink keeps spin's loop from being optimised away.
var spinSink uint64

// spin burns a little CPU time.
func spin(n int) {
	x := spinSink
	for i := range n {
		x = x*31 + uint64(i)
	}
	spinSink = x
}

// gate counts this process in *ready and waits for parties processes to be
// there, so that they start their work together.
func gate(ready *uint32, parties uint32) error {
	atomic.AddUint32(ready, 1)
	deadline := time.Now().Add(10 * time.Second)
	for atomic.LoadUint32(ready) < parties {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d processes at the start gate", atomic.LoadUint32(ready), parties)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

func runHelper(name string) int {
	h := helpers[name]
	if h == nil {
		fmt.Fprintf(os.Stderr, "helper %q: no such helper\n", name)
		return exitUnknown
	}
	a, err := AttachArena(os.NewFile(3, "arena"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return exitFailed
	}
	var args []uint64
	for _, s := range strings.Fields(os.Getenv(helperArgsEnv)) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: bad argument %q\n", name, s)
			return exitUnknown
		}
		args = append(args, n)
	}
	if err := h(a, args); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s (pid %d): %v\n", name, os.Getpid(), err)
		return exitFailed
	}
	return exitOK
}

// helper is a child process running one of helpers.
type helper struct {
	name   string
	cmd    *exec.Cmd
	out    bytes.Buffer
	done   chan struct{}
	err    error
	reaped bool
}

// startHelper starts helper name in a child process with the arena at fd 3.
// The child is killed and reaped when the test ends, if not before.
func startHelper(tb testing.TB, a *Arena, name string, args ...uint64) *helper {
	tb.Helper()
	h := &helper{name: name, done: make(chan struct{})}
	strs := make([]string, len(args))
	for i, n := range args {
		strs[i] = strconv.FormatUint(n, 10)
	}
	h.cmd = exec.Command(os.Args[0], "-test.run=^$")
	h.cmd.Env = helperEnviron(name, strs...)
	h.cmd.ExtraFiles = []*os.File{a.File()}
	h.cmd.Stdout = &h.out
	h.cmd.Stderr = &h.out
	if err := h.cmd.Start(); err != nil {
		tb.Fatalf("start helper %s: %v", name, err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-h.done:
		default:
			h.cmd.Process.Kill()
			<-h.done
		}
	})
	return h
}

// helperEnviron is the environment of a child running helper name.
func helperEnviron(name string, args ...string) []string {
	return append(os.Environ(),
		helperEnv+"="+name,
		helperArgsEnv+"="+strings.Join(args, " "),
		// Under -race a process sleeps a second on exit unless told not to.
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// wait waits at most timeout for the helper to exit and fails the test
// unless it succeeded.
func (h *helper) wait(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	select {
	case <-h.done:
	case <-time.After(timeout):
		h.cmd.Process.Kill()
		<-h.done
		tb.Fatalf("helper %s (pid %d) still running after %v; killed it\n%s", h.name, h.pid(), timeout, h.out.String())
	}
	if h.err != nil {
		tb.Errorf("helper %s (pid %d): %v\n%s", h.name, h.pid(), h.err, h.out.String())
	}
}

func waitAll(tb testing.TB, timeout time.Duration, hs ...*helper) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for _, h := range hs {
		h.wait(tb, max(time.Until(deadline), time.Millisecond))
	}
}

// newTestArena makes a small arena, unmapped and closed when the test ends.
func newTestArena(tb testing.TB) *Arena {
	tb.Helper()
	a, err := NewArena(64 << 20)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		a.unmap()
		a.f.Close()
	})
	return a
}

// alloc allocates n bytes or fails the test.
func alloc(tb testing.TB, a *Arena, n int) uint64 {
	tb.Helper()
	off, err := a.Alloc(n)
	if err != nil {
		tb.Fatal(err)
	}
	return off
}

// eventually polls cond every millisecond for at most timeout.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("still waiting after %v for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// bg is a context for calls that need one.
var bg = context.Background()
