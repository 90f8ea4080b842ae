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

// caughtInterrupt is a script that catches a KeyboardInterrupt in a
// blocking call and in a Lua loop (the test presses Ctrl-C at each
// "ready" line), and after each one uses every kind of call: all must
// work as if nothing had happened. A coroutine interrupted in a blocking
// call gets the error itself, as its resume's second result.
const caughtInterrupt = `
local mp = require("multiprocessing")
local time = require("time")
local q = mp.Queue()
local lock = mp.Lock()
local pool = mp.Pool(2)
local co = coroutine.wrap(function() while true do coroutine.yield("resumed") end end)
co()

local function check(label, f)
  local ok, v = pcall(f)
  if type(v) == "table" then v = tostring(v) end
  print(label, ok, v)
end

local function afterwards(n)
  check(n .. " qsize", function() return q:qsize() end)
  check(n .. " get_nowait", function() return q:get_nowait() end)
  check(n .. " put get", function() q:put("x") return q:get(5) end)
  check(n .. " acquire", function() local ok = lock:acquire() lock:release() return ok end)
  check(n .. " sleep", function() time.sleep(0.01) return "slept" end)
  check(n .. " process", function()
    local p = mp.Process{target = function() end}
    p:start() p:join() return p.exitcode
  end)
  check(n .. " map", function() return table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}), ",") end)
  check(n .. " coroutine", co)
  check(n .. " loop", function() local s = 0 for i = 1, 3000000 do s = s + 1 end return s end)
end

print("ready 1")
local ok, e = pcall(function() q:get() end)
print("get interrupted", ok, tostring(e))
afterwards(1)
print("ready 2")
ok, e = pcall(function() while true do end end)
print("loop interrupted", ok, tostring(e))
afterwards(2)
pool:close() pool:join()
print("ready 3")
local res = table.pack(coroutine.resume(coroutine.create(function() q:get() end)))
print("coroutine interrupted", res.n, res[1], tostring(res[2]))
print("ready 4")
q:get()
print("not reached")
`

// TestCaughtInterrupt: a KeyboardInterrupt caught by pcall ends the call
// it interrupted, nothing else. Every later call works (a queue's qsize
// and get_nowait, a lock, sleep, a Process, a Pool's map, a coroutine made
// before, a long loop) and no error shows Go's "context canceled"; an
// uncaught one still ends the run with status 130.
func TestCaughtInterrupt(t *testing.T) {
	got, stderr := interruptAtReady(t, caughtInterrupt, 100*time.Millisecond)
	want := []string{
		"ready 1",
		"get interrupted\tfalse\tKeyboardInterrupt: interrupted",
	}
	for _, n := range []string{"1", "2"} {
		if n == "2" {
			want = append(want, "ready 2", "loop interrupted\tfalse\tKeyboardInterrupt: interrupted")
		}
		want = append(want,
			n+" qsize\ttrue\t0",
			n+" get_nowait\tfalse\tEmpty: Queue.get_nowait: the queue is empty",
			n+" put get\ttrue\tx",
			n+" acquire\ttrue\ttrue",
			n+" sleep\ttrue\tslept",
			n+" process\ttrue\t0",
			n+" map\ttrue\t2,4,6",
			n+" coroutine\ttrue\tresumed",
			n+" loop\ttrue\t3000000",
		)
	}
	want = append(want, "ready 3", "coroutine interrupted\t2\tfalse\tKeyboardInterrupt: interrupted", "ready 4")
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", g, w, stderr)
	}
	if msg := stderr; msg != "KeyboardInterrupt\n" {
		t.Errorf("stderr = %q, want one KeyboardInterrupt line", msg)
	}
}

// TestREPLCaughtInterrupt: at the prompt too, a KeyboardInterrupt caught
// by pcall leaves the rest of the line, and the next ones, working; and
// the line's value is shown.
func TestREPLCaughtInterrupt(t *testing.T) {
	tm := startREPL(t)
	tm.line("q = mp.Queue()", "")
	tm.send(`print("wait".."ing") print(pcall(function() q:get() end)) return q:qsize(), select(2, pcall(q.get_nowait, q)).type` + "\n")
	tm.expect("waiting", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	tm.send("\x03")
	tm.expect("false\tKeyboardInterrupt: interrupted", 10*time.Second)
	tm.expect(`0	"Empty"`, 10*time.Second)
	tm.prompt()
	tm.line(`print(pcall(function() time.sleep(0.01) return "slept" end))`, "true\tslept")
	tm.quit()
}

// interruptAtReady runs script as procsh -e in a process group of its
// own and sends the group SIGINT pause after each line that starts with
// "ready " (the pause lets the script get into its call). It wants the
// run to end, within 30 s, with the status of an uncaught Ctrl-C (130)
// and nothing of the group left, and gives its stdout lines and stderr.
func interruptAtReady(t *testing.T, script string, pause time.Duration) (stdout []string, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-e", script)
	cmd.Env = append(os.Environ(), "PROCSH_TEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
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
	deadline := time.After(30 * time.Second)
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			stdout = append(stdout, line)
			if strings.HasPrefix(line, "ready ") {
				time.Sleep(pause)
				syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			}
		case <-deadline:
			t.Fatalf("procsh still running after 30 s; stdout so far:\n%s\nstderr: %s", strings.Join(stdout, "\n"), errb.String())
		}
	}
	if code := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("exit status %d after an uncaught Ctrl-C, want 130", code)
	}
	assertGroupGone(t, cmd.Process.Pid)
	cmd.Wait() // the end of stderr
	return stdout, errb.String()
}

const patternInterrupt = `
local s, p = string.rep("a", 40), string.rep("a*", 40) .. "b"
local function try(name, f)
  local ok, e = pcall(f)
  print(name, ok, tostring(e))
end
print("ready 1")
try("find", function() return s:find(p) end)
print("ready 2")
try("gsub", function() return s:gsub(p, "x") end)
print("ready 3")
try("gmatch", function() for _ in s:gmatch(p) do end end)
print("ready 4")
s:match(p)
print("not reached")
`

// TestInterruptPatternMatch: Ctrl-C interrupts a pattern match that
// backtracks for ever (40 "a*" against 40 a's and no b), in each of
// string.find, gsub, gmatch and match, as it interrupts a loop.
func TestInterruptPatternMatch(t *testing.T) {
	got, stderr := interruptAtReady(t, patternInterrupt, 100*time.Millisecond)
	want := []string{
		"ready 1", "find\tfalse\tKeyboardInterrupt: interrupted",
		"ready 2", "gsub\tfalse\tKeyboardInterrupt: interrupted",
		"ready 3", "gmatch\tfalse\tKeyboardInterrupt: interrupted",
		"ready 4",
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", g, w, stderr)
	}
	if stderr != "KeyboardInterrupt\n" {
		t.Errorf("stderr = %q, want one KeyboardInterrupt line", stderr)
	}
}
