// concurrent.futures.Future: the result of ex:submit, with Python's
// result, exception, done, running, cancel, cancelled and
// add_done_callback.

package luaapi

import (
	"fmt"
	"os"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// future is the Go side of a Future: the pool call of its submit (an
// apply of one task) and that task. Its state follows from them:
//
//	pending    queued, no worker has it: cancel succeeds
//	running    a worker was handed the task (task.Started)
//	finished   the call is done with a value or an error
//	cancelled  the call is done with the CancelledError cancel gave it
//
// Only the Lua goroutine uses it.
type future struct {
	c         *poolCall
	task      *runtime.PoolTask
	ud        *lua.LUserData
	callbacks []lua.LValue // added while pending or running, in order
	// seenRunning is set once running() said true: a future reported
	// running stays running until done, and cannot be cancelled, as
	// Python's, even if its worker dies before taking the task and the
	// task goes back to the queue (runtime/pool_requeue.go).
	seenRunning bool
}

var futureMethods = map[string]lua.LGFunction{
	"result":            futureResult,
	"exception":         futureException,
	"done":              futureDone,
	"running":           futureRunning,
	"cancel":            futureCancel,
	"cancelled":         futureCancelled,
	"add_done_callback": futureAddDoneCallback,
}

// newFuture makes the Future of call c, whose one task is t.
func newFuture(L *lua.LState, c *poolCall, t *runtime.PoolTask) *lua.LUserData {
	f := &future{c: c, task: t}
	f.ud = L.NewUserData()
	f.ud.Value = f
	f.ud.Metatable = worldOf(L).typeMeta(futureTypeName)
	return f.ud
}

// checkFuture returns the Future at n.
func checkFuture(L *lua.LState, n int) *future {
	return checkObject[*future](L, n, "concurrent.futures.Future")
}

// done says whether the future is finished or cancelled.
func (f *future) done() bool { return f.c.done }

// cancelled says whether cancel (or shutdown's cancel_futures) ended it.
func (f *future) cancelled() bool { return f.c.done && isCancelled(f.c.firstErr) }

// running says whether a worker runs it now (or did, once it was said:
// see seenRunning).
func (f *future) running() bool {
	if f.c.done {
		return false
	}
	f.seenRunning = f.seenRunning || f.task.Started()
	return f.seenRunning
}

// failed says whether it finished with an error (not by cancel).
func (f *future) failed() bool { return f.c.done && f.c.firstErr != nil && !f.cancelled() }

// isCancelled says whether err is the error a cancelled call holds: a
// task's own errors reach the parent as RemoteError, never as this.
func isCancelled(err lua.LValue) bool { return ErrorType(err) == "CancelledError" }

// cancelTask fails t's items with CancelledError, its scheduler having
// given it back (Scheduler.Cancel or Stop): the call finishes when
// nothing else of it is left, and its callbacks are queued.
func cancelTask(L *lua.LState, t *poolTask) {
	e := NewError(L, "CancelledError", "%s was cancelled before it started", t.describe())
	for i := t.first; i < t.first+t.count; i++ {
		t.call.setError(i, e)
	}
}

// wait waits for the future to finish (timeout: negative for no limit)
// and raises TimeoutError if it does not, or CancelledError if it was
// cancelled. what names the call in the error.
func (f *future) wait(L *lua.LState, timeout time.Duration, what string) {
	if !f.c.p.waitFor(f.done, timeout, false) {
		Raise(L, "TimeoutError", "%s: the future did not finish within %g seconds", what, timeout.Seconds())
	}
	if f.cancelled() {
		L.Error(f.c.firstErr, 0)
	}
}

// futureResult is f:result([timeout]): the task's value once it is
// done, or its error raised (RemoteError, WorkerLostError…).
func futureResult(L *lua.LState) int {
	f := checkFuture(L, 1)
	timeout := timeoutArg(L, 2, "Future.result", -1)
	f.wait(L, timeout, "Future.result")
	if f.c.firstErr != nil {
		L.Error(f.c.firstErr, 0)
	}
	L.Push(f.c.results[0])
	return 1
}

// futureException is f:exception([timeout]): the task's error once it
// is done, nil when it succeeded.
func futureException(L *lua.LState) int {
	f := checkFuture(L, 1)
	timeout := timeoutArg(L, 2, "Future.exception", -1)
	f.wait(L, timeout, "Future.exception")
	if f.c.firstErr == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(f.c.firstErr)
	}
	return 1
}

