//go:build cluster

// What crosses to a cluster worker: every value the codec sends except
// procsh's shared objects. A Lock, a Queue or a Value is an offset in
// this tree's arena; a cluster worker runs in a tree of its own, on
// this host or another, where that offset names nothing or something
// else. So the pool looks for them before encoding (a handle's encoding
// is not free of effects: a Pipe's end counts as held while in flight),
// globals holding them are replaced by placeholders that raise when a
// worker uses them, and a result holding one is refused on arrival.

package luaapi

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// clusterSendable are the handles that mean the same in any process
// tree: a logger is a name and a level, mp.cluster's objects are names
// on the server.
var clusterSendable = map[string]bool{"Logger": true, "ClusterLock": true, "ClusterValue": true, "ClusterQueue": true}

// clusterRefusal says why a handle cannot go to a cluster worker.
const clusterRefusal = "cluster workers run in process trees of their own, on this host or others, which do not share this one's shared memory; send plain values, and share state through the cluster's own objects (mp.cluster.connect(pool):Lock(name), :Value, :Queue)"

// checkCluster says, as a SerializationError naming its path, whether v
// holds a procsh shared object anywhere the encoder would go: table keys,
// values and metatables, functions' environments and upvalues, the
// fields a script added to a built-in table.
func checkCluster(w *World, v lua.LValue, root string) error {
	switch v.(type) {
	case *lua.LTable, *lua.LFunction, *lua.LUserData:
	default:
		return nil
	}
	c := clusterCheck{w: w, seen: map[lua.LValue]bool{}, path: []pathSeg{{name: root}}}
	return c.value(v)
}

type clusterCheck struct {
	w    *World
	seen map[lua.LValue]bool
	path []pathSeg
}

func (c *clusterCheck) value(v lua.LValue) error {
	switch x := v.(type) {
	case *lua.LTable:
		return c.table(x)
	case *lua.LFunction:
		return c.function(x)
	case *lua.LUserData:
		if _, ok := c.w.builtins.name(x); ok {
			return nil
		}
		if h, ok := x.Value.(Handle); ok && !clusterSendable[h.HandleType()] {
			path := (&Encoder{path: c.path}).pathString()
			return &SerializationError{Msg: fmt.Sprintf("cannot send a %s (%s) to a cluster worker: %s", h.HandleType(), path, clusterRefusal)}
		}
	}
	return nil
}

// within checks v as the step seg of the path.
func (c *clusterCheck) within(seg pathSeg, v lua.LValue) error {
	c.path = append(c.path, seg)
	err := c.value(v)
	c.path = c.path[:len(c.path)-1]
	return err
}

func (c *clusterCheck) table(t *lua.LTable) error {
	if c.seen[t] {
		return nil
	}
	c.seen[t] = true
	_, builtin := c.w.builtins.name(t)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if _, ok := c.w.builtins.name(v); builtin && ok {
			return // a built-in's own field, sent by name
		}
		if err = c.within(pathSeg{key: k}, k); err == nil {
			err = c.within(pathSeg{key: k}, v)
		}
	})
	if err != nil || builtin || t.Metatable == nil {
		return err
	}
	return c.within(pathSeg{name: "<metatable>"}, t.Metatable)
}

