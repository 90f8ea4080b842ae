// Command procsh runs Lua scripts with Python's multiprocessing as a Lua
// module, backed by real child processes and real shared memory.
//
//	procsh [options] [script [args...]]
//	procsh trace FILE
//	procsh worker URL [--procs N] [--token TOKEN]   (built with -tags cluster)
//
// It follows the standalone lua interpreter: -e chunk, -l module, -i,
// -v, -h, and - for a script read from standard input. With no script
// on a terminal it starts the REPL (package procsh/repl).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"procsh/luaapi"
	"procsh/repl"
	"procsh/runtime"
	"procsh/worker"

	lua "github.com/yuin/gopher-lua"
)

const version = "procsh 0.1 (Lua 5.1 on gopher-lua 1.1.2)"

const usage = `usage: procsh [options] [script [args...]]
       procsh trace FILE   print the summary of a trace --trace wrote
       procsh worker URL   serve cluster pools' tasks (procsh worker -h; needs
                           a build with go build -tags cluster)
Runs a Lua script with Python's multiprocessing as require("multiprocessing").

options:
  -e chunk         run the string chunk
  -l name          require library name (and set the global of that name)
  -i               enter the interactive REPL after running the script
  -v, --version    show the version
  -h, --help       show this help
  --arena-size N   shared memory for the process tree (e.g. 256M, 4G; also
                   the PROCSH_ARENA_SIZE environment variable)
  --trace FILE     write a timeline of every process, wait and message to
                   FILE at exit, as JSON for ui.perfetto.dev or
                   chrome://tracing (also the PROCSH_TRACE environment
                   variable, which traces the REPL and -e too)
  --trace-summary  print a summary of that timeline at exit: a chart of
                   the processes and the time each worked and waited
  --safe           run the script in the Lua sandbox, for scripts you did
                   not write: no os.execute or io.popen, code loaded only
                   from the script's folder, os.exit in the main process
                   only; its children inherit it
  --               stop handling options
  -                run standard input as the script (stops handling options)

With no script, procsh starts the REPL when standard input is a terminal,
and runs standard input as a script otherwise.
Exit status: 0, 1 after an uncaught error, or the value given to os.exit.
`

func main() { os.Exit(run()) }

// action is one -e or -l, in command-line order.
type action struct {
	flag  string // "e" or "l"
	value string
}

type cmdline struct {
	actions   []action
	repl      bool
	script    string // "" for none, "-" for standard input
	args      []string
	arenaSize int64
	trace     string // --trace FILE, or PROCSH_TRACE
	summary   bool   // --trace-summary
	safe      bool   // --safe
}

