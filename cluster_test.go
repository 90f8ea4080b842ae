//go:build cluster

// Cluster pools on real processes: the embedded server, procsh worker
// processes on loopback, a worker killed mid-task, a retry, the server
// stopped mid-run, a large argument, a worker joining late, and a
// worker that drains on Ctrl-C. Run with go test -tags cluster.

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"procsh/cluster"
)

// TestClusterPoolSameAsLocal: a cluster pool on the embedded server
// gives what a local pool gives (testdata/cluster/pool_same.lua).
func TestClusterPoolSameAsLocal(t *testing.T) {
	r := procsh(t, 120*time.Second, "", "testdata/cluster/pool_same.lua")
	if r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestClusterObjects: mp.cluster's lock, value and queue, shared by a
// cluster pool's tasks and the root (testdata/cluster/objects.lua).
func TestClusterObjects(t *testing.T) {
	r := procsh(t, 120*time.Second, "", "testdata/cluster/objects.lua")
	if r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if want := "cluster Lock 'short' was held by Process-"; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "taken over") {
		t.Errorf("stderr lacks the warning %q … taken over\nstderr:\n%s", want, r.stderr)
	}
}

// freeAddr is a loopback address no one listens on, for a server.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// bg is a procsh process running in the background of a test, in a
// process group of its own, killed (group and all) when the test ends.
type bg struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (b *bg) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.Write(p)
}

// output is what the process wrote so far, standard output and error
// together.
func (b *bg) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// startBackground starts the test binary as procsh with args.
func startBackground(t *testing.T, env []string, args ...string) *bg {
	t.Helper()
	b := &bg{t: t, done: make(chan struct{})}
	b.cmd = exec.Command(os.Args[0], args...)
	b.cmd.Env = append(append(os.Environ(), "PROCSH_TEST_MAIN=1", "LUA_PATH=testdata/lib/?.lua;;", "GORACE=atexit_sleep_ms=0"), env...)
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b.cmd.Stdout, b.cmd.Stderr = b, b
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
		assertGroupGone(t, b.cmd.Process.Pid)
	})
	return b
}

// wait waits for the process to end, at most limit, and gives its exit
// code.
func (b *bg) wait(limit time.Duration) int {
	b.t.Helper()
	select {
	case <-b.done:
	case <-time.After(limit):
		b.t.Fatalf("procsh %s: still running after %v\noutput:\n%s", strings.Join(b.cmd.Args[1:], " "), limit, b.output())
	}
	if ee, ok := b.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

// startWorker starts procsh worker on url with procs processes.
func startWorker(t *testing.T, url string, procs int, extra ...string) *bg {
	t.Helper()
	return startBackground(t, nil, append([]string{"worker", url, "--procs", strconv.Itoa(procs)}, extra...)...)
}

// waitFile waits (at most limit) for path to hold a line, and gives it.
func waitFile(t *testing.T, path string, limit time.Duration, also ...*bg) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			var outs []string
			for _, b := range also {
				outs = append(outs, b.output())
			}
			t.Fatalf("%s did not appear within %v\noutput:\n%s", path, limit, strings.Join(outs, "\n--\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ppid is a process's parent.
func ppid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, _ := strconv.Atoi(fields[1])
	return n
}

// lostScript runs twelve one-item tasks on a server the test's workers
// serve; task 7 writes its pid to dir/pid7, then sleeps (or, on its
// second run with retries, returns at once). It prints one line per
// task, "i ok v" or "i err TYPE message", then when task 7 settled.
const lostScript = `
local mp = require("multiprocessing")
local time = require("time")
local addr, token, dir, retries = arg[1], arg[2], arg[3], tonumber(arg[4])
local pool = mp.Pool{processes = 0, cluster = "embedded", listen = addr, token = token, retries = retries}
local function task(i, dir)
  local time = require("time")
  if i == 7 then
    local f = io.open(dir .. "/runs7", "a") f:write(mp.current_process().pid, "\n") f:close()
    if not io.open(dir .. "/pid7") then
      local p = io.open(dir .. "/pid7.tmp", "w") p:write(mp.current_process().pid, "\n") p:close()
      os.rename(dir .. "/pid7.tmp", dir .. "/pid7")
      time.sleep(60)
    end
  else
    time.sleep(0.3)
  end
  return i * i
end
local callbacks = 0
local rs = {}
for i = 1, 12 do
  rs[i] = pool:apply_async(task, {i, dir}, function() if i == 7 then callbacks = callbacks + 1 end end)
end
rs[7]:wait(60)
local settled = time.time()
for i = 1, 12 do
  local ok, v = pcall(rs[i].get, rs[i], 60)
  if ok then print(i, "ok", v) else print(i, "err", v.type, v.message, v.host, v.pid) end
end
print("settled7", string.format("%.3f", settled))
time.sleep(1.5) -- a run after the loss would show in runs7 by now
local n = 0
for _ in io.lines(dir .. "/runs7") do n = n + 1 end
print("runs7", n, "callbacks7", callbacks)
pool:terminate()
`

// runLost runs lostScript with three workers and kills the procsh
// worker that runs task 7 once it has started it. It returns the
// script's lines by task (and "settled7", "runs7"), the pid of the
// process that ran task 7 first, and when the worker was killed.
func runLost(t *testing.T, retries int) (map[string][]string, int, time.Time) {
	dir := t.TempDir()
	script := filepath.Join(dir, "lost.lua")
	os.WriteFile(script, []byte(lostScript), 0o644)
	addr := freeAddr(t)
	root := startBackground(t, nil, script, addr, "secret", dir, strconv.Itoa(retries))
	var workers []*bg
	for range 3 {
		workers = append(workers, startWorker(t, "nats://"+addr, 1, "--token", "secret"))
	}
	pid7, _ := strconv.Atoi(waitFile(t, filepath.Join(dir, "pid7"), 60*time.Second, append(workers, root)...))
	worker := ppid(t, pid7)
	var killed *bg
	for _, w := range workers {
		if w.cmd.Process.Pid == worker {
			killed = w
		}
	}
	if killed == nil {
		t.Fatalf("task 7 runs in pid %d, whose parent %d is none of the workers", pid7, worker)
	}
	syscall.Kill(worker, syscall.SIGKILL)
	at := time.Now()
	if code := root.wait(90 * time.Second); code != 0 {
		t.Fatalf("root exited %d\noutput:\n%s", code, root.output())
	}
	lines := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(root.output()))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		lines[f[0]] = f[1:]
	}
	t.Logf("root:\n%s", root.output())
	return lines, pid7, at
}

