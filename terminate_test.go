package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Termination keeps its promises: SIGTERM waits for every open critical
// section of a child and no longer, a child blocked in print can still be
// terminated, a line torn by a killed writer does not swallow the next
// one, and Ctrl-C ends grandchildren too.

// treeCmd is procsh running args in a process group of its own, which the
// end of the test kills whatever happened.
func treeCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PROCSH_TEST_MAIN=1", "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	return cmd
}

// waitExit waits at most limit for the procsh process itself to end and
// returns its exit status (-N for signal N). It fails the test, killing
// the group, if procsh runs on. It does not wait for the output to end:
// a process left behind may hold it open.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := cmd.Process.Wait()
		done <- st
	}()
	select {
	case st := <-done:
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return st.ExitCode()
	case <-time.After(limit):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("procsh still running after %v", limit)
		return 0
	}
}

// TestTerminateWaitsForEverySection: a child printing 1 MiB lines to a
// slow reader while its queue feeder puts items receives SIGTERM; the
// feeder entering a section of its own must not end the process in the
// middle of the line. Every line arrives whole, the parent's next line is
// a line of its own, and no lock is recovered from a dead holder.
func TestTerminateWaitsForEverySection(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := treeCmd(t, "-e", `
local mp = require("multiprocessing")
local time = require("time")
local q = mp.Queue{ring_size = 4096}
for round = 1, 6 do
  local p = mp.Process{target = function(q)
    -- The ring fills and the feeder waits with the rest for room.
    for i = 1, 5000 do q:put(i) end
    local line = string.rep("x", 1048576)
    while true do print(line) end
  end, args = {q}}
  p:start()
  time.sleep(0.2 + 0.05 * (round % 3))
  p:terminate()
  -- Make room: the feeder puts while the child's print is under way.
  for i = 1, 2000 do
    if not pcall(q.get, q, true, 0.1) then break end
  end
  p:join(10)
  io.stderr:write("exitcode ", tostring(p.exitcode), "\n")
  print("parent line " .. round)
  while pcall(q.get, q, false) do end
end`)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got := make(chan []byte, 1)
	go func() {
		// 64 KiB a millisecond: a 1 MiB line takes a while to write.
		var all []byte
		buf := make([]byte, 65536)
		for {
			n, err := r.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				got <- all
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	code := waitExit(t, cmd, 60*time.Second)
	assertGroupGone(t, cmd.Process.Pid)
	cmd.Wait() // the end of stderr
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	// Neither the output lock nor the queue's locks: a terminated process
	// never dies holding one.
	if strings.Contains(stderr.String(), "which died; recovered") {
		t.Errorf("stderr = %q, want no lock recovered from a dead holder", stderr.String())
	}
	if n := strings.Count(stderr.String(), "exitcode -15\n"); n != 6 {
		t.Errorf("stderr = %q, want 6 children ended by SIGTERM", stderr.String())
	}
	stdout := string(<-got)
	rounds := 0
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "parent line "):
			rounds++
		case len(line) != 1048576 || strings.Trim(line, "x") != "":
			t.Fatalf("stdout line %d is %d bytes, starting %q and ending %q: a line was cut", i, len(line), line[:min(len(line), 20)], line[max(0, len(line)-20):])
		}
	}
	if rounds != 6 {
		t.Errorf("%d parent lines on lines of their own, want 6", rounds)
	}
}

// TestTerminateWhileStdoutFull: a child whose stdout is a pipe nobody
// reads fills it and blocks in print; terminate() still ends it, with
// -SIGTERM, within a few seconds.
func TestTerminateWhileStdoutFull(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := treeCmd(t, "-e", `
local mp = require("multiprocessing")
local time = require("time")
local p = mp.Process{target = function()
  local line = string.rep("y", 99)
  while true do print(line) end
end}
p:start()
time.sleep(1)
p:terminate()
p:join(3)
io.stderr:write("alive=", tostring(p:is_alive()), " exitcode=", tostring(p.exitcode), "\n")
if p:is_alive() then p:kill() p:join() end`)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	code := waitExit(t, cmd, 30*time.Second)
	assertGroupGone(t, cmd.Process.Pid)
	cmd.Wait() // the end of stderr
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "alive=false exitcode=-15" {
		t.Errorf("after terminate() and join(3): %q, want alive=false exitcode=-15", got)
	}
}