func (c *clusterCheck) function(fn *lua.LFunction) error {
	if _, ok := c.w.builtins.name(fn); ok || fn.IsG || c.seen[fn] {
		return nil
	}
	c.seen[fn] = true
	if fn.Env != c.w.L.G.Global {
		if err := c.within(pathSeg{name: "<environment>"}, fn.Env); err != nil {
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
		if err := c.within(pathSeg{name: name}, uv.Value()); err != nil {
			return err
		}
	}
	return nil
}

// checkClusterArgs raises SerializationError when an argument of a
// Pool method that sends values (see clusterSends) holds a shared
// object: the function, the list's items, apply's arguments. Callbacks
// and options stay here and are not looked at. An items function (imap)
// is wrapped so that each item it gives is looked at.
func checkClusterArgs(L *lua.LState, p *pool, method string) {
	w := p.w
	check := func(v lua.LValue, root string) {
		if err := checkCluster(w, v, root); err != nil {
			raiseSend(L, err)
		}
	}
	check(L.Get(2), "function")
	if strings.HasPrefix(method, "apply") {
		args := L.Get(3)
		if t := plainTable(args); t != nil && len(namedKeys(t)) > 0 && t.RawGetInt(1) == lua.LNil {
			args = t.RawGetString("args") // the options form
		}
		check(args, "args")
		return
	}
	switch items := L.Get(3).(type) {
	case *lua.LTable:
		n := items.Len()
		for i := 1; i <= n; i++ {
			check(items.RawGetInt(i), fmt.Sprintf("list[%d]", i))
		}
	case *lua.LFunction:
		n := 0
		L.Replace(3, L.NewFunction(func(L *lua.LState) int {
			L.Push(items)
			L.Call(0, 1)
			n++
			check(L.Get(-1), fmt.Sprintf("item %d", n))
			return 1
		}))
	}
}

// clusterSends are the Pool methods whose arguments go to the workers.
var clusterSends = []string{"map", "starmap", "map_async", "starmap_async", "imap", "imap_unordered", "apply", "apply_async"}

// clusterCheckedMethods wraps the sending methods of Pool so that a
// cluster pool looks at their arguments first; a local pool's calls go
// straight through.
func clusterCheckedMethods() {
	for _, name := range clusterSends {
		f, method := poolMethods[name], name
		poolMethods[name] = func(L *lua.LState) int {
			if p := checkPool(L, 1); p.cluster != nil {
				checkClusterArgs(L, p, method)
			}
			return f(L)
		}
	}
}

// placeholderSource makes the stand-in of a global that holds a shared
// object: any use raises the message it is made with.
const placeholderSource = `local msg = ...
local function raise() error(msg, 2) end
return setmetatable({}, {__index = raise, __newindex = raise, __call = raise,
  __tostring = function() return "<not sent to cluster workers>" end})`

// clusterGlobals replaces, in L's globals, each global holding a shared
// object by a placeholder, and returns the function that puts them back.
// Encoded meanwhile, the globals reach cluster workers without them.
func clusterGlobals(L *lua.LState, w *World) (restore func(), err error) {
	g := L.G.Global
	type saved struct{ k, v lua.LValue }
	var put []saved
	restore = func() {
		for _, s := range put {
			g.RawSet(s.k, s.v)
		}
	}
	var mk *lua.LFunction
	var ferr error
	g.ForEach(func(k, v lua.LValue) {
		if ferr != nil {
			return
		}
		name, ok := k.(lua.LString)
		if !ok {
			return
		}
		cerr := checkCluster(w, v, "globals."+string(name))
		if cerr == nil {
			return
		}
		if mk == nil {
			if mk, ferr = L.Load(strings.NewReader(placeholderSource), "=(cluster placeholder)"); ferr != nil {
				return
			}
		}
		L.Push(mk)
		L.Push(lua.LString(fmt.Sprintf("SerializationError: global '%s' was not sent to this cluster worker: %v", name, cerr)))
		L.Call(1, 1)
		put = append(put, saved{k, v})
		g.RawSet(k, L.Get(-1))
		L.Pop(1)
	})
	if ferr != nil {
		restore()
		return nil, ferr
	}
	return restore, nil
}

// checkClusterResult reads a result frame from a cluster worker as onResult
// will, refusing shared objects (they would name this tree's arena), and
// returns it, or when it holds one or cannot be read, a frame that fails
// each of the task's items with a SerializationError saying why.
func checkClusterResult(w *World, t *poolTask, frame []byte) []byte {
	if len(frame) < 2 || frame[0] != 'R' {
		return clusterFailFrame(w, t, "a cluster worker sent a result that is not one")
	}
	if frame[1] != valuesCodec {
		return frame
	}
	foreignDecoding.Store(w.L.G, true)
	defer foreignDecoding.Delete(w.L.G)
	d, err := w.NewDecoder(frame[2:])
	if err == nil {
		var nv lua.LValue
		if nv, err = d.Decode(); err == nil {
			nerr, _ := nv.(lua.LNumber)
			for i := 0; i < 4*int(nerr)+t.count && err == nil; i++ {
				_, err = d.Decode()
			}
		}
	}
	if err != nil {
		return clusterFailFrame(w, t, fmt.Sprintf("%s: could not take the result from a cluster worker: %v (a result holding a shared object cannot come back from another process tree)", t.call.what, err))
	}
	return frame
}

// clusterFailFrame makes a result frame failing each of t's items with a
// SerializationError saying msg (see encodeResults).
func clusterFailFrame(w *World, t *poolTask, msg string) []byte {
	L := w.L
	e := w.NewEncoder()
	e.Encode(lua.LNumber(t.count), "errors")
	for i := 1; i <= t.count; i++ {
		err := L.NewTable()
		err.RawSetString("type", lua.LString("SerializationError"))
		err.RawSetString("message", lua.LString(msg))
		e.Encode(lua.LNumber(i), "errors")
		e.Encode(err, "error")
		e.Encode(lua.LString(""), "traceback")
		e.Encode(lua.LTrue, "errors")
	}
	for i := 0; i < t.count; i++ {
		e.Encode(lua.LNil, "result")
	}
	return append([]byte{'R', valuesCodec}, e.Bytes()...)
}
