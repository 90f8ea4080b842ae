// mp.with: Python's with statement.

package luaapi

import lua "github.com/yuin/gopher-lua"

// scoped is implemented by objects with their own way in and out of a
// with block (a pool checks it runs, and terminates on the way out).
type scoped interface {
	enter(L *lua.LState)
	exit(L *lua.LState)
}

// mpWith is mp.with(obj, fn): enter obj, call fn(obj), always exit,
// re-raise any error; its values are fn's.
func mpWith(L *lua.LState) int {
	obj := L.Get(1)
	var s scoped
	if ud, ok := obj.(*lua.LUserData); ok {
		switch v := ud.Value.(type) {
		case *lockObj: // the common case, without the lookup an interface's assertion makes
			s = v
		case scoped:
			s = v
		}
	}
	if s == nil && !hasMethods(L, obj, "acquire", "release") {
		argTypeError(L, 1, "Lock, Pool or other object with acquire and release")
	}
	fn := L.Get(2)
	if !isCallable(L, fn) {
		argTypeError(L, 2, "function")
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

// hasMethods says whether obj is a table or userdata whose fields names
// are set, without raising for a value that cannot be indexed.
func hasMethods(L *lua.LState, obj lua.LValue, names ...string) bool {
	switch obj.(type) {
	case *lua.LTable:
	case *lua.LUserData:
		if L.GetMetaField(obj, "__index") == lua.LNil {
			return false
		}
	default:
		return false
	}
	for _, name := range names {
		if L.GetField(obj, name) == lua.LNil {
			return false
		}
	}
	return true
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
