// The command line's tracing: --trace, --trace-summary, PROCSH_TRACE and
// procsh trace FILE.

package main

import (
	"fmt"
	"os"
	"sync"

	"procsh/luaapi"
	"procsh/runtime"
	"procsh/trace"
)

// traceRun is the root's side of a traced run: it enables tracing before
// any child starts and, once, at the end, collects every process's
// records and writes the file and the summary. A nil *traceRun is a run
// that is not traced.
type traceRun struct {
	arena   *runtime.Arena
	path    string // "" for none
	summary bool
	once    sync.Once
}

// startTrace enables tracing for the tree of arena when the command line
// or PROCSH_TRACE asks for it, and returns nil otherwise.
func startTrace(arena *runtime.Arena, c *cmdline) *traceRun {
	// A procsh started by the script (os.execute) must not write over
	// this run's file.
	os.Unsetenv("PROCSH_TRACE")
	if c.trace == "" && !c.summary {
		return nil
	}
	rec, err := trace.Enable(arena)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %v; the run goes on without a trace\n", err)
		return nil
	}
	rec.Started("MainProcess", 0)
	tr := &traceRun{arena: arena, path: c.trace, summary: c.summary}
	luaapi.BeforeExit = func(code int) { tr.finish(code) }
	return tr
}

// finish records the root's end with code, then writes the trace file
// and the summary. It runs once, whichever way the run ends, and gives
// code back.
func (tr *traceRun) finish(code int) int {
	if tr == nil {
		return code
	}
	tr.once.Do(func() {
		luaapi.TraceEnd(code)
		f, err := trace.Collect(tr.arena)
		if err != nil {
			fmt.Fprintf(os.Stderr, "procsh: %v\n", err)
		}
		if tr.path != "" {
			if err := f.WriteFile(tr.path); err != nil {
				fmt.Fprintf(os.Stderr, "procsh: %v\n", err)
			}
		}
		if tr.summary {
			fmt.Fprintln(os.Stderr)
			trace.Summary(os.Stderr, f)
		}
	})
	return code
}

// isTraceCommand says whether the command line is procsh trace FILE. A
// script file named trace in the current directory still runs as a
// script, as it did before the command existed.
func isTraceCommand(argv []string) bool {
	if len(argv) == 0 || argv[0] != "trace" {
		return false
	}
	fi, err := os.Stat("trace")
	return err != nil || fi.IsDir()
}

// traceCommand is procsh trace FILE: the summary of a trace written
// before, on standard output.
func traceCommand(argv []string) int {
	if len(argv) != 1 {
		fmt.Fprintf(os.Stderr, "procsh trace: got %d arguments, want the trace file (procsh trace out.json)\n", len(argv))
		return 1
	}
	f, err := trace.ReadFile(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh trace: %v\n", err)
		return 1
	}
	trace.Summary(os.Stdout, f)
	if err := trace.Check(f); err != nil {
		fmt.Fprintf(os.Stderr, "procsh trace: warning: %v\n", err)
	}
	return 0
}
