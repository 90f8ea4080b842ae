// NamespaceProxy: m:Namespace(), fields shared by every process of the
// tree, read and set by name.

package luaapi

import (
	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// managerNamespace is m:Namespace([fields]): a new Namespace with the
// fields of a table whose keys are names.
func managerNamespace(L *lua.LState) int {
	const what = "SyncManager.Namespace"
	m := runningManager(L, "Namespace")
	init := L.Get(2)
	if L.GetTop() > 2 {
		Raise(L, "TypeError", "%s: got %d arguments, want at most a table of fields", what, L.GetTop()-1)
	}
	t, ok := init.(*lua.LTable)
	if init != lua.LNil && !ok {
		Raise(L, "TypeError", "%s: got a %s, want a table of fields", what, typeNameOf(init))
	}
	if t != nil {
		t.ForEach(func(k, _ lua.LValue) { checkFieldName(L, k, what) })
	}
	d, err := whenFull(func() (*runtime.Dict, error) { return m.m.NewDict(m.w.Context(), true) })
	if err != nil {
		raiseManager(L, err, what)
	}
	c := newContainer(L, m, runtime.KindNamespace, d, nil)
	if t != nil {
		c.update(L, t, what)
	}
	L.Push(c.userdata())
	return 1
}

// checkFieldName raises TypeError unless k is a string, as a Namespace's
// fields are names.
func checkFieldName(L *lua.LState, k lua.LValue, what string) {
	if _, ok := k.(lua.LString); !ok {
		Raise(L, "TypeError", "%s: got %s as a field name, want a string", what, storedKeyText(k))
	}
}

// namespaceIndex is ns.name: the field, nil when it is not set.
func namespaceIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	c := checkContainer(L, 1, runtime.KindNamespace, "NamespaceProxy")
	if _, ok := key.(lua.LString); !ok {
		return lua.LNil, true
	}
	v, _ := c.get(L, key, "NamespaceProxy")
	return v, true
}

// namespaceNewIndex is ns.name = v; nil removes the field.
func namespaceNewIndex(L *lua.LState) int {
	const what = "NamespaceProxy"
	c := checkContainer(L, 1, runtime.KindNamespace, what)
	checkFieldName(L, L.Get(2), what)
	c.set(L, L.Get(2), L.Get(3), what)
	return 0
}
