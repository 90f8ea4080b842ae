// Finding procsh's shared objects in a value before it leaves the tree:
// a SocketConnection's peer and a cluster worker have arenas of their
// own, where a handle would name nothing, or something else.

package luaapi

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// findHandles walks v everywhere the encoder would go (table keys,
// values and metatables, functions' environments and upvalues, the
// fields a script added to a built-in table) and gives refuse's error for
// the first handle refuse refuses (nil: let it through), with the path
// the encoder would name it by. It runs before encoding, since a handle's
// encoding is not free of effects: a Pipe's end counts as held while in
// flight.
func findHandles(w *World, v lua.LValue, root string, refuse func(h Handle, path string) error) error {
	switch v.(type) {
	case *lua.LTable, *lua.LFunction, *lua.LUserData:
	default:
		return nil
	}
	hw := handleWalk{w: w, refuse: refuse, seen: map[lua.LValue]bool{}, path: []pathSeg{{name: root}}}
	return hw.value(v)
}

type handleWalk struct {
	w      *World
	refuse func(h Handle, path string) error
	seen   map[lua.LValue]bool
	path   []pathSeg
}

func (hw *handleWalk) value(v lua.LValue) error {
	switch x := v.(type) {
	case *lua.LTable:
		return hw.table(x)
	case *lua.LFunction:
		return hw.function(x)
	case *lua.LUserData:
		if _, ok := hw.w.builtins.name(x); ok {
			return nil
		}
		if h, ok := x.Value.(Handle); ok {
			return hw.refuse(h, (&Encoder{path: hw.path}).pathString())
		}
	}
	return nil
}

// within checks v as the step seg of the path.
func (hw *handleWalk) within(seg pathSeg, v lua.LValue) error {
	hw.path = append(hw.path, seg)
	err := hw.value(v)
	hw.path = hw.path[:len(hw.path)-1]
	return err
}

func (hw *handleWalk) table(t *lua.LTable) error {
	if hw.seen[t] {
		return nil
	}
	hw.seen[t] = true
	_, builtin := hw.w.builtins.name(t)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if _, ok := hw.w.builtins.name(v); builtin && ok {
			return // a built-in's own field, sent by name
		}
		if err = hw.within(pathSeg{key: k}, k); err == nil {
			err = hw.within(pathSeg{key: k}, v)
		}
	})
	if err != nil || builtin || t.Metatable == nil {
		return err
	}
	return hw.within(pathSeg{name: "<metatable>"}, t.Metatable)
}

func (hw *handleWalk) function(fn *lua.LFunction) error {
	if _, ok := hw.w.builtins.name(fn); ok || fn.IsG || hw.seen[fn] {
		return nil
	}
	hw.seen[fn] = true
	if fn.Env != hw.w.L.G.Global {
		if err := hw.within(pathSeg{name: "<environment>"}, fn.Env); err != nil {
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
		if err := hw.within(pathSeg{name: name}, uv.Value()); err != nil {
			return err
		}
	}
	return nil
}
