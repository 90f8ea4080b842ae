// The lines procsh's own events write through mp.log_to_stderr's logger,
// with real children, as Python's multiprocessing writes them.

package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// pidText matches a pid in a log line, replaced by N.
var pidText = regexp.MustCompile(`pid \d+`)

// logLines runs script and returns its log lines (standard error), pids
// replaced by N, each process's in the order it wrote them: lines of
// different processes interleave as they happen to.
func logLines(t *testing.T, script string) map[string][]string {
	t.Helper()
	r := procsh(t, 30*time.Second, script, "-")
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	byProc := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		if line == "" {
			continue
		}
		proc := "?"
		if i, j := strings.Index(line, "/"), strings.Index(line, "]"); strings.HasPrefix(line, "[") && i > 0 && j > i {
			proc = line[i+1 : j]
		}
		byProc[proc] = append(byProc[proc], pidText.ReplaceAllString(line, "pid N"))
	}
	return byProc
}

// checkLog compares each process's lines with want.
func checkLog(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for proc, lines := range want {
		if strings.Join(got[proc], "\n") != strings.Join(lines, "\n") {
			t.Errorf("%s wrote:\n%s\nwant:\n%s", proc, strings.Join(got[proc], "\n"), strings.Join(lines, "\n"))
		}
	}
	for proc, lines := range got {
		if _, ok := want[proc]; !ok {
			t.Errorf("%s wrote, want nothing:\n%s", proc, strings.Join(lines, "\n"))
		}
	}
}

// Python's example: a child started and joined, logging at INFO.
func TestLogChildStartAndExit(t *testing.T) {
	got := logLines(t, `
local mp = require("multiprocessing")
mp.log_to_stderr(mp.INFO)
local p = mp.Process{target = print, args = {1}}
p:start()
p:join()
`)
	checkLog(t, got, map[string][]string{
		"Process-1": {
			"[INFO/Process-1] child process calling self.run()",
			"[INFO/Process-1] process shutting down",
			"[INFO/Process-1] process exiting with exitcode 0",
		},
		"MainProcess": {
			"[INFO/MainProcess] process shutting down",
		},
	})
}

// The end of a program: a daemon terminated, a child joined; a child's
// os.exit and uncaught error give their exit codes.
func TestLogEndOfProgram(t *testing.T) {
	got := logLines(t, `
local mp = require("multiprocessing")
local time = require("time")
mp.log_to_stderr("INFO")
local ready = mp.Event()
mp.Process{target = function() time.sleep(0.3) os.exit(3) end}:start()
mp.Process{target = function() ready:set() time.sleep(30) end, daemon = true}:start()
local failing = mp.Process{target = function() error("oops", 0) end}
failing:start()
failing:join()
assert(ready:wait(10))
`)
	if uncaught := got["?"]; len(uncaught) < 2 || uncaught[0] != "Process Process-3 (pid N):" || uncaught[1] != "oops" {
		t.Errorf("the uncaught error was reported as %q, want it headed Process Process-3 (pid N):", uncaught)
	}
	delete(got, "?")
	checkLog(t, got, map[string][]string{
		"Process-1": {
			"[INFO/Process-1] child process calling self.run()",
			"[INFO/Process-1] process shutting down",
			"[INFO/Process-1] process exiting with exitcode 3",
		},
		"Process-2": {
			"[INFO/Process-2] child process calling self.run()",
		},
		"Process-3": {
			"[INFO/Process-3] child process calling self.run()",
			"[INFO/Process-3] process shutting down",
			"[INFO/Process-3] process exiting with exitcode 1",
		},
		"MainProcess": {
			"[INFO/MainProcess] process shutting down",
			"[INFO/MainProcess] calling terminate() for daemon Process-2",
			"[INFO/MainProcess] calling join() for process Process-1",
		},
	})
}

// A pool at DEBUG: workers added, exiting and cleaned up, one of them
// after it died in a task, and its replacement.
func TestLogPoolWorkers(t *testing.T) {
	got := logLines(t, `
local mp = require("multiprocessing")
mp.log_to_stderr(mp.DEBUG)
local pool = mp.Pool(1)
assert(not pcall(pool.apply, pool, os.exit, {7}))
assert(pool:apply(math.abs, {-2}) == 2)
pool:close()
assert(pool:join(10))
`)
	checkLog(t, got, map[string][]string{
		"PoolWorker-1": {
			"[INFO/PoolWorker-1] child process calling self.run()",
			"[INFO/PoolWorker-1] process shutting down",
			"[INFO/PoolWorker-1] process exiting with exitcode 7",
		},
		"PoolWorker-2": {
			"[INFO/PoolWorker-2] child process calling self.run()",
			"[DEBUG/PoolWorker-2] worker exiting after 1 tasks",
			"[INFO/PoolWorker-2] process shutting down",
			"[INFO/PoolWorker-2] process exiting with exitcode 0",
		},
		"MainProcess": {
			"[DEBUG/MainProcess] added worker PoolWorker-1 (pid N)",
			"[DEBUG/MainProcess] cleaning up worker PoolWorker-1 (pid N), which exited with code 7",
			"[DEBUG/MainProcess] added worker PoolWorker-2 (pid N)",
			"[DEBUG/MainProcess] cleaning up worker PoolWorker-2 (pid N), which exited with code 0",
			"[INFO/MainProcess] process shutting down",
		},
	})
}

// Without log_to_stderr nothing is written but warnings and what is
// above, bare as Python writes them with no handler; procsh's own
// warning keeps its "procsh: warning:" head. With log_to_stderr it is a
// log line; below the level, it is dropped.
func TestLogLockRecovered(t *testing.T) {
	const script = `
local mp = require("multiprocessing")
local LEVEL = ...
if LEVEL then mp.log_to_stderr(LEVEL) end
local lock, held = mp.Lock(), mp.Event()
local holder = mp.Process{name = "holder", target = function()
  lock:acquire()
  held:set()
  require("time").sleep(30)
end}
holder:start()
assert(held:wait(10))
holder:kill()
holder:join(10)
assert(lock:acquire(true, 10))
mp.get_logger():warning("a warning of the script's")
mp.get_logger():info("not written")
local pool = mp.Pool(1)
pool:close()
pool:join(10)
`
	for _, tt := range []struct {
		level string
		want  map[string][]string
	}{
		{"", map[string][]string{"?": {
			"procsh: warning: a Lock was held by holder (pid N), which died; recovered",
			"a warning of the script's",
		}}},
		{"WARNING", map[string][]string{"MainProcess": {
			"[WARNING/MainProcess] a Lock was held by holder (pid N), which died; recovered",
			"[WARNING/MainProcess] a warning of the script's",
		}}},
		{"ERROR", map[string][]string{}},
	} {
		t.Run("level="+tt.level, func(t *testing.T) {
			got := logLines(t, strings.Replace(script, "local LEVEL = ...", "local LEVEL = "+luaQuote(tt.level), 1))
			checkLog(t, got, tt.want)
		})
	}
}

// luaQuote is s as a Lua string literal, nil for "".
func luaQuote(s string) string {
	if s == "" {
		return "nil"
	}
	return `"` + s + `"`
}
