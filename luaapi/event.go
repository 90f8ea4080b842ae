// Event: mp.Event(), a flag processes wait to see set.

package luaapi

import (
	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const eventTypeName = "multiprocessing.Event"

// eventObj is the Go side of an Event.
type eventObj struct {
	arenaBase
	w *World
	e *runtime.Event
}

func (e *eventObj) HandleType() string { return "Event" }
func (e *eventObj) HandleData() []byte { return appendHandleInts(nil, e.e.Offset()) }
func (e *eventObj) offset() uint64     { return e.e.Offset() }
func (e *eventObj) parts() []uint64    { return []uint64{e.e.Offset()} }

var eventMethods = map[string]lua.LGFunction{
	"set":    eventSet,
	"clear":  eventClear,
	"is_set": eventIsSet,
	"wait":   eventWait,
	"close":  eventClose,
}

func decodeEvent(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Event"}
	off := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	e, err := a.EventFromHandle(off)
	if err != nil {
		return nil, r.bad(err)
	}
	return newArenaUserdata(L, eventTypeName, &eventObj{w: w, e: e}), nil
}

// mpEvent is mp.Event().
func mpEvent(L *lua.LState) int {
	noArgs(L, 1, "Event")
	a := checkArena(L, "Event")
	e, err := whenFull(a.NewEvent)
	if err != nil {
		raiseSync(L, err, "Event")
	}
	o := &eventObj{w: worldOf(L), e: e}
	holdNew(L, o, "Event")
	L.Push(newArenaUserdata(L, eventTypeName, o))
	return 1
}

// checkEvent returns the Event at n.
func checkEvent(L *lua.LState, n int) *eventObj {
	return checkObject[*eventObj](L, n, "multiprocessing.Event")
}

func eventSet(L *lua.LState) int {
	e := checkEvent(L, 1)
	checkOpen(L, e, "Event.set")
	e.e.Set()
	return 0
}

func eventClear(L *lua.LState) int {
	e := checkEvent(L, 1)
	checkOpen(L, e, "Event.clear")
	e.e.Clear()
	return 0
}

func eventIsSet(L *lua.LState) int {
	e := checkEvent(L, 1)
	checkOpen(L, e, "Event.is_set")
	L.Push(lua.LBool(e.e.IsSet()))
	return 1
}

// eventWait is ev:wait([timeout]) or ev:wait{timeout=} → whether the flag
// was set.
func eventWait(L *lua.LState) int {
	e := checkEvent(L, 1)
	checkOpen(L, e, "Event.wait")
	timeout := timeoutArg(L, 2, "Event.wait", -1)
	ok, err := e.e.Wait(e.w.Context(), timeout)
	if err != nil {
		raiseSync(L, err, "Event.wait")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// eventClose is ev:close(): this handle is done with the Event, which is
// freed once no handle in any process holds it.
func eventClose(L *lua.LState) int {
	closeArenaObject(checkEvent(L, 1))
	return 0
}

// eventString is <Event(set)> or <Event(unset)>, as Python 3.13's repr.
func eventString(L *lua.LState) int {
	e := checkEvent(L, 1)
	switch {
	case e.closed:
		L.Push(lua.LString("<Event closed>"))
	case e.e.IsSet():
		L.Push(lua.LString("<Event(set)>"))
	default:
		L.Push(lua.LString("<Event(unset)>"))
	}
	return 1
}
