// What a Manager's dict, list and Namespace share on the Lua side: the
// handle, how values are stored (encoded by the codec) and read back, and
// how the runtime's errors read.

package luaapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	dictProxyTypeName      = "multiprocessing.DictProxy"
	listProxyTypeName      = "multiprocessing.ListProxy"
	namespaceProxyTypeName = "multiprocessing.NamespaceProxy"
)

// containerObj is the Go side of a DictProxy, ListProxy or
// NamespaceProxy: a container in the arena (dict or list) and the
// Manager that made it. The handle holds references on both, so the
// Manager's state can always be read.
type containerObj struct {
	arenaBase
	w    *World
	kind runtime.ContainerKind
	off  uint64
	mgr  uint64
	dict *runtime.Dict // a dict's or a Namespace's
	list *runtime.List // a list's
}

func (c *containerObj) HandleType() string {
	switch c.kind {
	case runtime.KindList:
		return "ListProxy"
	case runtime.KindNamespace:
		return "NamespaceProxy"
	}
	return "DictProxy"
}

func (c *containerObj) HandleData() []byte { return appendHandleInts(nil, c.off, c.mgr) }
func (c *containerObj) offset() uint64     { return c.off }
func (c *containerObj) parts() []uint64    { return []uint64{c.off, c.mgr} }

// maker is the manager's method that makes this kind.
func (c *containerObj) maker() string {
	switch c.kind {
	case runtime.KindList:
		return "list"
	case runtime.KindNamespace:
		return "Namespace"
	}
	return "dict"
}

func (c *containerObj) typeName() string { return "multiprocessing." + c.HandleType() }

func (c *containerObj) userdata() *lua.LUserData {
	return newArenaUserdata(c.w.L, c.typeName(), c)
}

func decodeContainer(L *lua.LState, data []byte, kind runtime.ContainerKind) (lua.LValue, error) {
	w := worldOf(L)
	c := &containerObj{w: w, kind: kind}
	r := handleReader{buf: data, typ: c.HandleType()}
	c.off, c.mgr = r.uint(), r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	got, mgr, err := a.ContainerAt(c.off)
	if err != nil {
		return nil, r.bad(err)
	}
	if got != kind || mgr != c.mgr {
		return nil, r.bad(fmt.Errorf("the container at offset %d is of kind %d made by the Manager at %d, want kind %d made by %d", c.off, got, mgr, kind, c.mgr))
	}
	if kind == runtime.KindList {
		c.list, err = a.ListAt(c.off)
	} else {
		c.dict, err = a.DictAt(c.off)
	}
	if err != nil {
		return nil, r.bad(err)
	}
	return c.userdata(), nil
}

// checkContainer returns the container of kind at n, raising ValueError
// when this handle was closed; what names the call for that error.
func checkContainer(L *lua.LState, n int, kind runtime.ContainerKind, what string) *containerObj {
	want := dictProxyTypeName
	switch kind {
	case runtime.KindList:
		want = listProxyTypeName
	case runtime.KindNamespace:
		want = namespaceProxyTypeName
	}
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*containerObj); ok && c.kind == kind {
			if c.closed {
				checkOpen(L, c, what)
			}
			return c
		}
	}
	argTypeError(L, n, want)
	return nil
}

