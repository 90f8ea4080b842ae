// AsyncResult: get, wait, ready, successful.

package luaapi

import (
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func (c *poolCall) userdata(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = c
	ud.Metatable = worldOf(L).typeMeta(asyncResultTypeName)
	return ud
}

// ready says whether the call is done and its callback has run.
func (c *poolCall) ready() bool { return c.done && !c.cbPending }

// get waits for the call (timeout: negative for no limit) and returns
// its value, or raises its error.
func (c *poolCall) get(L *lua.LState, timeout time.Duration) int {
	if !c.p.waitFor(c.ready, timeout, false) {
		Raise(L, "TimeoutError", "%s: no result within %g seconds", c.what, timeout.Seconds())
	}
	if c.firstErr != nil {
		L.Error(c.firstErr, 0)
	}
	L.Push(c.value(L))
	return 1
}

func asyncResultGet(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	timeout := timeoutArg(L, 2, "AsyncResult.get", -1)
	return c.get(L, timeout)
}

func asyncResultWait(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	timeout := timeoutArg(L, 2, "AsyncResult.wait", -1)
	c.p.waitFor(c.ready, timeout, false)
	return 0
}

func asyncResultReady(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	c.p.pump(L)
	L.Push(lua.LBool(c.ready()))
	return 1
}

func asyncResultSuccessful(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	c.p.pump(L)
	if !c.ready() {
		Raise(L, "ValueError", "AsyncResult of %s is not ready", c.what)
	}
	L.Push(lua.LBool(c.firstErr == nil))
	return 1
}

func asyncResultString(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	state := "pending"
	if c.ready() {
		state = "ready successful"
		if c.firstErr != nil {
			state = "ready failed"
		}
	}
	L.Push(lua.LString(fmt.Sprintf("<AsyncResult %s %s>", c.what, state)))
	return 1
}

// checkAsyncResult returns the AsyncResult at n.
func checkAsyncResult(L *lua.LState, n int) *poolCall {
	return checkObject[*poolCall](L, n, asyncResultTypeName)
}

// asyncResultMeta makes the metatable of AsyncResult objects.
func asyncResultMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), asyncResultMethods))
	L.SetField(mt, "__tostring", L.NewFunction(asyncResultString))
	return mt
}
