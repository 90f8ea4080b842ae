package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandLine covers the standalone-lua conventions of the command line (README.md).
func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"-e", "", []string{"-e", "print(1 + 1)"}, 0, "2\n", ""},
		{"-e twice", "", []string{"-e", "x = 5", "-e", "print(x * 2)"}, 0, "10\n", ""},
		{"-l", "", []string{"-l", "assert", "-e", "assert.eq(1, 1) print('ok')"}, 0, "ok\n", ""},
		{"script args", "", []string{"testdata/cli/args.lua", "a", "b c"}, 0, "2\ta\tb c\ttestdata/cli/args.lua\ta|b c\n", ""},
		{"stdin dash", "print('from stdin', ...)", []string{"-", "x"}, 0, "from stdin\tx\n", ""},
		{"stdin not a terminal", "print('piped')", nil, 0, "piped\n", ""},
		{"uncaught error", "", []string{"-e", "error('boom')"}, 1, "", "boom"},
		{"traceback", "", []string{"-e", "local function f() error('deep') end f()"}, 1, "", "stack traceback:"},
		{"error table", "", []string{"-e", "error(setmetatable({}, {__tostring = function() return 'custom' end}))"}, 1, "", "custom"},
		{"os.exit", "", []string{"-e", "os.exit(3)"}, 3, "", ""},
		{"os.exit true", "", []string{"-e", "os.exit(true)"}, 0, "", ""},
		{"os.exit false", "", []string{"-e", "os.exit(false)"}, 1, "", ""},
		{"syntax error", "", []string{"-e", "print(("}, 1, "", "procsh:"},
		{"missing script", "", []string{"testdata/no-such-file.lua"}, 1, "", "procsh: cannot open testdata/no-such-file.lua: no such file or directory\n"},
		{"script is a directory", "", []string{"testdata"}, 1, "", "procsh: cannot read testdata: is a directory\n"},
		{"syntax error at the end", "", []string{"-e", "local function f()\n  if x then\n  end\n"}, 1, "", "procsh: (command line):4: 'end' expected (to close 'function' at line 1) near '<eof>'\n"},
		{"syntax error in a line", "", []string{"-e", "x = = 1"}, 1, "", "procsh: (command line):1: syntax error near '='\n"},
		{"chunk name", "", []string{"-e", "error('boom')"}, 1, "", "procsh: (command line):1: boom\nstack traceback:\n\t[G]: in function 'error'\n\t(command line):1: in main chunk"},
		{"arena size too large", "", []string{"--arena-size", "999999999T", "-e", "print(1)"}, 1, "", `got "999999999T", want at most 4194304T (2^62 bytes)`},
		{"unknown option", "", []string{"-z"}, 1, "", "unrecognized option '-z'"},
		{"-e without chunk", "", []string{"-e"}, 1, "", "'-e' needs an argument"},
		{"version", "", []string{"-v"}, 0, "procsh", ""},
		{"help", "", []string{"-h"}, 0, "usage: procsh", ""},
		{"bad arena size", "", []string{"--arena-size", "lots", "-e", "print(1)"}, 1, "", "--arena-size"},
		{"shebang", "", []string{"testdata/cli/shebang.lua"}, 0, "shebang ok\n", ""},
		{"newcomer", "", []string{"-e", `local mp = require("multiprocessing")
local p = mp.Process{target = function(x) print("child says", x) end, args = {42}}
p:start() p:join() print(p.exitcode, p:is_alive())`}, 0, "child says\t42\n0\tfalse\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := procsh(t, 20*time.Second, tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("procsh %q: exit status %d, want %d\nstderr: %s", tt.args, r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("procsh %q: stdout %q, want it to contain %q", tt.args, r.stdout, tt.wantOut)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("procsh %q: stderr %q, want it to contain %q", tt.args, r.stderr, tt.wantErr)
			}
		})
	}
}

// TestWorkerByHand: worker mode started by a person says what it is for.
func TestWorkerByHand(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCSH_WORKER=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("worker mode by hand: %v, want exit status 1", err)
	}
	if !strings.Contains(string(out), "worker mode") || !strings.Contains(string(out), "procsh script.lua") {
		t.Errorf("worker mode by hand printed %q, want a sentence saying what it is", out)
	}
}