// TestClusterWorkerKilled: the procsh worker running task 7 is killed:
// task 7 fails with WorkerLostError naming host and pid within the ack
// deadline and a second, is never run again, and the others succeed.
func TestClusterWorkerKilled(t *testing.T) {
	lines, pid7, killed := runLost(t, 0)
	for i := 1; i <= 12; i++ {
		l := lines[strconv.Itoa(i)]
		if i == 7 {
			host, _ := os.Hostname()
			if len(l) < 5 || l[0] != "err" || l[1] != "WorkerLostError" || l[3] != host || l[4] != strconv.Itoa(pid7) {
				t.Errorf("task 7 = %q, want err WorkerLostError, host %s, pid %d", l, host, pid7)
			}
			continue
		}
		if len(l) < 2 || l[0] != "ok" || l[1] != strconv.Itoa(i*i) {
			t.Errorf("task %d = %q, want ok %d", i, l, i*i)
		}
	}
	settled, _ := strconv.ParseFloat(lines["settled7"][0], 64)
	after := time.Duration((settled - float64(killed.UnixNano())/1e9) * float64(time.Second))
	t.Logf("task 7 failed %v after its worker was killed", after)
	if after > cluster.AckWait+time.Second {
		t.Errorf("task 7 failed %v after its worker was killed, want at most %v", after, cluster.AckWait+time.Second)
	}
	if got := lines["runs7"]; len(got) < 3 || got[0] != "1" || got[2] != "0" {
		t.Errorf("runs7 = %q, want task 7 run once and no callback", got)
	}
}

// TestClusterRetry: with retries = 1, the task whose worker was killed
// runs again elsewhere and gives exactly one result.
func TestClusterRetry(t *testing.T) {
	lines, _, _ := runLost(t, 1)
	for i := 1; i <= 12; i++ {
		if l := lines[strconv.Itoa(i)]; len(l) < 2 || l[0] != "ok" || l[1] != strconv.Itoa(i*i) {
			t.Errorf("task %d = %q, want ok %d", i, l, i*i)
		}
	}
	if got := lines["runs7"]; len(got) < 3 || got[0] != "2" || got[2] != "1" {
		t.Errorf("runs7 = %q, want task 7 run twice (killed, then again) and one callback", got)
	}
}

// TestClusterServerStopped: the server goes away while a task runs:
// get(2) raises ConnectionError within its timeout.
func TestClusterServerStopped(t *testing.T) {
	s, err := cluster.StartServer(cluster.ServerOptions{Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Close()
		}
	})
	dir := t.TempDir()
	script := filepath.Join(dir, "stopped.lua")
	os.WriteFile(script, []byte(`
local mp = require("multiprocessing")
local time = require("time")
local url, dir = arg[1], arg[2]
local pool = mp.Pool{processes = 1, cluster = url, token = "secret"}
local r = pool:apply_async(function(dir)
  local f = io.open(dir .. "/running", "w") f:write("1\n") f:close()
  require("time").sleep(60)
end, {dir})
while not io.open(dir .. "/stopped") do time.sleep(0.02) end
local t0 = time.monotonic()
local ok, err = pcall(r.get, r, 2)
print("get", ok, type(err) == "table" and err.type or tostring(err), string.format("%.3f", time.monotonic() - t0))
print(type(err) == "table" and err.message)
pool:terminate()
`), 0o644)
	root := startBackground(t, nil, script, s.URL(), dir)
	waitFile(t, filepath.Join(dir, "running"), 60*time.Second, root)
	s.Close()
	stopped = true
	os.WriteFile(filepath.Join(dir, "stopped"), []byte("1\n"), 0o644)
	if code := root.wait(30 * time.Second); code != 0 {
		t.Fatalf("root exited %d\noutput:\n%s", code, root.output())
	}
	out := root.output()
	f := strings.Fields(out)
	if len(f) < 4 || f[0] != "get" || f[1] != "false" || f[2] != "ConnectionError" {
		t.Fatalf("got %q, want get false ConnectionError", out)
	}
	if d, _ := strconv.ParseFloat(f[3], 64); d > 2.5 {
		t.Errorf("get(2) raised after %.3f s, want within its timeout", d)
	}
}

