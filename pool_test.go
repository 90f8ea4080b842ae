// Pool tests that need the process tree from outside: a parent killed by
// SIGKILL, and a pool used from the REPL's plain (non-terminal) mode.

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPoolWorkersDieWithKilledParent: pool workers are daemons; a parent
// killed by SIGKILL, busy or idle workers alike, leaves none behind.
func TestPoolWorkersDieWithKilledParent(t *testing.T) {
	script := `
local mp = require("multiprocessing")
local time = require("time")
local pool = mp.Pool(3)
assert(pool:map(function(x) return x end, {1, 2, 3})[3] == 3)
pool:apply_async(time.sleep, {60})
local pids = {}
for _, k in ipairs(mp.active_children()) do pids[#pids + 1] = k.pid end
print("pids " .. table.concat(pids, " "))
time.sleep(60)
`
	cmd, line := startProcsh(t, script, "pids ")
	pids := pidsOf(t, line)
	if len(pids) != 3 {
		t.Fatalf("got %d worker pids (%q), want 3", len(pids), line)
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if alive := waitGone(t, pids, 2*time.Second); len(alive) > 0 {
		t.Errorf("pool workers %v outlived their parent killed by SIGKILL", alive)
	}
}

// TestPoolFromREPLInput: functions typed at the prompt (here the REPL
// reading a pipe) go to pool workers like any other.
func TestPoolFromREPLInput(t *testing.T) {
	input := strings.Join([]string{
		`mp = require("multiprocessing")`,
		`function sq(x) return x * x end`,
		`pool = mp.Pool(2)`,
		`print("map " .. table.concat(pool:map(sq, {1, 2, 3}), ","))`,
		`offset = 100`,
		`print("apply " .. pool:apply(function(a) return a + 1 end, {41}))`,
		`for i, v in pool:imap(sq, {4, 5}) do print("imap", i, v) end`,
		``,
	}, "\n")
	r := procsh(t, 30*time.Second, input, "-i")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"map 1,4,9", "apply 42", "imap\t1\t16", "imap\t2\t25"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
}
