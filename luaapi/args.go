// Helpers for reading Lua arguments the way docs/reference.md describes them.

package luaapi

import (
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// optionsAt returns the options table when the argument at n is the only
// argument left and is a plain table (docs/reference.md: methods whose arguments are
// all options also take one options table).
func optionsAt(L *lua.LState, n int) *lua.LTable {
	if L.GetTop() != n {
		return nil
	}
	t, ok := L.Get(n).(*lua.LTable)
	if !ok || t.Metatable != lua.LNil && t.Metatable != nil {
		return nil
	}
	return t
}

// argOrOption reads a positional argument, or the named field of an
// options table standing at the first option's position.
func argOrOption(L *lua.LState, opts *lua.LTable, n int, name string) lua.LValue {
	if opts != nil {
		return opts.RawGetString(name)
	}
	return L.Get(n)
}

// toTimeout reads a timeout in seconds: nil means forever (-1), negative
// means 0. what names the argument in errors.
func toTimeout(L *lua.LState, v lua.LValue, what string) time.Duration {
	switch x := v.(type) {
	case *lua.LNilType:
		return -1
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) {
			Raise(L, "ValueError", "%s: got NaN, want a number of seconds", what)
		}
		if f <= 0 {
			return 0
		}
		if math.IsInf(f, 1) {
			return -1
		}
		return secondsToDuration(f)
	}
	Raise(L, "TypeError", "%s: got a %s, want a number of seconds or nil", what, v.Type().String())
	return 0
}

// toBlock reads a block flag: nil means true.
func toBlock(v lua.LValue) bool {
	return v == lua.LNil || lua.LVAsBool(v)
}

// argList reads a list of arguments: its `n` field when it has one (so
// that nils survive), else its length.
func argList(L *lua.LState, v lua.LValue, what string) []lua.LValue {
	switch t := v.(type) {
	case *lua.LNilType:
		return nil
	case *lua.LTable:
		return tableArgs(t)
	}
	Raise(L, "TypeError", "%s: got a %s, want a table of arguments", what, v.Type().String())
	return nil
}

// maxArgs bounds the n field of an argument list.
const maxArgs = 1 << 20

// tableArgs are the items of an argument list: up to its n field (as
// table.pack makes, so that nils survive) when that is a whole number
// from 0 to maxArgs, else up to its length.
func tableArgs(t *lua.LTable) []lua.LValue {
	n := t.Len()
	if nv, ok := t.RawGetString("n").(lua.LNumber); ok && nv >= 0 && nv <= maxArgs && float64(nv) == math.Trunc(float64(nv)) {
		n = int(nv)
	}
	out := make([]lua.LValue, n)
	for i := range out {
		out[i] = t.RawGetInt(i + 1)
	}
	return out
}

// isCallable says whether v can be called.
func isCallable(L *lua.LState, v lua.LValue) bool {
	if _, ok := v.(*lua.LFunction); ok {
		return true
	}
	return L.GetMetaField(v, "__call") != lua.LNil
}
