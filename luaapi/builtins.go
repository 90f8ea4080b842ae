// The built-ins registry: standard-library and procsh values that cross
// processes by name rather than by value.

package luaapi

import (
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// builtinRoots are the global tables whose contents are built-ins, walked
// in this order so that every process names a value the same way.
var builtinRoots = []string{
	"string", "table", "math", "io", "os", "coroutine", "debug", "package",
	"channel", "multiprocessing", "time",
}

// builtins maps built-in values to names and back. It is made once per
// state, before any user code runs, and never changes afterwards.
type builtins struct {
	names  map[lua.LValue]string
	values map[string]lua.LValue
}

// collectBuiltins walks the freshly made state's globals.
func collectBuiltins(L *lua.LState) *builtins {
	b := &builtins{names: map[lua.LValue]string{}, values: map[string]lua.LValue{}}
	g := L.G.Global
	b.add("_G", g)
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
	if f, ok := L.GetField(L.GetGlobal("io"), "stdout").(*lua.LUserData); ok {
		if mt, ok := f.Metatable.(*lua.LTable); ok {
			b.add("<file metatable>", mt)
		}
	}
	return b
}

// addFields registers the functions, tables and userdata found directly
// in t, under prefix.key, in sorted key order.
func (b *builtins) addFields(prefix string, t *lua.LTable) {
	var keys []string
	t.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			switch v.(type) {
			case *lua.LFunction, *lua.LTable, *lua.LUserData:
				keys = append(keys, string(s))
			}
		}
	})
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		b.add(name, t.RawGetString(k))
	}
}

// add registers v under name unless v or name already has one.
func (b *builtins) add(name string, v lua.LValue) {
	if _, ok := b.names[v]; ok {
		return
	}
	if _, ok := b.values[name]; ok {
		return
	}
	b.names[v] = name
	b.values[name] = v
}
