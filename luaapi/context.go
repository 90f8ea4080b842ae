// Start methods and contexts: mp.get_context, mp.set_start_method,
// mp.get_start_method and mp.get_all_start_methods, so that Python code
// that chooses a start method ports line for line.
//
// procsh has one way to start a child, with fork's semantics: the child
// gets a copy of the world as it is at start() (docs/reference.md). The
// three names Python knows are accepted, remembered and given back, and
// change nothing else.

package luaapi

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// startMethods are the start methods Python has on Linux, the default
// first, as get_all_start_methods lists them.
var startMethods = []string{"fork", "spawn", "forkserver"}

// contextClasses are the names of Python's context classes, which a
// context object's tostring shows.
var contextClasses = map[string]string{
	"fork":       "ForkContext",
	"spawn":      "SpawnContext",
	"forkserver": "ForkServerContext",
}

// Where a state keeps its contexts and its chosen start method, in its
// registry: a table of the three contexts by method (made on first use),
// and the method chosen (nil until set_start_method, get_context() or
// get_start_method() fixes it, as in Python).
const (
	contextsKey    = "procsh.contexts"
	startMethodKey = "procsh.start_method"
)

// contextSource makes a context object: a table whose fields are those of
// the multiprocessing module (through __index), with get_start_method
// giving its own method, get_context() itself, and set_start_method
// refused as Python refuses it on a concrete context. It is Lua, compiled
// through the chunk registry, so that a context can be sent to another
// process like any table of Lua functions.
const contextSource = `local mp, method, class, errmeta = ...
local ctx = {}
function ctx.get_start_method(allow_none)
  return method
end
function ctx.get_context(m)
  if m == nil then return ctx end
  return mp.get_context(m)
end
function ctx.set_start_method(m, force)
  error(setmetatable({type = "ValueError", message = "set_start_method: cannot set the start method of a concrete context (" ..
    class .. "), want mp.set_start_method"}, errmeta))
end
return setmetatable(ctx, {__index = mp, __tostring = function() return "<" .. class .. ">" end})
`

// contextFor returns the context object of a start method, made once per
// state.
func contextFor(L *lua.LState, method string) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	all, ok := reg.RawGetString(contextsKey).(*lua.LTable)
	if !ok {
		all = L.NewTable()
		reg.RawSetString(contextsKey, all)
	}
	if ctx, ok := all.RawGetString(method).(*lua.LTable); ok {
		return ctx
	}
	fn, err := L.Load(strings.NewReader(contextSource), "=(context)")
	if err != nil {
		panic("luaapi: the context source does not compile: " + err.Error())
	}
	mp := worldOf(L).module("multiprocessing")
	L.Push(fn)
	L.Push(mp)
	L.Push(lua.LString(method))
	L.Push(lua.LString(contextClasses[method]))
	L.Push(errorMeta(L))
	L.Call(4, 1)
	ctx := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	all.RawSetString(method, ctx)
	return ctx
}

// checkMethod reads a start method's name from v: one of startMethods,
// else ValueError (TypeError for what is not a string). what names the
// call.
func checkMethod(L *lua.LState, v lua.LValue, what string) string {
	s, ok := v.(lua.LString)
	if !ok {
		Raise(L, "TypeError", "%s: got a %s as method, want a string: \"fork\", \"spawn\" or \"forkserver\"", what, v.Type().String())
	}
	for _, m := range startMethods {
		if string(s) == m {
			return m
		}
	}
	Raise(L, "ValueError", "%s: cannot find context for %s, want \"fork\", \"spawn\" or \"forkserver\"", what, quoteRepr(string(s)))
	return ""
}

// chosenMethod is the start method this process chose, or "" while none
// is.
func chosenMethod(L *lua.LState) string {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	s, _ := reg.RawGetString(startMethodKey).(lua.LString)
	return string(s)
}

// chooseMethod records the start method ("" for none).
func chooseMethod(L *lua.LState, method string) {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if method == "" {
		reg.RawSetString(startMethodKey, lua.LNil)
		return
	}
	reg.RawSetString(startMethodKey, lua.LString(method))
}

// fixMethod is the chosen method, choosing the default, fork, when none
// is yet, as Python's default context does when asked.
func fixMethod(L *lua.LState) string {
	m := chosenMethod(L)
	if m == "" {
		m = startMethods[0]
		chooseMethod(L, m)
	}
	return m
}

var (
	getContextParams     = params{pos: []string{"method"}}
	setStartMethodParams = params{pos: []string{"method", "force"}}
	getStartMethodParams = params{pos: []string{"allow_none"}}
)

// mpGetContext is mp.get_context([method]): the context object of method,
// or, with none, of the method chosen (fixing the default, fork, when
// none is, as Python does).
func mpGetContext(L *lua.LState) int {
	var a [1]lua.LValue
	getContextParams.read(L, 1, "get_context", a[:])
	method := ""
	if a[0] == lua.LNil {
		method = fixMethod(L)
	} else {
		method = checkMethod(L, a[0], "get_context")
	}
	L.Push(contextFor(L, method))
	return 1
}

// mpSetStartMethod is mp.set_start_method(method [, force]): choose the
// start method, once; RuntimeError when one was chosen already (by this
// call, get_context() or get_start_method()) unless force is true. nil
// chooses the default, fork, or with force unchooses, as in Python.
func mpSetStartMethod(L *lua.LState) int {
	var a [2]lua.LValue
	setStartMethodParams.read(L, 1, "set_start_method", a[:])
	force := toBool(L, a[1], "set_start_method: force", false)
	if chosen := chosenMethod(L); chosen != "" && !force {
		Raise(L, "RuntimeError", "set_start_method: context has already been set (to %s), want force = true to set it again", quoteRepr(chosen))
	}
	switch {
	case a[0] == lua.LNil && force:
		chooseMethod(L, "")
	case a[0] == lua.LNil:
		chooseMethod(L, startMethods[0])
	default:
		chooseMethod(L, checkMethod(L, a[0], "set_start_method"))
	}
	return 0
}

// mpGetStartMethod is mp.get_start_method([allow_none]): the method
// chosen; with none chosen, nil if allow_none, else the default, fork,
// which is chosen from then on, as in Python.
func mpGetStartMethod(L *lua.LState) int {
	var a [1]lua.LValue
	getStartMethodParams.read(L, 1, "get_start_method", a[:])
	if chosenMethod(L) == "" && toBool(L, a[0], "get_start_method: allow_none", false) {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(fixMethod(L)))
	return 1
}

// mpGetAllStartMethods is mp.get_all_start_methods(): {"fork", "spawn",
// "forkserver"}.
func mpGetAllStartMethods(L *lua.LState) int {
	noArgs(L, 1, "get_all_start_methods")
	t := L.CreateTable(len(startMethods), 0)
	for _, m := range startMethods {
		t.Append(lua.LString(m))
	}
	L.Push(t)
	return 1
}
