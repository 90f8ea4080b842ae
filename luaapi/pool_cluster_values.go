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
// holds a procsh shared object a cluster worker cannot use (findHandles).
func checkCluster(w *World, v lua.LValue, root string) error {
	return findHandles(w, v, root, func(h Handle, path string) error {
		if clusterSendable[h.HandleType()] {
			return nil
		}
		return &SerializationError{Msg: fmt.Sprintf("cannot send a %s (%s) to a cluster worker: %s", h.HandleType(), path, clusterRefusal)}
	})
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