// parseArgs reads the command line as the standalone lua does: options up
// to the script name, everything after it for the script.
func parseArgs(argv []string) (*cmdline, int, error) {
	c := &cmdline{}
	if s := os.Getenv("PROCSH_ARENA_SIZE"); s != "" {
		n, err := runtime.ParseSize(s)
		if err != nil {
			return nil, 1, fmt.Errorf("PROCSH_ARENA_SIZE: %v", err)
		}
		c.arenaSize = n
	}
	c.trace = os.Getenv("PROCSH_TRACE")
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		needValue := func() (string, error) {
			if i+1 >= len(argv) {
				return "", fmt.Errorf("'%s' needs an argument", a)
			}
			i++
			return argv[i], nil
		}
		switch {
		case a == "-h" || a == "--help":
			fmt.Print(usage)
			return nil, 0, nil
		case a == "-v" || a == "--version":
			fmt.Println(version)
			return nil, 0, nil
		case a == "-i":
			c.repl = true
		case a == "-e" || a == "-l":
			v, err := needValue()
			if err != nil {
				return nil, 1, err
			}
			c.actions = append(c.actions, action{a[1:], v})
		case strings.HasPrefix(a, "-e") || strings.HasPrefix(a, "-l"):
			c.actions = append(c.actions, action{a[1:2], a[2:]})
		case a == "--arena-size" || strings.HasPrefix(a, "--arena-size="):
			v := strings.TrimPrefix(a, "--arena-size=")
			if a == "--arena-size" {
				var err error
				if v, err = needValue(); err != nil {
					return nil, 1, err
				}
			}
			n, err := runtime.ParseSize(v)
			if err != nil {
				return nil, 1, fmt.Errorf("--arena-size: %v", err)
			}
			c.arenaSize = n
		case a == "--trace" || strings.HasPrefix(a, "--trace="):
			v := strings.TrimPrefix(a, "--trace=")
			if a == "--trace" {
				var err error
				if v, err = needValue(); err != nil {
					return nil, 1, err
				}
			}
			if v == "" {
				return nil, 1, fmt.Errorf("--trace: got an empty file name, want the file to write the trace to")
			}
			c.trace = v
		case a == "--trace-summary":
			c.summary = true
		case a == "--safe":
			c.safe = true
		case a == "--":
			if i+1 < len(argv) {
				c.script, c.args = argv[i+1], argv[i+2:]
			}
			return c, 0, nil
		case a == "-":
			c.script, c.args = "-", argv[i+1:]
			return c, 0, nil
		case strings.HasPrefix(a, "-"):
			return nil, 1, fmt.Errorf("unrecognized option '%s'", a)
		default:
			c.script, c.args = a, argv[i+1:]
			return c, 0, nil
		}
	}
	return c, 0, nil
}

func run() int {
	if worker.Active() {
		return worker.Main()
	}
	if isTraceCommand(os.Args[1:]) {
		return traceCommand(os.Args[2:])
	}
	if isWorkerCommand(os.Args[1:]) {
		return workerCommand(os.Args[2:]) // main_cluster.go
	}
	c, code, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %v\n%s", err, usage)
		return code
	}
	if c == nil {
		return code
	}
	if c.script == "" && len(c.actions) == 0 && !c.repl {
		if repl.IsTerminal(os.Stdin) {
			c.repl = true
		} else {
			c.script = "-"
		}
	}
	// PROCSH_CPUPROFILE=file writes a CPU profile of this (root) process,
	// for `go tool pprof`.
	if path := os.Getenv("PROCSH_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	size := c.arenaSize
	if size == 0 {
		size = runtime.DefaultArenaSize
	}
	arena, err := runtime.NewArena(size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %v\n", err)
		return 1
	}
	tr := startTrace(arena, c)
	w := luaapi.NewWorld(luaapi.Options{Self: luaapi.Identity{Name: "MainProcess"}, Arena: arena})
	defer w.Close()
	arena.RegisterProcess(os.Getpid(), "MainProcess")

	w.SetContext(context.Background())
	stopInterrupts := handleInterrupts(w, tr)
	defer stopInterrupts()

	setArg(w.L, c)
	if c.safe {
		w.SetSafe(safeDir(c))
	}
	for _, a := range c.actions {
		var err error
		switch a.flag {
		case "e":
			err = w.RunString(a.value, "(command line)")
		case "l":
			err = w.Require(a.value)
		}
		if err != nil {
			return tr.finish(reportAndExit(w, err))
		}
	}
	if c.script != "" {
		if err := runScript(w, c); err != nil {
			return tr.finish(reportAndExit(w, err))
		}
	}
	if c.repl {
		stopInterrupts()
		return tr.finish(repl.Run(w, repl.Options{Banner: version, KillGrace: killGrace}))
	}
	w.Shutdown()
	if w.Interrupted() {
		sayInterrupted()
		return tr.finish(130)
	}
	return tr.finish(0)
}

// safeDir is the folder --safe lets code be loaded from: the script's,
// or the current one for standard input and -e.
func safeDir(c *cmdline) string {
	if c.script == "" || c.script == "-" {
		return "."
	}
	return filepath.Dir(c.script)
}

