// The child side of Process: rebuild the Lua world, run the target.

package luaapi

import (
	"fmt"
	"os"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// PrepareChild makes a child's World before its start message is known,
// so that an idle child (runtime.Idle) is ready to run at once.
func PrepareChild(arena *runtime.Arena) *World {
	attachTrace(arena)
	return NewWorld(Options{Arena: arena})
}

// RunStart runs a start message in a World made by PrepareChild and
// returns the child's exit code: 0, or 1 after an uncaught error (reported
// on stderr, headed by the process's name and pid).
func (w *World) RunStart(m StartMessage) int {
	traceStarted(m)
	code := w.runStart(m)
	TraceEnd(code)
	return code
}

// runStart is RunStart's work, between the trace's start and end.
func (w *World) runStart(m StartMessage) int {
	self := m.Self
	self.Pid = os.Getpid()
	parent := m.Parent
	w.Self, w.Parent = self, &parent
	// Its limits first: no Lua code of its own runs before them.
	payload, err := w.takeLimits(m.Payload)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d) %v\n", self.Name, self.Pid, err)
		return 1
	}
	var d *Decoder
	payload, err = w.takeLogState(payload)
	if err == nil {
		d, err = w.NewDecoder(payload)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d) could not read its start message: %v\n", self.Name, self.Pid, err)
		return 1
	}
	if run, ok := childKinds[m.Kind]; ok {
		w.logf(logInfo, "child process calling self.run()")
		code := run(w, d)
		w.logShuttingDown()
		w.logf(logInfo, "process exiting with exitcode %d", code)
		return code
	}
	if m.Kind != startProcess {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d): unknown kind of child %q\n", self.Name, self.Pid, m.Kind)
		return 1
	}
	pl, err := decodeProcessPayload(d)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d) could not read its start message: %v\n", self.Name, self.Pid, err)
		return 1
	}
	w.applyLuaLimits() // once its globals are in place (limits_child.go)
	target, isRun := pl.target, pl.isRun
	me := w.selfProcess()
	if t, ok := pl.attrs.(*lua.LTable); ok {
		me.fields = t
	}
	var args []lua.LValue
	if pl.args != nil {
		args = argList(w.L, pl.args, "args")
	}
	me.target, me.args = target, args
	code := 0
	w.logf(logInfo, "child process calling self.run()")
	if target != lua.LNil {
		if err := w.Call(target, 0, runArgs(me, isRun, args)...); err != nil {
			w.ReportUncaught(err)
			code = 1
		}
	}
	w.Shutdown()
	w.logf(logInfo, "process exiting with exitcode %d", code)
	return code
}

// runArgs are the target's arguments: the process object for the run
// form, the given arguments otherwise.
func runArgs(me *process, isRun bool, args []lua.LValue) []lua.LValue {
	if isRun {
		return []lua.LValue{me.userdata()}
	}
	return args
}

// ReportUncaught writes an uncaught error of this process to stderr,
// headed by its name and pid as Python heads a child's traceback.
func (w *World) ReportUncaught(err error) {
	msg := fmt.Sprintf("Process %s (pid %d):\n%v\n", w.Self.Name, w.Self.Pid, err)
	w.WriteOut(os.Stderr, []byte(msg))
}