// raise raises the Lua error a container operation's error means:
// OSError once the manager was shut down (Python's proxies get a broken
// pipe), IndexError, and what raiseSync says for the rest.
func (c *containerObj) raise(L *lua.LState, err error, what string) {
	switch {
	case errors.Is(err, runtime.ErrManagerShutDown):
		Raise(L, "OSError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrIndex):
		Raise(L, "IndexError", "%s: %v", what, err)
	}
	raiseSync(L, err, what)
}

// stored is a Lua value encoded for a container, and the encoder whose
// references it carries (nil for a number, string or boolean).
type stored struct {
	runtime.Stored
	e *Encoder
}

// drop releases the references of a value that was not stored.
func (s stored) drop() {
	if s.e != nil {
		s.e.dropRefs()
	}
}

// encodeStored encodes v as the codec does (what a Queue would send):
// numbers, strings and booleans directly, anything else through an
// Encoder, which raises SerializationError naming root in the path. A
// key (key set) -0 is stored as 0, since Lua makes them one key; a nil
// or NaN key raises, as it does in a Lua table.
func encodeStored(L *lua.LState, w *World, v lua.LValue, what, root string, key bool) stored {
	switch x := v.(type) {
	case lua.LNumber:
		f := float64(x)
		if key && f != f {
			Raise(L, "ValueError", "%s: got NaN as a key, want a key equal to itself", what)
		}
		if key && f == 0 {
			f = 0 // -0 too
		}
		e := Encoder{body: make([]byte, 1, 12)}
		e.number(f)
		return stored{Stored: runtime.Stored{Bytes: e.body}}
	case lua.LString:
		b := make([]byte, 0, len(x)+binary.MaxVarintLen64+2)
		b = append(b, 0, tagStr)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return stored{Stored: runtime.Stored{Bytes: append(b, x...)}}
	case lua.LBool:
		if x {
			return stored{Stored: runtime.Stored{Bytes: []byte{0, tagTrue}}}
		}
		return stored{Stored: runtime.Stored{Bytes: []byte{0, tagFalse}}}
	case *lua.LNilType:
		if key {
			Raise(L, "TypeError", "%s: got nil as a key, want any other value", what)
		}
	}
	checkStorable(L, v, what, root)
	e := w.NewEncoder()
	if err := e.Encode(v, root); err != nil {
		raiseSend(L, err)
	}
	return stored{Stored: runtime.Stored{Bytes: e.Bytes(), Refs: e.transfers}, e: e}
}

// decodeStored decodes a value a container returned, taking over the
// references that came with it.
func decodeStored(L *lua.LState, w *World, b []byte, what string) lua.LValue {
	decodeMessage(L, w, b, true, what)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// checkStorable refuses what a container cannot keep: a Connection,
// whose handle counts itself in flight until one receiver takes it (a
// stored value is read any number of times). It looks where the encoder
// will: tables, their keys and metatables, functions' upvalues and
// environments.
func checkStorable(L *lua.LState, v lua.LValue, what, root string) {
	seen := map[lua.LValue]bool{}
	stack := []lua.LValue{v}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch x := v.(type) {
		case *lua.LUserData:
			if _, ok := x.Value.(*connObj); ok {
				Raise(L, "SerializationError", "%s: cannot store a Connection in a Manager's container (in %s), want it sent through a Queue or a Pipe", what, root)
			}
		case *lua.LTable:
			if seen[x] {
				continue
			}
			seen[x] = true
			x.ForEach(func(k, v lua.LValue) { stack = append(stack, k, v) })
			if x.Metatable != nil {
				stack = append(stack, x.Metatable)
			}
		case *lua.LFunction:
			if seen[x] {
				continue
			}
			seen[x] = true
			for _, uv := range x.Upvalues {
				if uv != nil {
					stack = append(stack, uv.Value())
				}
			}
			if x.Env != nil && x.Env != L.G.Global {
				stack = append(stack, x.Env)
			}
		}
	}
}

// intArg reads an integer argument (a position), raising TypeError for a
// number that is not one.
func intArg(L *lua.LState, v lua.LValue, what string) (int, bool) {
	n, ok := v.(lua.LNumber)
	if !ok {
		return 0, false
	}
	f := float64(n)
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		Raise(L, "TypeError", "%s: got %v as an index, want an integer", what, n)
	}
	return int(f), true
}

// storedKeyText shows a key in a message: a string quoted, a number as Lua
// writes it, else its type.
func storedKeyText(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return fmt.Sprintf("%q", string(x))
	case lua.LNumber, lua.LBool:
		return x.String()
	}
	return "a " + v.Type().String()
}

// containerString is the repr of every container: Python's repr of a
// proxy, the arena offset standing for the address.
func containerString(L *lua.LState) int {
	var c *containerObj
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		c, _ = ud.Value.(*containerObj)
	}
	if c == nil {
		argTypeError(L, 1, "a Manager's container")
	}
	if c.closed {
		L.Push(lua.LString(fmt.Sprintf("<%s closed>", c.HandleType())))
		return 1
	}
	typeid := c.maker()
	L.Push(lua.LString(fmt.Sprintf("<%s object, typeid '%s' at %#x>", c.HandleType(), typeid, c.off)))
	return 1
}

// The handle decoders of the three kinds (decodeHandle).

func decodeDictProxy(L *lua.LState, data []byte) (lua.LValue, error) {
	return decodeContainer(L, data, runtime.KindDict)
}

func decodeListProxy(L *lua.LState, data []byte) (lua.LValue, error) {
	return decodeContainer(L, data, runtime.KindList)
}

func decodeNamespaceProxy(L *lua.LState, data []byte) (lua.LValue, error) {
	return decodeContainer(L, data, runtime.KindNamespace)
}