// TestPrintNeverTears: 4 processes print 1,000 lines of 1 KB each, and
// 64 KiB lines, to one pipe; every line arrives whole.
func TestPrintNeverTears(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local function talk(c, n, size)
  local line = string.rep(c, size)
  for i = 1, n do print(line) end
end
local ps = {}
for i, c in ipairs({"a", "b", "c", "d"}) do
  ps[#ps + 1] = mp.Process{target = talk, args = {c, 1000, 1024}}
  ps[#ps + 1] = mp.Process{target = talk, args = {c:upper(), 20, 65536}}
end
for _, p in ipairs(ps) do p:start() end
for _, p in ipairs(ps) do p:join() end
`
	r := procsh(t, 60*time.Second, "", "-e", script)
	if r.code != 0 {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		c := line[:1]
		if line != strings.Repeat(c, len(line)) || (len(line) != 1024 && len(line) != 65536) {
			t.Fatalf("torn line of %d bytes starting %q", len(line), line[:min(len(line), 40)])
		}
		counts[fmt.Sprintf("%s%d", c, len(line))]++
	}
	for _, c := range []string{"a", "b", "c", "d"} {
		if counts[c+"1024"] != 1000 || counts[strings.ToUpper(c)+"65536"] != 20 {
			t.Errorf("lines of %s: %d short and %d long, want 1000 and 20", c, counts[c+"1024"], counts[strings.ToUpper(c)+"65536"])
		}
	}
}

// TestEndOfScript: at the end of the main script daemon children are
// terminated (they never print their last line) and the others joined.
func TestEndOfScript(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local time = require("time")
mp.Process{daemon = true, target = function() time.sleep(0.3) print("daemon survived") end}:start()
mp.Process{target = function() time.sleep(0.3) print("worker finished") end}:start()
print("main done")
`
	r := procsh(t, 20*time.Second, "", "-e", script)
	if r.code != 0 || !strings.Contains(r.stdout, "worker finished") || strings.Contains(r.stdout, "daemon survived") {
		t.Errorf("exit %d, stdout %q: want the worker joined and the daemon terminated", r.code, r.stdout)
	}
	if i, j := strings.Index(r.stdout, "main done"), strings.Index(r.stdout, "worker finished"); i < 0 || j < i {
		t.Errorf("stdout %q: want main done before the joined worker's line", r.stdout)
	}
}

// startProcsh starts procsh with a script and waits for a line on its
// stdout that starts with prefix; it returns the command and that line.
func startProcsh(t *testing.T, script, prefix string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-e", script)
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
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("procsh ended before printing %q; stderr: %s", prefix, stderr.String())
		}
		return cmd, line
	case <-time.After(20 * time.Second):
		t.Fatalf("procsh did not print %q in 20 s", prefix)
	}
	return nil, ""
}

// pidsOf reads the numbers of a line "prefix 12 34 56".
func pidsOf(t *testing.T, line string) []int {
	var pids []int
	for _, f := range strings.Fields(line)[1:] {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %q", f, line)
		}
		pids = append(pids, n)
	}
	return pids
}

