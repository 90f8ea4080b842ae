// ListProxy: m:list(), a list shared by every process of the tree,
// indexed from 1 like a Lua sequence.

package luaapi

import (
	"errors"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

var listMethods = map[string]lua.LGFunction{
	"append": listAppend,
	"extend": listExtend,
	"insert": listInsert,
	"pop":    listPop,
	"remove": listRemove,
	"index":  listIndexOf,
	"count":  listCount,
	"len":    listLen,
	"iter":   listIter,
	"copy":   listCopy,
	"clear":  listClear,
	"close":  containerClose,
}

// managerList is m:list([init]): a new list, filled from init (a Lua
// sequence or a ListProxy).
func managerList(L *lua.LState) int {
	m := runningManager(L, "list")
	init := L.Get(2)
	if L.GetTop() > 2 {
		Raise(L, "TypeError", "SyncManager.list: got %d arguments, want at most one table or ListProxy", L.GetTop()-1)
	}
	l, err := whenFull(func() (*runtime.List, error) { return m.m.NewList(m.w.Context()) })
	if err != nil {
		raiseManager(L, err, "SyncManager.list")
	}
	c := newContainer(L, m, runtime.KindList, nil, l)
	if init != lua.LNil {
		c.extend(L, init, "SyncManager.list")
	}
	L.Push(c.userdata())
	return 1
}

func checkList(L *lua.LState, what string) *containerObj {
	return checkContainer(L, 1, runtime.KindList, what)
}

// storeListValue encodes v for the list, which holds no nil (a Lua
// sequence cannot).
func storeListValue(L *lua.LState, c *containerObj, v lua.LValue, what, root string) stored {
	if v == lua.LNil {
		Raise(L, "ValueError", "%s: got nil, want a value (a list holds no nil, as a Lua sequence)", what)
	}
	return encodeStored(L, c.w, v, what, root, false)
}

// length is #l.
func (c *containerObj) length(L *lua.LState, what string) int {
	n, err := c.list.Len(c.w.Context())
	if err != nil {
		c.raise(L, err, what)
	}
	return n
}

// listIndex serves l[i] for i from 1 to #l; IndexError for another
// number. A string is a method, or nil.
func listIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	if _, ok := key.(lua.LNumber); !ok {
		return nil, false
	}
	const what = "ListProxy"
	c := checkList(L, what)
	i, _ := intArg(L, key, what)
	b, err := c.list.Get(c.w.Context(), i-1)
	if errors.Is(err, runtime.ErrIndex) {
		Raise(L, "IndexError", "%s: index %d out of range, want 1 to %d", what, i, c.length(L, what))
	}
	if err != nil {
		c.raise(L, err, what)
	}
	return decodeStored(L, c.w, b, what), true
}

// listNewIndex is l[i] = v, for i from 1 to #l.
func listNewIndex(L *lua.LState) int {
	const what = "ListProxy"
	c := checkList(L, what)
	key := L.Get(2)
	if _, ok := key.(lua.LNumber); !ok {
		Raise(L, "TypeError", "%s: cannot set %s, want an index from 1 to #l", what, storedKeyText(key))
	}
	i, _ := intArg(L, key, what)
	v := storeListValue(L, c, L.Get(3), what, "value")
	done := false
	defer func() {
		if !done {
			v.drop()
		}
	}()
	err := c.list.Set(c.w.Context(), i-1, v.Stored)
	if errors.Is(err, runtime.ErrIndex) {
		Raise(L, "IndexError", "%s: index %d out of range, want 1 to %d", what, i, c.length(L, what))
	}
	if err != nil {
		c.raise(L, err, what)
	}
	done = true
	return 0
}

// listLen is #l and l:len().
func listLen(L *lua.LState) int {
	c := checkList(L, "ListProxy.len")
	L.Push(lua.LNumber(c.length(L, "ListProxy.len")))
	return 1
}

// listAppend is l:append(v).
func listAppend(L *lua.LState) int {
	const what = "ListProxy.append"
	c := checkList(L, what)
	if L.GetTop() < 2 {
		argError(L, 2, "value expected")
	}
	v := storeListValue(L, c, L.Get(2), what, "value")
	if err := c.list.Extend(c.w.Context(), v.Stored); err != nil {
		v.drop()
		c.raise(L, err, what)
	}
	return 0
}

// extend appends the values of from (a Lua sequence, or a ListProxy read
// at once), all at once for the other processes.
func (c *containerObj) extend(L *lua.LState, from lua.LValue, what string) {
	var vs []lua.LValue
	switch x := from.(type) {
	case *lua.LTable:
		n := x.Len()
		for i := 1; i <= n; i++ {
			vs = append(vs, x.RawGetInt(i))
		}
	case *lua.LUserData:
		o, ok := x.Value.(*containerObj)
		if !ok || o.kind != runtime.KindList {
			Raise(L, "TypeError", "%s: got a %s, want a table or a ListProxy", what, typeNameOf(from))
		}
		if o.closed {
			checkOpen(L, o, what)
		}
		vs = o.values(L, what)
	default:
		Raise(L, "TypeError", "%s: got a %s, want a table or a ListProxy", what, typeNameOf(from))
	}
	if len(vs) == 0 {
		return
	}
	encs := make([]stored, 0, len(vs))
	done := false
	defer func() {
		if !done {
			for _, s := range encs {
				s.drop()
			}
		}
	}()
	sts := make([]runtime.Stored, 0, len(vs))
	for _, v := range vs {
		s := storeListValue(L, c, v, what, "value")
		encs = append(encs, s)
		sts = append(sts, s.Stored)
	}
	if err := c.list.Extend(c.w.Context(), sts...); err != nil {
		c.raise(L, err, what)
	}
	done = true
}

