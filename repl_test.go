// The REPL (package repl) as a user meets it: the procsh binary with no
// script, on a pseudo-terminal. These tests live here, not in repl/,
// because they run the test binary as procsh (TestMain); repl/ tests the
// parts that need no terminal.

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// term is a procsh REPL on a pseudo-terminal, with everything it wrote.
type term struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer  // raw transcript
	seen int           // how much of the cleaned transcript expect consumed
	more chan struct{} // a signal per read
	eof  chan struct{} // closed when the terminal reads end
	exit chan struct{} // closed when procsh has ended
	err  error         // what Wait returned
	home string
}

// startREPL runs the test binary as procsh on a new terminal (its own
// session and process group) with HOME and XDG_STATE_HOME in a temporary
// directory, unless env sets them.
func startREPL(t *testing.T, env ...string) *term {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCSH_TEST_MAIN=1", "TERM=xterm", "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"))
	cmd.Env = append(cmd.Env, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("start procsh on a terminal: %v", err)
	}
	tm := &term{t: t, cmd: cmd, pty: f, more: make(chan struct{}, 1), eof: make(chan struct{}), exit: make(chan struct{}), home: home}
	go func() {
		defer close(tm.eof)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			if n > 0 {
				tm.mu.Lock()
				tm.out.Write(b[:n])
				tm.mu.Unlock()
				select {
				case tm.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		tm.err = cmd.Wait()
		close(tm.exit)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-tm.exit:
		case <-time.After(5 * time.Second):
			t.Errorf("procsh did not end after SIGKILL")
		}
		f.Close()
	})
	tm.expect("Type help()", 10*time.Second)
	tm.prompt()
	return tm
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\r`)

// text is the transcript without terminal escapes and carriage returns.
func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return escapes.ReplaceAllString(tm.out.String(), "")
}

// expect waits until want appears in the transcript after what earlier
// expects consumed, and consumes up to its end. It fails the test with
// the transcript if want does not appear within limit.
func (tm *term) expect(want string, limit time.Duration) string {
	tm.t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		s := tm.text()
		if i := strings.Index(s[tm.seen:], want); i >= 0 {
			got := s[tm.seen : tm.seen+i]
			tm.seen += i + len(want)
			return got
		}
		select {
		case <-tm.more:
		case <-tm.eof:
			// Nothing more will come: one last look, then fail.
			if strings.Contains(tm.text()[tm.seen:], want) {
				continue
			}
			tm.t.Fatalf("terminal closed before %q appeared\ntranscript:\n%s", want, tm.text())
		case <-deadline.C:
			tm.t.Fatalf("%q did not appear within %v\ntranscript:\n%s", want, limit, tm.text())
		}
	}
}

// interruptPrompt presses Ctrl-C at a prompt and waits for a fresh one.
// A Ctrl-C that lands in the instant between two lines, while the
// terminal is back in its normal mode, is a SIGINT with nothing to stop,
// and is lost as it would be for a person; it is pressed again then.
func (tm *term) interruptPrompt() {
	tm.t.Helper()
	for i := 0; i < 5; i++ {
		tm.send("\x03")
		if strings.Contains(tm.waitFor("\n> ", 2*time.Second), "\n> ") {
			return
		}
	}
	tm.prompt()
}

// waitFor waits up to limit for want after what was seen, and returns
// what is there (consuming up to want when it appeared).
func (tm *term) waitFor(want string, limit time.Duration) string {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		s := tm.text()[tm.seen:]
		if i := strings.Index(s, want); i >= 0 {
			tm.seen += i + len(want)
			return s[:i+len(want)]
		}
		select {
		case <-tm.more:
		case <-tm.eof:
			return s
		case <-deadline.C:
			return s
		}
	}
}

// prompt waits for a fresh prompt.
func (tm *term) prompt() { tm.t.Helper(); tm.expect("\n> ", 10*time.Second) }

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.pty.Write([]byte(s)); err != nil {
		tm.t.Fatalf("write to the terminal: %v", err)
	}
}

// line types a line and waits for want (which must not be in the line
// itself) and then the next prompt.
func (tm *term) line(line, want string) {
	tm.t.Helper()
	tm.send(line + "\n")
	if want = strings.TrimSuffix(want, "\n"); want != "" {
		tm.expect(want, 10*time.Second)
	}
	tm.prompt()
}

// wait waits for procsh to end and gives its exit status; no process of
// its group may be left.
func (tm *term) wait(limit time.Duration) int {
	tm.t.Helper()
	select {
	case <-tm.exit:
	case <-time.After(limit):
		tm.t.Fatalf("procsh still running after %v\ntranscript:\n%s", limit, tm.text())
	}
	assertGroupGone(tm.t, tm.cmd.Process.Pid)
	return tm.cmd.ProcessState.ExitCode()
}

// quit presses Ctrl-D and expects procsh to end with status 0.
func (tm *term) quit() {
	if os.Getenv("REPL_TRANSCRIPT") != "" {
		defer func() { tm.t.Log("transcript:\n" + tm.text()) }()
	}
	tm.t.Helper()
	tm.send("\x04")
	if code := tm.wait(10 * time.Second); code != 0 {
		tm.t.Fatalf("exit status %d after Ctrl-D, want 0\ntranscript:\n%s", code, tm.text())
	}
}

func TestREPLMultiLine(t *testing.T) {
	tm := startREPL(t)
	tm.send("function sq(x)\n")
	tm.expect(">> ", 10*time.Second)
	tm.send("  return x * x\n")
	tm.expect(">> ", 10*time.Second)
	tm.line("end", "")
	tm.line("sq(12)", "144\n")
	// A table constructor over two lines is an expression: it is shown.
	tm.send("{10,\n")
	tm.expect(">> ", 10*time.Second)
	tm.line("20}", "{ 10, 20 }\n")
	// A real syntax error is reported at once, not continued.
	tm.line("x = = 1", "stdin:1: syntax error near '='")
	// Ctrl-C in the middle of a chunk drops it.
	tm.send("if true then\n")
	tm.expect(">> ", 10*time.Second)
	tm.interruptPrompt()
	tm.line(`"after".."wards"`, `"afterwards"`)
	tm.quit()
	hist, err := os.ReadFile(filepath.Join(tm.home, "state", "procsh", "history"))
	if err != nil || !strings.Contains(string(hist), "function sq(x)\n  return x * x\nend\n") {
		t.Errorf("history file = %q, %v; want the lines typed", hist, err)
	}
}

func TestREPLShowsValues(t *testing.T) {
	tm := startREPL(t)
	tm.line(`t = {1, 2, name = "x", sub = {a = true}}`, "")
	tm.line("t", `{ 1, 2, name = "x", sub = { a = true } }`+"\n")
	tm.line("_.name", `"x"`)
	tm.line("t.self = t", "")
	tm.line("t", `self = <cycle>`)
	tm.line(`1, "a", nil`, "1\t\"a\"\tnil\n")
	tm.line("string.format", "<function string.format>")
	tm.line(`error("bo".."om")`, "stdin:1: boom")
	tm.line(`p = mp.Process{target = function() time.sleep(30) end, name = "sleeper"}`, "")
	tm.line("p", "<Process name='sleeper' parent=")
	tm.line("p:start()", "")
	tm.line("mp.active_children()", "{ <Process name='sleeper' pid=")
	tm.line("ps()", "sleeper")
	tm.line("child('sleeper'):terminate()", "")
	tm.line("p:join() return p.exitcode", "-15\n")
	tm.line("ps()", "no child processes are running")
	tm.line("help()", "Tab completes")
	tm.quit()
}

func TestREPLCompletion(t *testing.T) {
	tm := startREPL(t)
	tm.line("string.for\t('%d-%d', 4, 2)", `"4-2"`)
	tm.line(`s = "abc"`, "")
	tm.line("s:upp\t()", `"ABC"`)
	tm.line("p = mp.Process{target = print}", "")
	tm.line("p:is_al\t()", "false\n")
	// Fields computed on access complete too, as help lists them.
	tm.line("b = mp.Barrier(3)", "")
	tm.line("b.par\t", "3\n")
	tm.line("nu = 41", "")
	tm.line("n\tu + 1", "42\n")
	// Two tabs list the candidates.
	tm.send("string.g\t\t")
	tm.expect("gmatch", 10*time.Second)
	tm.expect("gsub", 10*time.Second)
	tm.send("\x03")
	tm.prompt()
	tm.quit()
}

func TestREPLInterrupt(t *testing.T) {
	tm := startREPL(t)
	// The child says when it runs: a Ctrl-C must find it started.
	tm.line(`p = mp.Process{target = function() print("re".."ady") time.sleep(30) end}`, "")
	tm.send("p:start()\n")
	tm.expect("ready", 10*time.Second)
	tm.send(`print("spin".."ning") while true do end` + "\n")
	tm.expect("spinning", 10*time.Second)
	tm.send("\x03")
	tm.expect("KeyboardInterrupt", 10*time.Second)
	tm.prompt()
	tm.line("p:is_alive()", "true\n")
	tm.send(`print("join".."ing") p:join()` + "\n")
	tm.expect("joining", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	tm.send("\x03")
	tm.expect("KeyboardInterrupt", 10*time.Second)
	tm.prompt()
	tm.line(`"still ".."here"`, `"still here"`)
	tm.line("p:terminate() p:join() return p.exitcode", "-15\n")
	tm.quit()
}

func TestREPLPromptFunctionInChild(t *testing.T) {
	tm := startREPL(t)
	tm.line(`function greet(n) print("hello from " .. mp.current_process().name .. " " .. n) end`, "")
	tm.line("p = mp.Process{target = greet, args = {7}}", "")
	tm.line("p:start() p:join() return p.exitcode", "hello from Process-1 7")
	tm.quit()
}

func TestREPLPoolMapsPromptFunction(t *testing.T) {
	tm := startREPL(t)
	tm.send("mp.Pool == nil\n")
	if tm.expect("\n> ", 10*time.Second); strings.Contains(tm.text(), "true\n> ") {
		tm.quit()
		t.Skip("mp.Pool is not there yet")
	}
	tm.line("function cube(x) return x * x * x end", "")
	tm.line("pool = mp.Pool(2)", "")
	tm.line("pool:map(cube, {1, 2, 3})", "{ 1, 8, 27 }")
	tm.line("pool:terminate()", "")
	tm.quit()
}

// A child printing while the prompt is shown: the next key brings the
// prompt and the line typed so far back below the child's output.
func TestREPLChildOutputAtPrompt(t *testing.T) {
	tm := startREPL(t)
	flag := filepath.Join(tm.home, "go")
	tm.line(`p = mp.Process{target = function(f) while not io.open(f) do time.sleep(0.01) end print("from the ".."child") end, args = {"`+flag+`"}}`, "")
	tm.line("p:start()", "")
	tm.send("1 +")
	tm.expect("> 1 +", 10*time.Second)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tm.expect("from the child\n", 10*time.Second)
	tm.send(" 1")
	if skipped := tm.expect("> 1 + ", 10*time.Second); skipped != "" {
		t.Errorf("after the child's line came %q, then the prompt; want the prompt at once\ntranscript:\n%s", skipped, tm.text())
	}
	tm.line("", "2\n")
	tm.quit()
}

func TestREPLExitWaitsForChildren(t *testing.T) {
	tm := startREPL(t)
	tm.line(`p = mp.Process{target = function() time.sleep(1) print("child ".."done") end}`, "")
	tm.line("p:start()", "")
	tm.send("\x04")
	tm.expect("waiting for 1 child process (Process-1); Ctrl-C terminates it", 10*time.Second)
	tm.expect("child done", 10*time.Second)
	if code := tm.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d, want 0\ntranscript:\n%s", code, tm.text())
	}
}

func TestREPLExitInterrupted(t *testing.T) {
	tm := startREPL(t)
	tm.line(`p = mp.Process{target = function() print("p ".."ready") time.sleep(30) end}`, "")
	tm.send("p:start()\n")
	tm.expect("p ready", 10*time.Second)
	tm.line(`d = mp.Process{target = function() print("d ".."ready") time.sleep(30) end, daemon = true}`, "")
	tm.send("d:start()\n")
	tm.expect("d ready", 10*time.Second)
	// Press Ctrl-D at a fresh prompt: pressed while a line still runs
	// (the terminal then in its normal mode), it is an end of file the
	// line discipline swallows.
	tm.line(`print("at the ".."prompt")`, "at the prompt")
	tm.send("\x04")
	tm.expect("waiting for 1 child process (Process-1); Ctrl-C terminates it", 10*time.Second)
	tm.send("\x03")
	tm.expect("KeyboardInterrupt", 10*time.Second)
	if code := tm.wait(10 * time.Second); code != 130 {
		t.Fatalf("exit status %d, want 130\ntranscript:\n%s", code, tm.text())
	}
}

func TestREPLHistoryUnwritable(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	// XDG_STATE_HOME is a file and HOME is in /proc: nowhere to write.
	tm := startREPL(t, "XDG_STATE_HOME="+blocker, "HOME=/proc/self")
	if !strings.Contains(tm.text(), "history will not be saved") {
		t.Errorf("no warning about the history\ntranscript:\n%s", tm.text())
	}
	tm.line(`"a".."b"`, `"ab"`)
	tm.quit()
}

// A module required into a global reaches children like any global.
func TestModuleGlobalReachesChild(t *testing.T) {
	r := procsh(t, 20*time.Second, `time = require("time")
mp = require("multiprocessing")
local p = mp.Process{target = function() print(type(time.sleep)) end}
p:start() p:join()
`)
	if r.code != 0 || r.stdout != "function\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0, \"function\\n\"", r.code, r.stdout, r.stderr)
	}
}

func TestStdinNotTerminalIsScript(t *testing.T) {
	r := procsh(t, 20*time.Second, "x = 20\nprint(x + 1)\n")
	if r.code != 0 || r.stdout != "21\n" || strings.Contains(r.stderr, "> ") {
		t.Fatalf("procsh < script: exit %d, stdout %q, stderr %q; want 0, \"21\\n\", no prompt", r.code, r.stdout, r.stderr)
	}
}

// What a newcomer met at the prompt: imap shows what it gives and how to
// use it, every value of a line is kept, child() takes a pid.
func TestREPLImapResultsAndChild(t *testing.T) {
	tm := startREPL(t)
	tm.line("pool = mp.Pool(1)", "")
	tm.line("pool:imap(function(x) return x * 2 end, {1, 2, 3})", "<imap iterator over 3 items: use in a for loop: for i, v in it do ... end>\n")
	tm.line("for i, v in pool:imap(function(x) return x * 2 end, {1, 2, 3}) do io.write(i, '=', v, ' ') end print()", "1=2 2=4 3=6 \n")
	tm.line("pool:terminate()", "")
	// _ is the first value, _2, _3… the others; a shorter line clears
	// the extra ones.
	tm.line(`10, "b", nil, 40`, "10\t\"b\"\tnil\t40\n")
	tm.line("_, _2, _3, _4", "10\t\"b\"\tnil\t40\n")
	tm.line("7", "7\n")
	tm.line("_, _2, _4", "7\tnil\tnil\n")
	// child() by name or by pid, and says which it looked for.
	tm.line(`p = mp.Process{target = function() time.sleep(30) end, name = "sleeper"}`, "")
	tm.line("p:start()", "")
	tm.line("child(p.pid) == p, child('sleeper') == p", "true\ttrue\n")
	tm.line("child(99999999)", "LookupError: child: no running child process with pid 99999999\n")
	tm.line("child('nobody')", "LookupError: child: no running child process named 'nobody'\n")
	tm.line("child({})", "TypeError: child: got a table, want a name or a pid\n")
	tm.line("p:terminate() p:join() return p.exitcode", "-15\n")
	tm.quit()
}

// help(x) shows x's methods and fields, one line each, from the table
// the reference is checked against.
func TestREPLHelpOfObjects(t *testing.T) {
	tm := startREPL(t)
	tm.lines("help(mp.Pool)", "Pool: worker processes", "pool:imap(f, list [, chunksize])", "more in docs/reference-pool.md")
	tm.line("q = mp.Queue()", "")
	tm.lines("help(q)", "Queue: a FIFO queue", "q:get([block [, timeout]])", "q:qsize()")
	tm.line("help(q.get)", "q:get([block [, timeout]])\n  remove and return the oldest item")
	tm.lines("help(mp.JoinableQueue())", "a kind of Queue", "q:get(", "q:task_done()")
	tm.lines("help(mp.current_process())", "p:start()", "fields:", "p.exitcode", "p.pid")
	tm.line(`help("Process.pid")`, "Process.pid (a field)\n  the process id")
	tm.line(`help("Queue.put")`, "q:put(v [, block [, timeout]])")
	tm.lines("help(mp)", "mp.Process{", "mp.cpu_count()", "mp.with(obj, fn)")
	tm.lines("help(time)", "time.sleep(seconds)", "time.strftime(")
	tm.line("help(mp.cpu_count)", "mp.cpu_count()\n  the number of CPUs")
	tm.line("help(42)", "no help for a number")
	tm.line("help()", "Tab completes")
	tm.quit()
}

// lines types a line and waits for each of wants in turn, then the next
// prompt.
func (tm *term) lines(line string, wants ...string) {
	tm.t.Helper()
	tm.send(line + "\n")
	for _, want := range wants {
		tm.expect(want, 10*time.Second)
	}
	tm.prompt()
}