// setArg sets the global arg as the standalone lua does.
func setArg(L *lua.LState, c *cmdline) {
	t := L.NewTable()
	t.RawSetInt(-1, lua.LString(os.Args[0]))
	if c.script != "" {
		t.RawSetInt(0, lua.LString(c.script))
	}
	for i, a := range c.args {
		t.RawSetInt(i+1, lua.LString(a))
	}
	L.SetGlobal("arg", t)
}

// runScript loads the script (a file or standard input) and calls it
// with the script's arguments.
func runScript(w *luaapi.World, c *cmdline) error {
	var src []byte
	var err error
	name := c.script
	if c.script == "-" {
		src, err = io.ReadAll(os.Stdin)
		name = "stdin"
	} else {
		src, err = os.ReadFile(c.script)
	}
	if err != nil {
		return scriptError(name, err)
	}
	// A first line starting with # (a shebang) is skipped, as lua does.
	if len(src) > 0 && src[0] == '#' {
		if i := strings.IndexByte(string(src), '\n'); i >= 0 {
			src = append([]byte("--"), src[i:]...)
		} else {
			src = nil
		}
	}
	if c.script != "-" {
		addScriptDir(w.L, filepath.Dir(c.script))
	}
	args := make([]lua.LValue, len(c.args))
	for i, a := range c.args {
		args[i] = lua.LString(a)
	}
	return w.RunChunk(string(src), name, args...)
}

// scriptError says why the script could not be read, as lua does:
// "cannot open nope.lua: no such file or directory", "cannot read dir:
// is a directory".
func scriptError(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot %s %s: %v", pe.Op, name, pe.Err)
	}
	return fmt.Errorf("cannot read %s: %v", name, err)
}

// addScriptDir puts the script's directory first on package.path, as
// Python puts it first on sys.path: a script finds the modules beside it
// (require("lib.x") loads dir/lib/x.lua) wherever it is run from.
func addScriptDir(L *lua.LState, dir string) {
	pkg := L.GetGlobal("package")
	path := lua.LVAsString(L.GetField(pkg, "path"))
	L.SetField(pkg, "path", lua.LString(dir+"/?.lua;"+dir+"/?/init.lua;"+path))
}

// reportAndExit reports an uncaught error (or an interruption), cleans up
// the children and gives the exit status.
func reportAndExit(w *luaapi.World, err error) int {
	var le *luaapi.LuaError
	if errors.As(err, &le) && luaapi.ErrorType(le.Value) == "KeyboardInterrupt" || w.Interrupted() {
		sayInterrupted()
		w.TerminateChildren()
		return 130
	}
	fmt.Fprintf(os.Stderr, "procsh: %v\n", err)
	w.Shutdown()
	return 1
}

// Ctrl-C stops the whole tree: children ignore SIGINT, the root
// interrupts its Lua code and then terminates its children, each of which
// terminates its own before it dies (runtime.DeferTermination). The tree
// says so once, whichever way it ends.

// killGrace is how long a second Ctrl-C gives the children to pass
// SIGTERM on to their own before it kills them.
const killGrace = 100 * time.Millisecond

var interrupted sync.Once

// sayInterrupted writes the one message of an interrupted run.
func sayInterrupted() {
	interrupted.Do(func() { fmt.Fprintln(os.Stderr, "KeyboardInterrupt") })
}

// handleInterrupts makes a Ctrl-C interrupt the Lua code (which ends the
// children unless the code catches the KeyboardInterrupt) and a second
// one before the first was reported end them at once and leave. It
// returns a function that stops handling them.
func handleInterrupts(w *luaapi.World, tr *traceRun) func() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if w.Interrupt() >= 2 {
					runtime.EndChildren(killGrace)
					sayInterrupted()
					os.Exit(tr.finish(130))
				}
			case <-done:
				return
			}
		}
	}()
	var once bool
	return func() {
		if !once {
			once = true
			signal.Stop(ch)
			close(done)
		}
	}
}