// TestTerminateWaitingForOutputLock: a child waits in print for the
// output lock, which a SIGSTOPped process holds in the middle of a line;
// terminate() still ends it.
func TestTerminateWaitingForOutputLock(t *testing.T) {
	out, outw, err := os.Pipe() // nobody reads it: the holder blocks mid-line
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errr, errw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := treeCmd(t, "-e", `
local mp = require("multiprocessing")
local time = require("time")
local holder = mp.Process{target = function() print(string.rep("h", 1048576)) end}
holder:start()
time.sleep(0.5)
io.stderr:write("holder ", holder.pid, "\n")
io.read() -- the test stops the holder
local p = mp.Process{target = function() print("waiter") end}
p:start()
time.sleep(0.5)
p:terminate()
p:join(3)
io.stderr:write("alive=", tostring(p:is_alive()), " exitcode=", tostring(p.exitcode), "\n")
holder:kill() holder:join()
if p:is_alive() then p:kill() p:join() end`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outw, errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outw.Close()
	errw.Close()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(errr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case line := <-lines:
			return line
		case <-time.After(20 * time.Second):
			t.Fatal("procsh said nothing on stderr for 20 s")
			return ""
		}
	}
	pids := pidsOf(t, next())
	syscall.Kill(pids[0], syscall.SIGSTOP)
	io.WriteString(stdin, "go\n")
	if got := next(); got != "alive=false exitcode=-15" {
		t.Errorf("after terminate() and join(3): %q, want alive=false exitcode=-15", got)
	}
	if code := waitExit(t, cmd, 20*time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	assertGroupGone(t, cmd.Process.Pid)
}

// TestTornLineStartsFresh: a child killed by SIGKILL in the middle of a
// 20 MiB line to a slow reader leaves a torn line; the warning about the
// recovered output lock and the parent's next line each start a line of
// their own.
func TestTornLineStartsFresh(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The parent kills the child once the reader has seen the line begin
	// (the reader makes the file started), not after a fixed time: a slow
	// machine may take longer to start writing.
	started := filepath.Join(t.TempDir(), "started")
	cmd := treeCmd(t, "-e", fmt.Sprintf(`
local mp = require("multiprocessing")
local time = require("time")
local p = mp.Process{target = function()
  print(string.rep("x", 20 * 1048576))
end}
p:start()
local t0 = time.monotonic()
while not io.open(%q) and time.monotonic() - t0 < 20 do time.sleep(0.01) end
time.sleep(0.1)
p:kill()
p:join()
print("parent line")`, started))
	cmd.Stdout, cmd.Stderr = w, w // one stream, as on a terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got := make(chan []byte, 1)
	go func() {
		// A slow reader: 64 KiB every 10 ms.
		var all []byte
		buf := make([]byte, 65536)
		for {
			n, err := r.Read(buf)
			all = append(all, buf[:n]...)
			if len(all) > 0 && len(all) == n {
				os.WriteFile(started, nil, 0o644)
			}
			if err != nil {
				got <- all
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if code := waitExit(t, cmd, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	var output []byte
	select {
	case output = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("output did not end 20 s after procsh did")
	}
	lines := strings.Split(strings.TrimSuffix(string(output), "\n"), "\n")
	if len(lines) != 3 {
		var heads []string
		for _, l := range lines {
			heads = append(heads, l[max(0, len(l)-60):])
		}
		t.Fatalf("%d lines (their ends: %q), want the torn line, the warning and the parent's line", len(lines), heads)
	}
	if torn := lines[0]; len(torn) == 0 || len(torn) >= 20*1048576 || strings.Trim(torn, "x") != "" {
		t.Errorf("first line: %d bytes ending %q, want part of the killed child's line", len(torn), torn[max(0, len(torn)-40):])
	}
	if !strings.HasPrefix(lines[1], "procsh: warning: the output lock was held by Process-1") || !strings.HasSuffix(lines[1], "recovered") {
		t.Errorf("second line %q, want the warning about the recovered output lock", lines[1])
	}
	if lines[2] != "parent line" {
		t.Errorf("third line %q, want %q", lines[2], "parent line")
	}
	assertGroupGone(t, cmd.Process.Pid)
}

// TestCtrlCEndsGrandchildren: Ctrl-C (SIGINT to the process group) with a
// child that started a non-daemon and a daemon child of its own ends all
// of them, with exit status 130 and one KeyboardInterrupt line.
func TestCtrlCEndsGrandchildren(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local time = require("time")
local function forever() while true do time.sleep(0.01) end end
local p = mp.Process{target = function()
  local g = mp.Process{target = forever}
  local d = mp.Process{target = forever, daemon = true}
  g:start() d:start()
  print("pids " .. mp.current_process().pid .. " " .. g.pid .. " " .. d.pid)
  g:join()
end}
p:start()
forever()
`
	cmd, line := startProcsh(t, script, "pids ")
	pids := pidsOf(t, line)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if code := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("after Ctrl-C: exit status %d, want 130", code)
	}
	if alive := waitGone(t, pids, 3*time.Second); len(alive) > 0 {
		t.Errorf("processes %v (of child, grandchild, daemon grandchild %v) still running after Ctrl-C", alive, pids)
	}
	assertGroupGone(t, cmd.Process.Pid)
	cmd.Wait() // the end of stderr
	if msg := cmd.Stderr.(*strings.Builder).String(); msg != "KeyboardInterrupt\n" {
		t.Errorf("stderr after Ctrl-C = %q, want one KeyboardInterrupt line", msg)
	}
}

// TestSecondCtrlCEndsGrandchildren: when the first Ctrl-C cannot stop the
// root (stuck writing to a pipe nobody reads), a second one ends the tree
// at once, grandchildren included, with one KeyboardInterrupt line.
func TestSecondCtrlCEndsGrandchildren(t *testing.T) {
	cmd, lines, pids := startTree(t, `
local mp = require("multiprocessing")
local time = require("time")
local function forever() while true do time.sleep(0.01) end end
local p = mp.Process{target = function()
  local g = mp.Process{target = forever}
  g:start()
  io.stderr:write("pids ", mp.current_process().pid, " ", g.pid, "\n")
  g:join()
end}
p:start()
print(string.rep("z", 1048576)) -- stuck: nobody reads stdout`)
	time.Sleep(200 * time.Millisecond) // the root is in its print
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if code := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("after two Ctrl-C: exit status %d, want 130", code)
	}
	if alive := waitGone(t, pids, 3*time.Second); len(alive) > 0 {
		t.Errorf("processes %v (of child and grandchild %v) still running after two Ctrl-C", alive, pids)
	}
	assertGroupGone(t, cmd.Process.Pid)
	wantOneInterrupt(t, lines)
}

// TestCtrlCEndsStuckGrandchild: Ctrl-C with a grandchild whose SIGTERM is
// deferred for good (it is in the middle of a line to a pipe nobody
// reads): its parent kills it before being killed by its own, and the
// whole tree ends.
func TestCtrlCEndsStuckGrandchild(t *testing.T) {
	cmd, lines, pids := startTree(t, `
local mp = require("multiprocessing")
local time = require("time")
local p = mp.Process{target = function()
  local g = mp.Process{target = function() print(string.rep("g", 1048576)) end}
  g:start()
  io.stderr:write("pids ", mp.current_process().pid, " ", g.pid, "\n")
  g:join()
end}
p:start()
while true do time.sleep(0.01) end`)
	time.Sleep(300 * time.Millisecond) // the grandchild is in its line
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if code := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("after Ctrl-C: exit status %d, want 130", code)
	}
	if alive := waitGone(t, pids, 3*time.Second); len(alive) > 0 {
		t.Errorf("processes %v (of child and grandchild %v) still running after Ctrl-C", alive, pids)
	}
	assertGroupGone(t, cmd.Process.Pid)
	wantOneInterrupt(t, lines)
}

// startTree runs a procsh script whose standard output is a pipe nobody
// reads and whose first line on standard error is "pids P G…", and
// returns the command, the rest of standard error line by line, and the
// pids.
func startTree(t *testing.T, script string) (*exec.Cmd, <-chan string, []int) {
	t.Helper()
	out, outw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	errr, errw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := treeCmd(t, "-e", script)
	cmd.Stdout, cmd.Stderr = outw, errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outw.Close()
	errw.Close()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(errr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		return cmd, lines, pidsOf(t, line)
	case <-time.After(20 * time.Second):
		t.Fatal("procsh said nothing on stderr for 20 s")
	}
	return nil, nil, nil
}

// wantOneInterrupt checks that what is left of standard error is one
// KeyboardInterrupt line.
func wantOneInterrupt(t *testing.T, lines <-chan string) {
	t.Helper()
	var rest []string
	for line := range lines {
		rest = append(rest, line)
	}
	if len(rest) != 1 || rest[0] != "KeyboardInterrupt" {
		t.Errorf("stderr after the pids: %q, want one KeyboardInterrupt line", rest)
	}
}