// TestClusterLargeArgument: a 5 MB argument and result cross (they are
// larger than the server's maximum payload).
func TestClusterLargeArgument(t *testing.T) {
	r := procsh(t, 60*time.Second, "", "-e", `
local mp = require("multiprocessing")
local pool = mp.Pool{processes = 1, cluster = "embedded"}
local s = string.rep("0123456789", 5e5)
local out = pool:apply(function(s) return s .. "!" end, {s})
assert(#out == 5e6 + 1 and out:sub(1, 10) == "0123456789" and out:sub(-2) == "9!", #out)
local list = pool:map(function(n) return string.rep("x", n) end, {3e6, 1}, 1)
assert(#list[1] == 3e6 and list[2] == "x")
pool:close()
assert(pool:join(20))
print("ok")`)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "ok" {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestClusterLateWorker: a worker that joins while a map runs takes
// some of its tasks.
func TestClusterLateWorker(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "late.lua")
	os.WriteFile(script, []byte(`
local mp = require("multiprocessing")
local addr, dir = arg[1], arg[2]
local pool = mp.Pool{processes = 1, cluster = "embedded", listen = addr}
local first = true
local pids = {}
local items = {}
for i = 1, 40 do items[i] = i end
for _, pid in pool:imap_unordered(function(i)
  require("time").sleep(0.2)
  return mp.parent_process().pid
end, items) do
  if first then
    first = false
    local f = io.open(dir .. "/first", "w") f:write("1\n") f:close()
  end
  pids[pid] = (pids[pid] or 0) + 1
end
for pid, n in pairs(pids) do print(pid, n) end
pool:close()
pool:join(20)
`), 0o644)
	addr := freeAddr(t)
	root := startBackground(t, nil, script, addr, dir)
	waitFile(t, filepath.Join(dir, "first"), 60*time.Second, root)
	late := startWorker(t, "nats://"+addr, 1)
	if code := root.wait(60 * time.Second); code != 0 {
		t.Fatalf("root exited %d\noutput:\n%s\nworker:\n%s", code, root.output(), late.output())
	}
	if !strings.Contains(root.output(), strconv.Itoa(late.cmd.Process.Pid)+"\t") {
		t.Errorf("the late worker (pid %d) took no task\nroot:\n%s\nworker:\n%s", late.cmd.Process.Pid, root.output(), late.output())
	}
}

// TestClusterWorkerDrains: Ctrl-C to procsh worker lets its running
// task finish and be reported, then the worker exits 0.
func TestClusterWorkerDrains(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "drain.lua")
	os.WriteFile(script, []byte(`
local mp = require("multiprocessing")
local addr, dir = arg[1], arg[2]
local pool = mp.Pool{processes = 0, cluster = "embedded", listen = addr}
print(pool:apply(function(dir)
  local f = io.open(dir .. "/running", "w") f:write("1\n") f:close()
  require("time").sleep(1)
  return "done"
end, {dir}))
pool:terminate()
`), 0o644)
	addr := freeAddr(t)
	root := startBackground(t, nil, script, addr, dir)
	w := startWorker(t, "nats://"+addr, 1)
	waitFile(t, filepath.Join(dir, "running"), 60*time.Second, root, w)
	w.cmd.Process.Signal(syscall.SIGINT)
	if code := w.wait(20 * time.Second); code != 0 {
		t.Errorf("worker exited %d after Ctrl-C, want 0\noutput:\n%s", code, w.output())
	}
	if code := root.wait(20 * time.Second); code != 0 || strings.TrimSpace(root.output()) != "done" {
		t.Errorf("root exited %d with %q, want 0 and done", code, root.output())
	}
}

// TestClusterWorkerCommandLine: procsh worker's arguments.
func TestClusterWorkerCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"worker"}, 1, "got no URL"},
		{[]string{"worker", "nats://127.0.0.1:1", "--procs", "0"}, 1, "--procs: got \"0\""},
		{[]string{"worker", "-h"}, 0, "usage: procsh worker URL"},
	} {
		r := procsh(t, 20*time.Second, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("procsh %s = %d %q, want %d and %q", strings.Join(c.args, " "), r.code, r.stdout+r.stderr, c.code, c.want)
		}
	}
}