// values returns every value of the list, in order.
func (c *containerObj) values(L *lua.LState, what string) []lua.LValue {
	bs, err := c.list.Items(c.w.Context())
	if err != nil {
		c.raise(L, err, what)
	}
	vs := make([]lua.LValue, len(bs))
	for i, b := range bs {
		vs[i] = decodeStored(L, c.w, b, what)
	}
	return vs
}

// listExtend is l:extend(t): the values of t (a Lua sequence or a
// ListProxy) appended.
func listExtend(L *lua.LState) int {
	c := checkList(L, "ListProxy.extend")
	c.extend(L, L.Get(2), "ListProxy.extend")
	return 0
}

// listInsert is l:insert(i, v): v placed at i (1 to #l+1), the values
// from i on moving up.
func listInsert(L *lua.LState) int {
	const what = "ListProxy.insert"
	c := checkList(L, what)
	i, ok := intArg(L, L.Get(2), what)
	if !ok {
		argTypeError(L, 2, "number")
	}
	v := storeListValue(L, c, L.Get(3), what, "value")
	err := c.list.Insert(c.w.Context(), i-1, v.Stored)
	if err != nil {
		v.drop()
	}
	if errors.Is(err, runtime.ErrIndex) {
		Raise(L, "IndexError", "%s: index %d out of range, want 1 to %d", what, i, c.length(L, what)+1)
	}
	if err != nil {
		c.raise(L, err, what)
	}
	return 0
}

// listPop is l:pop([i]): the value at i (the last by default), removed;
// IndexError when there is none.
func listPop(L *lua.LState) int {
	const what = "ListProxy.pop"
	c := checkList(L, what)
	i := 0
	if L.Get(2) != lua.LNil {
		var ok bool
		if i, ok = intArg(L, L.Get(2), what); !ok {
			argTypeError(L, 2, "number")
		}
		if i < 1 {
			Raise(L, "IndexError", "%s: index %d out of range, want 1 to %d", what, i, c.length(L, what))
		}
	}
	b, err := c.list.Pop(c.w.Context(), i-1)
	if errors.Is(err, runtime.ErrIndex) {
		if n := c.length(L, what); n == 0 {
			Raise(L, "IndexError", "%s: pop from an empty list", what)
		} else {
			Raise(L, "IndexError", "%s: index %d out of range, want 1 to %d", what, i, n)
		}
	}
	if err != nil {
		c.raise(L, err, what)
	}
	L.Push(decodeStored(L, c.w, b, what))
	return 1
}

// probe encodes the value at 2, to compare with the list's, raising
// ValueError for nil.
func (c *containerObj) probe(L *lua.LState, what string) stored {
	return storeListValue(L, c, L.Get(2), what, "value")
}

// listRemove is l:remove(v): the first value equal to v removed;
// ValueError when there is none.
func listRemove(L *lua.LState) int {
	const what = "ListProxy.remove"
	c := checkList(L, what)
	p := c.probe(L, what)
	defer p.drop()
	err := c.list.Remove(c.w.Context(), p.Bytes)
	if errors.Is(err, runtime.ErrNotFound) {
		Raise(L, "ValueError", "%s: %s is not in the list", what, storedKeyText(L.Get(2)))
	}
	if err != nil {
		c.raise(L, err, what)
	}
	return 0
}

// listIndexOf is l:index(v [, start [, stop]]): the first position from
// start to stop (1-based, inclusive) holding a value equal to v;
// ValueError when there is none.
func listIndexOf(L *lua.LState) int {
	const what = "ListProxy.index"
	c := checkList(L, what)
	start, stop := 1, -1
	if v := L.Get(3); v != lua.LNil {
		var ok bool
		if start, ok = intArg(L, v, what); !ok {
			argTypeError(L, 3, "number")
		}
	}
	if v := L.Get(4); v != lua.LNil {
		var ok bool
		if stop, ok = intArg(L, v, what); !ok {
			argTypeError(L, 4, "number")
		}
		stop = max(stop, 0)
	}
	p := c.probe(L, what)
	defer p.drop()
	i, err := c.list.Index(c.w.Context(), p.Bytes, start-1, stop)
	if errors.Is(err, runtime.ErrNotFound) {
		Raise(L, "ValueError", "%s: %s is not in the list", what, storedKeyText(L.Get(2)))
	}
	if err != nil {
		c.raise(L, err, what)
	}
	L.Push(lua.LNumber(i + 1))
	return 1
}

// listCount is l:count(v): how many values equal v.
func listCount(L *lua.LState) int {
	const what = "ListProxy.count"
	c := checkList(L, what)
	p := c.probe(L, what)
	defer p.drop()
	n, err := c.list.Count(c.w.Context(), p.Bytes)
	if err != nil {
		c.raise(L, err, what)
	}
	L.Push(lua.LNumber(n))
	return 1
}

// listIter is l:iter(): an iterator over a snapshot of the list, for
// `for i, v in l:iter() do`.
func listIter(L *lua.LState) int {
	c := checkList(L, "ListProxy.iter")
	vs := c.values(L, "ListProxy.iter")
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(vs) {
			return 0
		}
		i++
		L.Push(lua.LNumber(i))
		L.Push(vs[i-1])
		return 2
	}))
	return 1
}

// listCopy is l:copy(): a plain Lua list of the values.
func listCopy(L *lua.LState) int {
	c := checkList(L, "ListProxy.copy")
	L.Push(listTable(L, c.values(L, "ListProxy.copy")))
	return 1
}

// listClear is l:clear().
func listClear(L *lua.LState) int {
	c := checkList(L, "ListProxy.clear")
	if err := c.list.Clear(c.w.Context()); err != nil {
		c.raise(L, err, "ListProxy.clear")
	}
	return 0
}
