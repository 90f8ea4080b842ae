package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitInterrupted waits with mp.connection.wait on every kind of object,
// with no timeout, and is interrupted there (the test presses Ctrl-C at
// each "ready" line): caught the first time, then, on a wait for
// nothing, uncaught.
const waitInterrupted = `
local mp = require("multiprocessing")
local time = require("time")
local r, w = mp.Pipe()
local q = mp.Queue()
local p = mp.Process{target = function() time.sleep(60) end}
p:start()
print("ready 1")
local t0 = time.monotonic()
local ok, e = pcall(mp.connection.wait, {r, q, p.sentinel, p})
print("wait interrupted", ok, tostring(e), time.monotonic() - t0 < 10)
w:send(1)
print("after", #mp.connection.wait({r, q}, 5))
p:terminate()
p:join()
print("ready 2")
mp.connection.wait({})
print("not reached")
`

// TestWaitInterrupted: Ctrl-C ends mp.connection.wait with
// KeyboardInterrupt, which pcall catches, and the objects it waited on
// work afterwards; uncaught, it ends the run with status 130.
func TestWaitInterrupted(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-e", waitInterrupted)
	cmd.Env = append(os.Environ(), "PROCSH_TEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	deadline := time.After(30 * time.Second)
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			got = append(got, line)
			if strings.HasPrefix(line, "ready ") {
				time.Sleep(200 * time.Millisecond) // into the wait
				syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			}
		case <-deadline:
			t.Fatalf("procsh still running after 30 s; stdout so far:\n%s\nstderr: %s", strings.Join(got, "\n"), stderr.String())
		}
	}
	if code := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("exit status %d after an uncaught Ctrl-C, want 130", code)
	}
	assertGroupGone(t, cmd.Process.Pid)
	cmd.Wait() // the end of stderr
	want := strings.Join([]string{
		"ready 1",
		"wait interrupted\tfalse\tKeyboardInterrupt: interrupted\ttrue",
		"after\t1",
		"ready 2",
	}, "\n")
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", g, want, stderr.String())
	}
	if msg := stderr.String(); msg != "KeyboardInterrupt\n" {
		t.Errorf("stderr = %q, want one KeyboardInterrupt line", msg)
	}
}
