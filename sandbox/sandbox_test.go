package sandbox

// The kernel's limits on real processes: each test runs this test binary
// again as a helper that applies one limit to itself and reports what it
// could still do, since nothing here can be undone in the process that
// applies it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const helperEnv = "SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

// runHelper applies the limit named and reports, one line each, what the
// process could still do. arg is the helper's argument (a folder).
func runHelper(name, arg string) int {
	fail := func(err error) int { fmt.Println("error:", err); return 1 }
	switch name {
	case "files":
		if err := Restrict(FilesPolicy{Files: true, Read: []string{filepath.Join(arg, "ro")}, Write: []string{filepath.Join(arg, "rw")}}); err != nil {
			return fail(err)
		}
		report("read /etc/hostname", tryRead("/etc/hostname"))
		report("read ro/a", tryRead(filepath.Join(arg, "ro", "a")))
		report("write ro/b", tryWrite(filepath.Join(arg, "ro", "b")))
		report("write rw/c", tryWrite(filepath.Join(arg, "rw", "c")))
		report("run self", runSelf())
		report("run true", exec.Command("true").Run())
	case "noexec":
		if err := Restrict(FilesPolicy{NoExec: true}); err != nil {
			return fail(err)
		}
		report("read /etc/hostname", tryRead("/etc/hostname"))
		report("run self", runSelf())
		report("run true", exec.Command("true").Run())
	case "nonet":
		if err := DenySockets(); err != nil {
			return fail(err)
		}
		report("tcp", listen(unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		report("unix", listen(unix.AF_UNIX, &unix.SockaddrUnix{Name: filepath.Join(arg, "s")}))
		report("pipe", pipe())
		report("run self", runSelf())
	case "cpu":
		got := make(chan time.Duration, 1)
		NotifyCPU(func() {
			select {
			case got <- CPUTime():
			default:
			}
		})
		if _, err := LimitCPU(time.Second, 2*time.Second); err != nil {
			return fail(err)
		}
		start := CPUTime()
		for {
			select {
			case at := <-got:
				d := at - start
				fmt.Printf("SIGXCPU after 0.5-1.6 s of CPU time: %v (%v)\n", d > time.Second/2 && d < 1600*time.Millisecond, d)
				return 0
			default:
			}
		}
	case "memory":
		g := NewMemoryGuard()
		if err := g.SetLimit(100<<20, true); err != nil {
			return fail(err)
		}
		fmt.Println("allows 1e9:", g.Allows(1e9))
		fmt.Println("allows 1 MiB:", g.Allows(1<<20))
		over := make(chan int64, 1)
		g.Watch(func(used, limit int64, since time.Duration) {
			select {
			case over <- used:
			default:
			}
		})
		var keep [][]byte
		for {
			select {
			case used := <-over:
				fmt.Printf("over at 100-150 MiB: %v (%d MiB)\n", used > 100<<20 && used < 150<<20, used>>20)
				keep = nil
				return 0
			default:
			}
			// About 1 GB/s, as fast as Lua code fills memory.
			keep = append(keep, make([]byte, 1<<20))
			time.Sleep(time.Millisecond)
		}
	case "self":
		fmt.Println("ran")
	}
	return 0
}

func report(what string, err error) {
	switch {
	case err == nil:
		fmt.Printf("%s: ok\n", what)
	case errors.Is(err, syscall.EACCES):
		fmt.Printf("%s: EACCES\n", what)
	case errors.Is(err, syscall.EPERM):
		fmt.Printf("%s: EPERM\n", what)
	default:
		fmt.Printf("%s: %v\n", what, err)
	}
}

func tryRead(path string) error {
	_, err := os.ReadFile(path)
	return err
}

func tryWrite(path string) error { return os.WriteFile(path, []byte("x"), 0o644) }

// listen makes a listening socket of family at addr and closes it. It
// uses the system calls rather than package net, whose cgo resolver
// would make this test binary one that cannot apply Landlock.
func listen(family int, addr unix.Sockaddr) error {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, addr); err != nil {
		return err
	}
	return unix.Listen(fd, 1)
}

func pipe() error {
	r, w, err := os.Pipe()
	if err == nil {
		r.Close()
		w.Close()
	}
	return err
}

// runSelf starts this binary as a helper that only prints, by
// /proc/self/exe as procsh starts its children.
func runSelf() error {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$", "self")
	cmd.Env = append(os.Environ(), helperEnv+"=self")
	out, err := cmd.Output()
	if err == nil && string(out) != "ran\n" {
		return fmt.Errorf("the child wrote %q, want \"ran\\n\"", out)
	}
	return err
}

// helper runs the helper name with arg and returns its lines.
func helper(t *testing.T, name, arg string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", name, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func need(t *testing.T, limit string) {
	if why := Probe().Missing(limit); why != "" {
		t.Skipf("%s cannot be enforced here: %s", limit, why)
	}
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestLimitCPU: SIGXCPU comes after the budget (whole seconds, rounded
// up) of CPU time.
func TestLimitCPU(t *testing.T) {
	need(t, "cpu")
	got := helper(t, "cpu", "")
	if len(got) != 1 || !strings.HasPrefix(got[0], "SIGXCPU after 0.5-1.6 s of CPU time: true") {
		t.Errorf("got %q, want SIGXCPU after 0.5 to 1.6 s of CPU time", got)
	}
}

// TestMemoryGuard: a large allocation is refused before it is made; a
// heap grown by small steps is reported once past the budget.
func TestMemoryGuard(t *testing.T) {
	need(t, "memory")
	got := helper(t, "memory", "")
	if len(got) != 3 || got[0] != "allows 1e9: false" || got[1] != "allows 1 MiB: true" || !strings.HasPrefix(got[2], "over at 100-150 MiB: true") {
		t.Errorf("got %q, want 1e9 refused, 1 MiB allowed, and the watcher to report the heap at 100-150 MiB", got)
	}
}

// TestRestrictFiles: only the folders given can be read or written;
// this binary still starts; other programs do not.
func TestRestrictFiles(t *testing.T) {
	need(t, "files")
	dir := t.TempDir()
	for _, d := range []string{"ro", "rw"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ro", "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkLines(t, helper(t, "files", dir), []string{
		"read /etc/hostname: EACCES",
		"read ro/a: ok",
		"write ro/b: EACCES",
		"write rw/c: ok",
		"run self: ok",
		"run true: EACCES",
	})
}

// TestRestrictExec: files are untouched; only this binary runs.
func TestRestrictExec(t *testing.T) {
	need(t, "exec")
	checkLines(t, helper(t, "noexec", t.TempDir()), []string{
		"read /etc/hostname: ok",
		"run self: ok",
		"run true: EACCES",
	})
}

// TestDenySockets: TCP is refused; Unix sockets, pipes and children
// work.
func TestDenySockets(t *testing.T) {
	need(t, "net")
	checkLines(t, helper(t, "nonet", t.TempDir()), []string{
		"tcp: EPERM",
		"unix: ok",
		"pipe: ok",
		"run self: ok",
	})
}

// TestAccessFSUpTo: the file rights each Landlock ABI version knows, as
// the kernel's table has them.
func TestAccessFSUpTo(t *testing.T) {
	for _, c := range []struct {
		abi  int
		want uint64
	}{{0, 0}, {1, 0x1fff}, {2, 0x3fff}, {3, 0x7fff}, {4, 0x7fff}, {5, 0xffff}, {7, 0xffff}} {
		if got := accessFSUpTo(c.abi); got != c.want {
			t.Errorf("accessFSUpTo(%d) = %#x, want %#x", c.abi, got, c.want)
		}
	}
}
