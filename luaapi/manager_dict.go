// DictProxy: m:dict(), a table shared by every process of the tree,
// indexed like a Lua table.

package luaapi

import (
	"context"
	"errors"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

var dictMethods = map[string]lua.LGFunction{
	"get":        dictGet,
	"setdefault": dictSetDefault,
	"pop":        dictPop,
	"popitem":    dictPopItem,
	"keys":       dictKeys,
	"values":     dictValues,
	"items":      dictItems,
	"len":        dictLen,
	"update":     dictUpdate,
	"clear":      dictClear,
	"copy":       dictCopy,
	"close":      containerClose,
}

// managerDict is m:dict([init]): a new dict, filled from init (a table or
// a DictProxy) as update fills it.
func managerDict(L *lua.LState) int {
	m := runningManager(L, "dict")
	init := L.Get(2)
	if L.GetTop() > 2 {
		Raise(L, "TypeError", "SyncManager.dict: got %d arguments, want at most one table or DictProxy", L.GetTop()-1)
	}
	d, err := whenFull(func() (*runtime.Dict, error) { return m.m.NewDict(m.w.Context(), false) })
	if err != nil {
		raiseManager(L, err, "SyncManager.dict")
	}
	c := newContainer(L, m, runtime.KindDict, d, nil)
	if init != lua.LNil {
		c.update(L, init, "SyncManager.dict")
	}
	L.Push(c.userdata())
	return 1
}

// raiseManager raises for an error of a manager's own call: ProcessError
// once it has been shut down, as Python's.
func raiseManager(L *lua.LState, err error, what string) {
	if errors.Is(err, runtime.ErrManagerShutDown) {
		Raise(L, "ProcessError", "%s: the manager has been shut down", what)
	}
	raiseSync(L, err, what)
}

func checkDict(L *lua.LState, what string) *containerObj {
	return checkContainer(L, 1, runtime.KindDict, what)
}

// get returns the value of key, found false when it has none; nil and
// NaN are never keys, as in a Lua table.
func (c *containerObj) get(L *lua.LState, key lua.LValue, what string) (lua.LValue, bool) {
	return c.take(L, key, what, c.dict.Get)
}

// take is get and pop: op looks key up in the dict (and pop removes it).
func (c *containerObj) take(L *lua.LState, key lua.LValue, what string, op func(context.Context, []byte) ([]byte, bool, error)) (lua.LValue, bool) {
	if n, ok := key.(lua.LNumber); key == lua.LNil || ok && n != n {
		return lua.LNil, false
	}
	k := encodeStored(L, c.w, key, what, "key", true)
	defer k.drop()
	b, ok, err := op(c.w.Context(), k.Bytes)
	if err != nil {
		c.raise(L, err, what)
	}
	if !ok {
		return lua.LNil, false
	}
	return decodeStored(L, c.w, b, what), true
}

// set sets key to val; a nil val deletes key, as in a Lua table.
func (c *containerObj) set(L *lua.LState, key, val lua.LValue, what string) {
	if val == lua.LNil {
		c.pop(L, key, what)
		return
	}
	var k, v stored
	done := false
	defer func() {
		if !done {
			k.drop()
			v.drop()
		}
	}()
	k = encodeStored(L, c.w, key, what, "key", true)
	v = encodeStored(L, c.w, val, what, "value", false)
	if err := c.dict.Set(c.w.Context(), k.Stored, v.Stored); err != nil {
		c.raise(L, err, what)
	}
	done = true
}

// pop removes key and returns its value, found false when it had none.
func (c *containerObj) pop(L *lua.LState, key lua.LValue, what string) (lua.LValue, bool) {
	return c.take(L, key, what, c.dict.Pop)
}

// items returns the keys, the values, or both, in insertion order.
func (c *containerObj) items(L *lua.LState, keys, vals bool, what string) (ks, vs []lua.LValue) {
	its, err := c.dict.Items(c.w.Context(), keys, vals)
	if err != nil {
		c.raise(L, err, what)
	}
	for _, it := range its {
		if keys {
			ks = append(ks, decodeStored(L, c.w, it.Key, what))
		}
		if vals {
			vs = append(vs, decodeStored(L, c.w, it.Val, what))
		}
	}
	return ks, vs
}

// update sets every key of from (a table, or a DictProxy read at once)
// under one hold of the dict's lock.
func (c *containerObj) update(L *lua.LState, from lua.LValue, what string) {
	var ks, vs []lua.LValue
	switch x := from.(type) {
	case *lua.LTable:
		x.ForEach(func(k, v lua.LValue) {
			ks = append(ks, k)
			vs = append(vs, v)
		})
	case *lua.LUserData:
		o, ok := x.Value.(*containerObj)
		if !ok || o.kind == runtime.KindList {
			Raise(L, "TypeError", "%s: got a %s, want a table or a DictProxy", what, typeNameOf(from))
		}
		if o.closed {
			checkOpen(L, o, what)
		}
		ks, vs = o.items(L, true, true, what)
	default:
		Raise(L, "TypeError", "%s: got a %s, want a table or a DictProxy", what, typeNameOf(from))
	}
	if len(ks) == 0 {
		return
	}
	kvs := make([][2]runtime.Stored, 0, len(ks))
	encs := make([]stored, 0, 2*len(ks))
	from0 := 0 // the first pair whose references are still ours
	defer func() {
		for _, s := range encs[2*from0:] {
			s.drop()
		}
	}()
	for i := range ks {
		k := encodeStored(L, c.w, ks[i], what, "key", true)
		encs = append(encs, k)
		v := encodeStored(L, c.w, vs[i], what, "value", false)
		encs = append(encs, v)
		kvs = append(kvs, [2]runtime.Stored{k.Stored, v.Stored})
	}
	n, err := c.dict.Update(c.w.Context(), kvs)
	from0 = n
	if err != nil {
		c.raise(L, err, what)
	}
}

// typeNameOf names v's type in messages: a procsh object's, else Lua's.
func typeNameOf(v lua.LValue) string {
	if ud, ok := v.(*lua.LUserData); ok {
		if h, ok := ud.Value.(Handle); ok {
			return h.HandleType()
		}
	}
	return v.Type().String()
}

// dictIndex serves d[k]: the value, nil when there is none. A string
// naming a method is the method (read such a key with d:get(k)).
func dictIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	if s, ok := key.(lua.LString); ok && dictMethods[string(s)] != nil {
		return nil, false
	}
	c := checkDict(L, "DictProxy")
	v, _ := c.get(L, key, "DictProxy")
	return v, true
}

