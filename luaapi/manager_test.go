// Handles of a Manager and its containers from other processes: hostile
// ones are refused, good ones round-trip, and a value stored in a
// container keeps the references its handles need.

package luaapi

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// managerHandleTypes are the Manager's handle types: each data starts
// with an arena offset, a container's then names its Manager.
var managerHandleTypes = []string{"SyncManager", "DictProxy", "ListProxy", "NamespaceProxy"}

// TestDecodeHostileManagerHandles: a Manager or container handle naming
// no such object, or the wrong kind of container, or a container with
// another Manager than its own, is a decode error, never a panic.
func TestDecodeHostileManagerHandles(t *testing.T) {
	w := newArenaWorld(t)
	if err := w.Call(mustLoad(t, w, `local mp = require("multiprocessing")
		local m = mp.Manager()
		return {m, m:dict(), m:list(), m:Namespace(), mp.Lock(), mp.Manager()}`), 1); err != nil {
		t.Fatal(err)
	}
	objs := w.L.Get(-1).(*lua.LTable)
	w.L.Pop(1)
	off := func(i int) uint64 {
		return objs.RawGetInt(i).(*lua.LUserData).Value.(arenaObject).offset()
	}
	mgr, dict, list, ns, lock, other := off(1), off(2), off(3), off(4), off(5), off(6)
	var msgs [][]byte
	for _, typ := range managerHandleTypes {
		for _, o := range hostileOffsets(w.Arena) {
			msgs = append(msgs, handleMessage(typ, appendHandleInts(nil, o, mgr)))
			msgs = append(msgs, handleMessage(typ, appendHandleInts(nil, dict, o)))
		}
		msgs = append(msgs, handleMessage(typ, appendHandleInts(nil, lock, mgr)))
		msgs = append(msgs, handleMessage(typ, nil))
	}
	msgs = append(msgs,
		handleMessage("DictProxy", appendHandleInts(nil, list, mgr)),   // a list
		handleMessage("ListProxy", appendHandleInts(nil, dict, mgr)),   // a dict
		handleMessage("DictProxy", appendHandleInts(nil, ns, mgr)),     // a Namespace
		handleMessage("DictProxy", appendHandleInts(nil, dict, other)), // not its Manager
		handleMessage("SyncManager", appendHandleInts(nil, dict)),      // a container
	)
	for _, msg := range msgs {
		d, err := w.NewDecoder(msg)
		if err != nil {
			t.Fatalf("decode header of %q: %v", msg, err)
		}
		if v, err := d.Decode(); err == nil {
			t.Errorf("decode %q = %v, want an error", msg, v)
		}
	}
}

// TestManagerHandlesRoundTrip: a Manager and its containers sent in a
// message arrive as the same objects, and a Lock stored in a dict
// outlives every handle but the dict's.
func TestManagerHandlesRoundTrip(t *testing.T) {
	w := newArenaWorld(t)
	fn := mustLoad(t, w, `local mp = require("multiprocessing")
		local m = mp.Manager()
		local d, l, ns = m:dict(), m:list(), m:Namespace()
		local q = mp.Queue{ring_size = 1024}
		q:put({m, d, l, ns})
		local got = q:get(1)
		assert(got[1] == m and got[2] == d and got[3] == l and got[4] == ns)
		local lock = mp.Lock()
		d.lock = lock
		lock:close()
		got = nil
		collectgarbage()
		assert(d.lock:acquire(false))
		d.lock:release()
		m:shutdown()
		return true`)
	if err := w.Call(fn, 1); err != nil {
		t.Fatal(err)
	}
	if w.L.Get(-1) != lua.LTrue {
		t.Fatalf("the script returned %v, want true", w.L.Get(-1))
	}
}