// waitGone waits until none of pids is alive (zombies count as gone).
func waitGone(t *testing.T, pids []int, limit time.Duration) []int {
	deadline := time.Now().Add(limit)
	for {
		var alive []int
		for _, pid := range pids {
			if pidAlive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return alive
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// TestDaemonsDieWithKilledParent: a parent killed by SIGKILL leaves no
// daemon child behind; a non-daemon child goes on, as in Python.
func TestDaemonsDieWithKilledParent(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local time = require("time")
local d1 = mp.Process{daemon = true, target = function() time.sleep(60) end}
local d2 = mp.Process{daemon = true, target = function() time.sleep(60) end}
local n = mp.Process{target = function() time.sleep(1.5) end}
d1:start() d2:start() n:start()
print("pids " .. d1.pid .. " " .. d2.pid .. " " .. n.pid)
time.sleep(60)
`
	cmd, line := startProcsh(t, script, "pids ")
	pids := pidsOf(t, line)
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	// Reap the parent only: cmd.Wait would also wait for the end of its
	// stderr, which the non-daemon child holds open.
	cmd.Process.Wait()
	if alive := waitGone(t, pids[:2], 3*time.Second); len(alive) > 0 {
		t.Errorf("daemon children %v outlived their parent killed by SIGKILL", alive)
	}
	// The non-daemon (started from the idle child) goes on with its work.
	if !pidAlive(pids[2]) {
		t.Errorf("non-daemon child %d died with its parent; as in Python, it should finish its work", pids[2])
	}
	if alive := waitGone(t, pids[2:], 5*time.Second); len(alive) > 0 {
		t.Errorf("non-daemon child %v still running long after its work", alive)
	}
	// Nothing else of the tree is left either (the child kept ready for
	// the next start reads end of file and leaves).
	assertGroupGone(t, cmd.Process.Pid)
}

// TestCtrlC: SIGINT to the whole process group (as a terminal sends it)
// stops the tree with one short message and no traceback per process.
func TestCtrlC(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local time = require("time")
local ps = {}
for i = 1, 3 do
  ps[i] = mp.Process{target = function() while true do time.sleep(0.01) end end, daemon = i == 1}
  ps[i]:start()
end
print("pids " .. ps[1].pid .. " " .. ps[2].pid .. " " .. ps[3].pid)
while true do end
`
	cmd, line := startProcsh(t, script, "pids ")
	pids := pidsOf(t, line)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Errorf("after Ctrl-C: %v, want exit status 130", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("procsh still running 10 s after Ctrl-C")
	}
	if msg := cmd.Stderr.(*strings.Builder).String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "KeyboardInterrupt") || strings.Contains(msg, "traceback") {
		t.Errorf("stderr after Ctrl-C = %q, want one short line", msg)
	}
	if alive := waitGone(t, pids, 3*time.Second); len(alive) > 0 {
		t.Errorf("children %v still running after Ctrl-C", alive)
	}
}

// TestChildErrorReport: an uncaught error in a child is reported on
// stderr headed by the process's name and pid, with a traceback, and the
// child exits 1.
func TestChildErrorReport(t *testing.T) {
	r := procsh(t, 20*time.Second, "", "-e", `
local mp = require("multiprocessing")
local function inner() error("it broke") end
local p = mp.Process{target = function() inner() end, name = "faulty"}
p:start() p:join()
print("exitcode", p.exitcode, p.pid)`)
	pid := strings.Fields(r.stdout)
	if r.code != 0 || len(pid) != 3 || pid[1] != "1" {
		t.Fatalf("exit %d, stdout %q: want the child's exit code 1", r.code, r.stdout)
	}
	head := "Process faulty (pid " + pid[2] + "):\n"
	if !strings.HasPrefix(r.stderr, head) || !strings.Contains(r.stderr, "it broke") || !strings.Contains(r.stderr, "stack traceback:") {
		t.Errorf("stderr = %q, want it headed %q with the error and a traceback", r.stderr, head)
	}
}

// TestTerminateNotMidWrite: SIGTERM waits for a print in progress, so a
// child terminated while printing 64 KiB lines never leaves half a line.
func TestTerminateNotMidWrite(t *testing.T) {
	r := procsh(t, 60*time.Second, "", "-e", `
local mp = require("multiprocessing")
local time = require("time")
local line = string.rep("x", 65536)
for i = 1, 8 do
  local p = mp.Process{target = function() while true do print(line) end end}
  p:start()
  time.sleep(0.02 * (i % 3 + 1))
  p:terminate()
  p:join()
  io.stderr:write(p.exitcode, "\n")
end`)
	if r.code != 0 {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	for _, code := range strings.Fields(r.stderr) {
		if code != "-15" {
			t.Errorf("exit code %s, want -15 (stderr %q)", code, r.stderr)
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if len(line) != 65536 {
			t.Fatalf("line %d is %d bytes long, want 65536: a write was cut", i, len(line))
		}
	}
}

// TestTableErrorReports: an uncaught error that is a table reads as the
// REPL shows the table, in a child's report (headed by its name) and in
// the main script's, not "(error object is a table value)".
func TestTableErrorReports(t *testing.T) {
	r := procsh(t, 20*time.Second, "", "-e", `
local mp = require("multiprocessing")
local p = mp.Process{target = function() error({code = 7, why = "bad"}) end, name = "faulty"}
p:start() p:join()
print(p.exitcode)
error({code = 1})`)
	if r.code != 1 || r.stdout != "1\n" {
		t.Errorf("exit status %d, stdout %q: want 1 and the child's exit code 1", r.code, r.stdout)
	}
	child := regexp.MustCompile(`(?m)^Process faulty \(pid \d+\):\n\{ code = 7, why = "bad" \}\nstack traceback:`)
	if !child.MatchString(r.stderr) {
		t.Errorf("stderr = %q, want the child's report matching %q", r.stderr, child)
	}
	if !strings.Contains(r.stderr, "\nprocsh: { code = 1 }\nstack traceback:") {
		t.Errorf("stderr = %q, want the main script's error as procsh: { code = 1 }", r.stderr)
	}
}

// TestPoolWorkerChunkName: a pool task's traceback names the pool's own
// chunk as Lua names a "=name" chunk, without the "=".
func TestPoolWorkerChunkName(t *testing.T) {
	r := procsh(t, 20*time.Second, "", "-e", `
local mp = require("multiprocessing")
local pool = mp.Pool(1)
local ok, e = pcall(pool.apply, pool, function() error("task failed") end)
print(e.traceback)
pool:close() pool:join()`)
	if r.code != 0 || !strings.Contains(r.stdout, "\t(pool worker):") || strings.Contains(r.stdout, "=(") {
		t.Errorf("exit status %d, stdout %q: want a traceback through (pool worker), with no \"=(\"", r.code, r.stdout)
	}
}