// dictNewIndex is d[k] = v; d[k] = nil deletes k.
func dictNewIndex(L *lua.LState) int {
	c := checkDict(L, "DictProxy")
	c.set(L, L.Get(2), L.Get(3), "DictProxy")
	return 0
}

// dictLen is #d and d:len().
func dictLen(L *lua.LState) int {
	c := checkDict(L, "DictProxy.len")
	n, err := c.dict.Len(c.w.Context())
	if err != nil {
		c.raise(L, err, "DictProxy.len")
	}
	L.Push(lua.LNumber(n))
	return 1
}

// dictGet is d:get(k [, default]).
func dictGet(L *lua.LState) int {
	c := checkDict(L, "DictProxy.get")
	if v, ok := c.get(L, L.Get(2), "DictProxy.get"); ok {
		L.Push(v)
	} else {
		L.Push(L.Get(3))
	}
	return 1
}

// dictSetDefault is d:setdefault(k [, default]): the value of k, which is
// set to default first when k has none (with no default, nothing is set).
func dictSetDefault(L *lua.LState) int {
	const what = "DictProxy.setdefault"
	c := checkDict(L, what)
	key, def := L.Get(2), L.Get(3)
	if def == lua.LNil {
		v, _ := c.get(L, key, what)
		L.Push(v)
		return 1
	}
	var k, v stored
	done := false
	defer func() {
		if !done {
			k.drop()
			v.drop()
		}
	}()
	k = encodeStored(L, c.w, key, what, "key", true)
	v = encodeStored(L, c.w, def, what, "default", false)
	cur, inserted, err := c.dict.SetDefault(c.w.Context(), k.Stored, v.Stored)
	if err != nil {
		c.raise(L, err, what)
	}
	if inserted {
		done = true
		L.Push(def)
		return 1
	}
	L.Push(decodeStored(L, c.w, cur, what))
	return 1
}

