// Running Lua code at the top of a process: tracebacks, exit, cleanup.

package luaapi

import (
	"fmt"
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// LuaError is an error raised by Lua code and not caught: its value, the
// value's text, and the Lua traceback where it was raised.
type LuaError struct {
	Value     lua.LValue
	Text      string
	Traceback string
}

func (e *LuaError) Error() string {
	if e.Traceback == "" {
		return e.Text
	}
	return e.Text + "\n" + e.Traceback
}

// Call calls fn with args under a handler that records the traceback. An
// error is a *LuaError. A Go panic that escapes the protected call (a bug:
// every limit is a Lua error) is one too, an internal error, rather than
// a Go trace that ends the process.
func (w *World) Call(fn lua.LValue, nret int, args ...lua.LValue) (err error) {
	L := w.L
	defer func() {
		if r := recover(); r != nil {
			text := fmt.Sprintf("internal error: %v", r)
			err = &LuaError{Value: lua.LString(text), Text: text}
		}
	}()
	var traceback string
	handler := L.NewFunction(func(L *lua.LState) int {
		traceback = w.traceback()
		L.Push(L.Get(1))
		return 1
	})
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err = L.PCall(len(args), nret, handler)
	if err == nil {
		return nil
	}
	var v lua.LValue = lua.LString(err.Error())
	if ae, ok := err.(*lua.ApiError); ok {
		v = ae.Object
		if traceback == "" {
			traceback = ae.StackTrace
		}
	}
	return &LuaError{Value: v, Text: ErrorText(L, v), Traceback: traceback}
}

// traceback is the Lua stack, as debug.traceback shows it.
func (w *World) traceback() string {
	L := w.L
	tb := L.GetField(L.GetGlobal("debug"), "traceback")
	if tb == lua.LNil {
		return ""
	}
	if err := L.CallByParam(lua.P{Fn: tb, NRet: 1, Protect: true}, lua.LString(""), lua.LNumber(2)); err != nil {
		return ""
	}
	s := L.Get(-1).String()
	L.Pop(1)
	return strings.TrimPrefix(s, "\n")
}

// Shutdown does what the end of the main program does, as Python: pools
// are terminated, daemon children terminated, then every other child
// joined. If the wait is interrupted (Ctrl-C), the rest are terminated.
func (w *World) Shutdown() {
	w.logShuttingDown()
	for _, p := range w.activeChildren() {
		if p.daemon && p.poolName == "" {
			w.logf(logInfo, "calling terminate() for daemon %s", p.name)
			p.child.Terminate()
		}
	}
	w.discardIdle()
	for i := len(w.pools) - 1; i >= 0; i-- {
		w.pools[i].shutdown()
	}
	w.pools = nil
	for _, p := range w.activeChildren() {
		if p.daemon {
			p.child.Stop(time.Second)
		}
	}
	for _, p := range w.activeChildren() {
		w.logJoin(p)
		traceStart := traceJoinStart(p)
		select {
		case <-p.child.Done():
		case <-w.ctx.Done():
			w.TerminateChildren()
			return
		}
		traceJoined(p, traceStart, true)
	}
	w.children = nil
	w.flushFeeders()
	w.unlinkLeakedBlocks()
}

// TerminateChildren ends every child now: SIGTERM, then SIGKILL for any
// still running after a moment. It ends a program (Ctrl-C), so the root
// also unlinks the shared memory blocks the tree left linked.
func (w *World) TerminateChildren() {
	w.discardIdle()
	kids := w.activeChildren()
	for _, p := range kids {
		p.child.Terminate()
	}
	for _, p := range kids {
		p.child.Stop(500 * time.Millisecond)
	}
	w.children = nil
	w.unlinkLeakedBlocks()
}

// Exit ends the process with code after the cleanup of Shutdown.
func (w *World) Exit(code int) {
	w.Shutdown()
	if w.Parent != nil {
		w.logf(logInfo, "process exiting with exitcode %d", code)
	}
	exitTrace(code)
	os.Exit(code)
}

// osExit is os.exit([code]): true or nothing is 0, false is 1.
func osExit(L *lua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case lua.LBool:
		if !v {
			code = 1
		}
	case lua.LNumber:
		code = int(v)
	case *lua.LNilType:
	default:
		L.ArgError(1, fmt.Sprintf("got a %s, want a number or a boolean", v.Type().String()))
	}
	worldOf(L).Exit(code)
	return 0
}

// RunChunk compiles source (registered in the chunk registry, so its
// functions can be sent) and calls it with args.
func (w *World) RunChunk(source, name string, args ...lua.LValue) error {
	fn, err := w.L.Load(strings.NewReader(source), name)
	if err != nil {
		return &LuaError{Value: lua.LString(err.Error()), Text: err.Error()}
	}
	return w.Call(fn, 0, args...)
}

// RunString runs a chunk of source given on the command line.
func (w *World) RunString(source, name string) error {
	return w.RunChunk(source, name)
}

// Require runs require(name) and sets the global name to its value, as
// lua -l does.
func (w *World) Require(name string) error {
	L := w.L
	if err := w.Call(L.GetGlobal("require"), 1, lua.LString(name)); err != nil {
		return err
	}
	L.SetGlobal(name, L.Get(-1))
	L.Pop(1)
	return nil
}
