// What crosses a SocketConnection: every value the codec sends except
// procsh's shared objects. A Lock, a Queue or a Process is an offset in
// this tree's arena, and the program at the other end of a socket has an
// arena of its own: such a handle there would name nothing, or something
// else. So the sender looks for them before encoding (a handle's encoding
// is not free of effects: a Pipe's end counts as held while in flight),
// and the receiver refuses one a peer sent anyway.

package luaapi

import (
	"fmt"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// checkForeign says, as a SerializationError naming its path, whether v
// holds a procsh shared object anywhere the encoder would go: table keys,
// values and metatables, functions' environments and upvalues, the
// fields a script added to a built-in table.
func checkForeign(w *World, v lua.LValue, root string) error {
	switch v.(type) {
	case *lua.LTable, *lua.LFunction, *lua.LUserData:
	default:
		return nil
	}
	f := foreignCheck{w: w, seen: map[lua.LValue]bool{}, path: []pathSeg{{name: root}}}
	return f.value(v)
}

type foreignCheck struct {
	w    *World
	seen map[lua.LValue]bool
	path []pathSeg
}

func (f *foreignCheck) value(v lua.LValue) error {
	switch x := v.(type) {
	case *lua.LTable:
		return f.table(x)
	case *lua.LFunction:
		return f.function(x)
	case *lua.LUserData:
		if _, ok := f.w.builtins.name(x); ok {
			return nil
		}
		if h, ok := x.Value.(Handle); ok {
			path := (&Encoder{path: f.path}).pathString()
			return &SerializationError{Msg: fmt.Sprintf("cannot send a %s (%s) over a socket: a socket Connection reaches another program, which does not share this process tree's objects; want plain values there, and a Queue or Pipe for processes of this tree", h.HandleType(), path)}
		}
	}
	return nil
}

// within checks v as the step seg of the path.
func (f *foreignCheck) within(seg pathSeg, v lua.LValue) error {
	f.path = append(f.path, seg)
	err := f.value(v)
	f.path = f.path[:len(f.path)-1]
	return err
}

func (f *foreignCheck) table(t *lua.LTable) error {
	if f.seen[t] {
		return nil
	}
	f.seen[t] = true
	_, builtin := f.w.builtins.name(t)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if _, ok := f.w.builtins.name(v); builtin && ok {
			return // a built-in's own field, sent by name
		}
		if err = f.within(pathSeg{key: k}, k); err == nil {
			err = f.within(pathSeg{key: k}, v)
		}
	})
	if err != nil || builtin || t.Metatable == nil {
		return err
	}
	return f.within(pathSeg{name: "<metatable>"}, t.Metatable)
}

func (f *foreignCheck) function(fn *lua.LFunction) error {
	if _, ok := f.w.builtins.name(fn); ok || fn.IsG || f.seen[fn] {
		return nil
	}
	f.seen[fn] = true
	if fn.Env != f.w.L.G.Global {
		if err := f.within(pathSeg{name: "<environment>"}, fn.Env); err != nil {
			return err
		}
	}
	for i, uv := range fn.Upvalues {
		if uv == nil {
			continue
		}
		name := fmt.Sprintf("upvalue %d", i+1)
		if i < len(fn.Proto.DbgUpvalues) {
			name = "upvalue '" + fn.Proto.DbgUpvalues[i] + "'"
		}
		if err := f.within(pathSeg{name: name}, uv.Value()); err != nil {
			return err
		}
	}
	return nil
}

// foreignDecoding holds the states decoding a message from a socket
// (*lua.Global → true), for decodeHandle to refuse handles in it.
var foreignDecoding sync.Map

// decodeForeign pushes the value a message from a socket holds, as
// decodeMessage does for a Pipe's, refusing procsh objects in it.
func decodeForeign(L *lua.LState, w *World, msg []byte, what string) {
	foreignDecoding.Store(L.G, true)
	defer foreignDecoding.Delete(L.G)
	decodeMessage(L, w, msg, true, what)
}

// foreignHandle is decodeHandle's refusal of a handle that came over a
// socket.
func foreignHandle(L *lua.LState, typ string) error {
	if _, ok := foreignDecoding.Load(L.G); ok {
		return fmt.Errorf("decode: got a %s from another program, whose objects this process tree does not share", typ)
	}
	return nil
}
