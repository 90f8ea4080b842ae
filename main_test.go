package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"procsh/worker"
)

// The test binary is procsh: in worker mode when a test's child asks for
// it, and the command-line program when PROCSH_TEST_MAIN is set, so that
// tests run real process trees of this very code.
func TestMain(m *testing.M) {
	if worker.Active() {
		os.Exit(worker.Main())
	}
	if os.Getenv("PROCSH_TEST_MAIN") != "" {
		os.Args = append([]string{"procsh"}, os.Args[1:]...)
		os.Exit(run())
	}
	os.Exit(m.Run())
}

// result is what a procsh run left.
type result struct {
	stdout, stderr string
	code           int
}

// procsh runs the test binary as the procsh command with args, in its own
// process group, for at most limit. It fails the test if the run takes
// longer, or if any process of the group is left running afterwards.
func procsh(t *testing.T, limit time.Duration, stdin string, args ...string) result {
	t.Helper()
	return procshRun(t, limit, nil, stdin, args...)
}

// procshVia is procsh run through a wrapper command (prefix, e.g.
// unshare --pid --fork), with no standard input.
func procshVia(t *testing.T, limit time.Duration, prefix []string, args ...string) result {
	t.Helper()
	return procshRun(t, limit, prefix, "", args...)
}

func procshRun(t *testing.T, limit time.Duration, prefix []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append(append(append([]string(nil), prefix...), os.Args[0]), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PROCSH_TEST_MAIN=1", "LUA_PATH=testdata/lib/?.lua;;", "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ctx.Err() != nil {
		t.Fatalf("procsh %s: still running after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), limit, r.stdout, r.stderr)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = -int(ws.Signal())
		}
	case err != nil:
		t.Fatalf("procsh %s: %v", strings.Join(args, " "), err)
	}
	assertGroupGone(t, cmd.Process.Pid)
	return r
}

// assertGroupGone fails the test if a process of the group is still
// running a moment after its leader ended, and kills what is left.
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of group %d were left running", pgid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScripts runs every testdata/*.lua as a procsh script. A script
// passes when it exits 0; its assertions (testdata/lib/assert.lua) say
// what failed. A first-line comment "-- expect exit N" or
// "-- expect stderr: TEXT" changes what is expected.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := procsh(t, 60*time.Second, "", f)
			if r.code != 0 {
				t.Errorf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, line := range strings.Split(string(src), "\n") {
				if want, ok := strings.CutPrefix(line, "-- expect stdout: "); ok && !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\nstdout:\n%s", want, r.stdout)
				}
				if want, ok := strings.CutPrefix(line, "-- expect stderr: "); ok && !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q\nstderr:\n%s", want, r.stderr)
				}
			}
		})
	}
}
