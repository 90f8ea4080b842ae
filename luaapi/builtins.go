// The built-ins registry: standard-library and procsh values that cross
// processes by name rather than by value.

package luaapi

import (
	lua "github.com/yuin/gopher-lua"
)

// builtinRoots are the global tables whose contents are built-ins, walked
// in this order so that every process names a value the same way.
var builtinRoots = []string{
	"string", "table", "math", "io", "os", "coroutine", "debug", "package",
	"channel", "multiprocessing", "time",
	"multiprocessing.connection", "multiprocessing.shared_memory", "concurrent.futures",
	"multiprocessing.cluster", "multiprocessing.trace",
}

// builtins maps built-in values to names and back. It is made once per
// state, before any user code runs, and never changes afterwards.
type builtins struct {
	names  map[lua.LValue]string
	values map[string]lua.LValue
	// globals are the names in _G of a fresh state: a module required
	// into a global (time = require "time") is not one of them.
	globals map[string]bool
	// plain are the strings, numbers and booleans the built-in tables
	// hold in a fresh state (math.pi, mp.TimeoutError…): a built-in table
	// is sent without them while they are unchanged.
	plain map[string]lua.LValue
}

// collectBuiltins walks the freshly made state's globals.
func collectBuiltins(L *lua.LState) *builtins {
	// The maps are made at about the size a fresh state fills (193
	// values, 41 globals, 47 plain values), not grown as they fill.
	b := &builtins{values: make(map[string]lua.LValue, 224), plain: make(map[string]lua.LValue, 56)}
	g := L.G.Global
	b.add("_G", g)
	b.globals = make(map[string]bool, 64)
	g.ForEach(func(k, _ lua.LValue) { b.globals[lua.LVAsString(k)] = true })
	for _, root := range builtinRoots {
		t, ok := L.GetField(L.GetField(L.GetField(g, "package"), "loaded"), root).(*lua.LTable)
		if !ok {
			continue
		}
		b.add(root, t)
		b.addFields(root, t)
	}
	// Go functions and userdata that stand directly in _G (print, pairs…).
	b.addFields("", g)
	// package.loaded and the metatables of strings and of io's files.
	if mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		b.add("<string metatable>", mt)
	}
	// procsh's error tables share one metatable: an error caught with
	// pcall can be put on a Queue or sent on a Pipe like any table.
	emt := errorMeta(L)
	b.add("<error metatable>", emt)
	b.addFields("<error metatable>", emt)
	if f, ok := L.GetField(L.GetGlobal("io"), "stdout").(*lua.LUserData); ok {
		if mt, ok := f.Metatable.(*lua.LTable); ok {
			b.add("<file metatable>", mt)
		}
	}
	return b
}

// addFields registers the functions, tables and userdata found directly
// in t, under prefix.key, and notes its plain values.
func (b *builtins) addFields(prefix string, t *lua.LTable) {
	t.ForEach(func(k, v lua.LValue) {
		s, ok := k.(lua.LString)
		if !ok {
			return
		}
		name := string(s)
		if prefix != "" {
			name = prefix + "." + name
		}
		switch v.(type) {
		case *lua.LFunction, *lua.LTable, *lua.LUserData:
			b.add(name, v)
		case lua.LString, lua.LNumber, lua.LBool:
			b.plain[name] = v
		}
	})
}

// add registers v under name.
func (b *builtins) add(name string, v lua.LValue) {
	if _, ok := b.values[name]; !ok {
		b.values[name] = v
	}
}

// name is the name v is sent under, if it is a built-in. The reverse map
// is made on first use: a child that only receives never needs it. A
// value reachable under several names is sent under the smallest, so
// that every process agrees whatever order it walked the tables in.
func (b *builtins) name(v lua.LValue) (string, bool) {
	if b.names == nil {
		b.names = make(map[lua.LValue]string, len(b.values))
		for name, v := range b.values {
			if old, ok := b.names[v]; !ok || name < old {
				b.names[v] = name
			}
		}
	}
	name, ok := b.names[v]
	return name, ok
}
