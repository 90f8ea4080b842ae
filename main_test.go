package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestScripts runs the Lua tests of testdata/*.lua. A test is a global
// function of a script, defined on a line that starts
// "function test_<what>(", and runs as the subtest
// TestScripts/<script>/test_<what>, so that
//
//	go test -run 'TestScripts/queue_basic/test_put_get' .
//
// runs one. Each runs in a procsh process of its own, in which
// testdata/lib/runtest.lua loads the script and calls the one function.
// It passes when that process exits 0 having printed "test_<what> ok",
// within a minute, and leaves no process of its group behind. A failed
// assertion (testdata/lib/assert.lua) raises: its message and traceback
// are reported under the subtest's name, and the tests after it still
// run. A line "-- expect stdout: TEXT" or "-- expect stderr: TEXT"
// inside a test function adds that the test's output must hold TEXT.
//
// Scripts run one after the other, the tests of a script side by side:
// as many at once as -parallel allows (GOMAXPROCS by default; -parallel 1
// runs them one at a time), which wins back what starting a process per
// test costs. So a test must not count on running alone.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts found: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tests, err := scriptTests(string(src))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, st := range tests {
				t.Run(st.name, func(t *testing.T) {
					t.Parallel()
					runScriptTest(t, f, st)
				})
			}
		})
	}
}

// runScriptTest runs one test function of script f in a procsh process of
// its own and checks what the process left.
func runScriptTest(t *testing.T, f string, st scriptTest) {
	t.Helper()
	r := procsh(t, 60*time.Second, "", "testdata/lib/runtest.lua", f, st.name)
	if r.code != 0 || !strings.Contains(r.stdout, st.name+" ok\n") {
		t.Fatalf("exit status %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, st.name+" ok", r.stdout, r.stderr)
	}
	for _, want := range st.stdout {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\nstdout:\n%s", want, r.stdout)
		}
	}
	for _, want := range st.stderr {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q\nstderr:\n%s", want, r.stderr)
		}
	}
}

// scriptTest is one test function of a Lua test script and the output it
// must write.
type scriptTest struct {
	name           string
	stdout, stderr []string
}

// scriptTests lists a script's test functions in file order, each with
// the expect lines that stand inside it.
func scriptTests(src string) ([]scriptTest, error) {
	var tests []scriptTest
	seen := map[string]bool{}
	for n, line := range strings.Split(src, "\n") {
		if m := testFunc.FindStringSubmatch(line); m != nil {
			if seen[m[1]] {
				return nil, fmt.Errorf("line %d: got a second function %s, want each test named once", n+1, m[1])
			}
			seen[m[1]] = true
			tests = append(tests, scriptTest{name: m[1]})
			continue
		}
		line = strings.TrimLeft(line, " \t")
		out, isOut := strings.CutPrefix(line, "-- expect stdout: ")
		errText, isErr := strings.CutPrefix(line, "-- expect stderr: ")
		if !isOut && !isErr {
			continue
		}
		if len(tests) == 0 {
			return nil, fmt.Errorf("line %d: got an expect line before any test function, want it inside the test it is about", n+1)
		}
		st := &tests[len(tests)-1]
		if isOut {
			st.stdout = append(st.stdout, out)
		} else {
			st.stderr = append(st.stderr, errText)
		}
	}
	if len(tests) == 0 {
		return nil, errors.New("got no test functions, want at least one 'function test_<what>()'")
	}
	return tests, nil
}

// testFunc matches the line that starts a test function.
var testFunc = regexp.MustCompile(`^function (test_[A-Za-z0-9_]+)\s*\(`)