func futureDone(L *lua.LState) int {
	f := checkFuture(L, 1)
	f.c.p.pump(L)
	L.Push(lua.LBool(f.done()))
	return 1
}

func futureRunning(L *lua.LState) int {
	f := checkFuture(L, 1)
	f.c.p.pump(L)
	L.Push(lua.LBool(f.running()))
	return 1
}

func futureCancelled(L *lua.LState) int {
	f := checkFuture(L, 1)
	f.c.p.pump(L)
	L.Push(lua.LBool(f.cancelled()))
	return 1
}

// futureCancel is f:cancel(): true when the future is cancelled (now or
// before), false when a worker has started it or it finished. The done
// callbacks of a future it cancels run before it returns.
func futureCancel(L *lua.LState) int {
	f := checkFuture(L, 1)
	p := f.c.p
	p.pump(L)
	if f.done() {
		L.Push(lua.LBool(f.cancelled()))
		return 1
	}
	if f.seenRunning || len(p.sched.Cancel(f.task)) == 0 {
		L.Push(lua.LFalse) // a worker has it, or was said to
		return 1
	}
	cancelTask(L, f.task.Value.(*poolTask))
	p.runCallbacks(L)
	L.Push(lua.LTrue)
	return 1
}

// futureAddDoneCallback is f:add_done_callback(fn): fn(f) once the future
// is done, in this process, at once if it is done already. An error in
// fn is written to stderr, as Python logs it, and not raised.
func futureAddDoneCallback(L *lua.LState) int {
	f := checkFuture(L, 1)
	fn := L.Get(2)
	if !isCallable(L, fn) {
		argTypeError(L, 2, "function")
	}
	f.c.p.pump(L)
	if f.done() && !f.c.cbPending {
		f.call(L, fn)
		return 0
	}
	f.callbacks = append(f.callbacks, fn)
	if len(f.callbacks) == 1 && !f.done() {
		// The pool runs a call's callback when the call finishes: let
		// it run this future's.
		run := L.NewFunction(func(L *lua.LState) int {
			cbs := f.callbacks
			f.callbacks = nil
			for _, cb := range cbs {
				f.call(L, cb)
			}
			return 0
		})
		f.c.callback, f.c.errback = run, run
	}
	return 0
}

// call calls a done callback with the future, reporting its error on
// stderr; a KeyboardInterrupt goes on up.
func (f *future) call(L *lua.LState, fn lua.LValue) {
	w := worldOf(L)
	err := w.Call(fn, 0, f.ud)
	if err == nil {
		return
	}
	if le, ok := err.(*LuaError); ok && ErrorType(le.Value) == "KeyboardInterrupt" {
		L.Error(le.Value, 0)
	}
	w.WriteOut(os.Stderr, []byte(fmt.Sprintf("exception calling callback for %s\n%s\n", f.String(L), err)))
}

// String is the future's repr, as Python's: <concurrent.futures.Future
// state=finished returned number>.
func (f *future) String(L *lua.LState) string {
	var state string
	switch {
	case f.cancelled():
		state = "cancelled"
	case f.failed():
		typ := ErrorType(f.c.firstErr)
		if typ == "" {
			typ = f.c.firstErr.Type().String()
		}
		state = "finished raised " + typ
	case f.done():
		state = "finished returned " + f.c.results[0].Type().String()
	case f.running():
		state = "running"
	default:
		state = "pending"
	}
	return "<concurrent.futures.Future state=" + state + ">"
}

func futureString(L *lua.LState) int {
	L.Push(lua.LString(checkFuture(L, 1).String(L)))
	return 1
}

// futureMeta makes the metatable of Future objects.
func futureMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), futureMethods))
	L.SetField(mt, "__tostring", L.NewFunction(futureString))
	return mt
}