// dictPop is d:pop(k [, default]): the value of k, removed; default when
// k has none, KeyError when no default is given.
func dictPop(L *lua.LState) int {
	const what = "DictProxy.pop"
	c := checkDict(L, what)
	key := L.Get(2)
	if v, ok := c.pop(L, key, what); ok {
		L.Push(v)
		return 1
	}
	if L.GetTop() < 3 {
		Raise(L, "KeyError", "%s: no key %s", what, storedKeyText(key))
	}
	L.Push(L.Get(3))
	return 1
}

// dictPopItem is d:popitem(): the key set last and its value, removed;
// KeyError when the dict is empty.
func dictPopItem(L *lua.LState) int {
	const what = "DictProxy.popitem"
	c := checkDict(L, what)
	k, v, ok, err := c.dict.PopItem(c.w.Context())
	if err != nil {
		c.raise(L, err, what)
	}
	if !ok {
		Raise(L, "KeyError", "%s: the dict is empty", what)
	}
	L.Push(decodeStored(L, c.w, k, what))
	L.Push(decodeStored(L, c.w, v, what))
	return 2
}

// dictKeys is d:keys(): a list of the keys, in the order they were set.
func dictKeys(L *lua.LState) int {
	c := checkDict(L, "DictProxy.keys")
	ks, _ := c.items(L, true, false, "DictProxy.keys")
	L.Push(listTable(L, ks))
	return 1
}

// dictValues is d:values(): a list of the values, in the same order.
func dictValues(L *lua.LState) int {
	c := checkDict(L, "DictProxy.values")
	_, vs := c.items(L, false, true, "DictProxy.values")
	L.Push(listTable(L, vs))
	return 1
}

// dictItems is d:items(): an iterator over a snapshot of the pairs, for
// `for k, v in d:items() do`.
func dictItems(L *lua.LState) int {
	c := checkDict(L, "DictProxy.items")
	ks, vs := c.items(L, true, true, "DictProxy.items")
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(ks) {
			return 0
		}
		L.Push(ks[i])
		L.Push(vs[i])
		i++
		return 2
	}))
	return 1
}

// dictUpdate is d:update(t): every key of t (a table or a DictProxy) set
// to its value, at once for the other processes.
func dictUpdate(L *lua.LState) int {
	c := checkDict(L, "DictProxy.update")
	c.update(L, L.Get(2), "DictProxy.update")
	return 0
}

// dictClear is d:clear().
func dictClear(L *lua.LState) int {
	c := checkDict(L, "DictProxy.clear")
	if err := c.dict.Clear(c.w.Context()); err != nil {
		c.raise(L, err, "DictProxy.clear")
	}
	return 0
}

// dictCopy is d:copy(): a plain Lua table with the same keys and values.
func dictCopy(L *lua.LState) int {
	c := checkDict(L, "DictProxy.copy")
	ks, vs := c.items(L, true, true, "DictProxy.copy")
	t := L.CreateTable(0, len(ks))
	for i, k := range ks {
		L.SetTable(t, k, vs[i])
	}
	L.Push(t)
	return 1
}

// containerClose is close() of every container: this handle is done
// with it (the container lives on for the others, until its manager is
// shut down).
func containerClose(L *lua.LState) int {
	closeArenaObject(checkObject[*containerObj](L, 1, "a Manager's container"))
	return 0
}

// listTable is a Lua list of vs.
func listTable(L *lua.LState, vs []lua.LValue) *lua.LTable {
	t := L.CreateTable(len(vs), 0)
	for i, v := range vs {
		t.RawSetInt(i+1, v)
	}
	return t
}
