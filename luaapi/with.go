// mp.with: Python's with statement.

package luaapi

import lua "github.com/yuin/gopher-lua"

// scoped is implemented by objects with their own way in and out of a
// with block (a pool checks it runs, and terminates on the way out).
type scoped interface {
	enter(L *lua.LState)
	exit(L *lua.LState)
}

func init() {
	onSetup(func(w *World) {
		w.addModule("multiprocessing", map[string]lua.LGFunction{"with": mpWith})
	})
}

// mpWith is mp.with(obj, fn): enter obj, call fn(obj), always exit,
// re-raise any error; its values are fn's.
func mpWith(L *lua.LState) int {
	obj := L.CheckAny(1)
	fn := L.CheckFunction(2)
	var s scoped
	if ud, ok := obj.(*lua.LUserData); ok {
		s, _ = ud.Value.(scoped)
	}
	if s != nil {
		s.enter(L)
	} else {
		callMethod(L, obj, "acquire", "with")
	}
	top := L.GetTop()
	L.Push(fn)
	L.Push(obj)
	err := L.PCall(1, lua.MultRet, nil)
	if s != nil {
		s.exit(L)
	} else {
		callMethod(L, obj, "release", "with")
	}
	if err != nil {
		if ae, ok := err.(*lua.ApiError); ok {
			L.Error(ae.Object, 0)
		}
		L.Error(lua.LString(err.Error()), 0)
	}
	return L.GetTop() - top
}

// callMethod calls obj:name(), raising a TypeError if obj has no such
// method.
func callMethod(L *lua.LState, obj lua.LValue, name, what string) {
	m := L.GetField(obj, name)
	if m == lua.LNil {
		Raise(L, "TypeError", "%s: a %s has no %s method", what, obj.Type().String(), name)
	}
	L.Push(m)
	L.Push(obj)
	L.Call(1, 0)
}
