// Barrier: mp.Barrier(parties [, action [, timeout]]), with its action run
// by one waiting process per round.

package luaapi

import (
	"fmt"
	"math"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const barrierTypeName = "multiprocessing.Barrier"

// barrierObj is the Go side of a Barrier. The action and the default
// timeout never change, so they travel in the handle; the state lives in
// the arena.
type barrierObj struct {
	w       *World
	b       *runtime.Barrier
	action  lua.LValue    // nil when there is none
	timeout time.Duration // < 0: none
	arenaBase
}

// Handle data: offset, timeout (0: none, else nanoseconds + 1), then the
// action: 0 none, 1 and a codec message, or 2 and why it could not be sent.
const (
	barrierNoAction = iota
	barrierAction
	barrierUnsendable
)

func (b *barrierObj) HandleType() string { return "Barrier" }
func (b *barrierObj) offset() uint64     { return b.b.Offset() }
func (b *barrierObj) parts() []uint64    { return []uint64{b.b.Offset()} }

func (b *barrierObj) HandleData() []byte {
	t := uint64(0)
	if b.timeout >= 0 {
		t = uint64(b.timeout) + 1
	}
	data := appendHandleInts(nil, b.b.Offset(), t)
	if b.action == nil {
		return appendHandleInts(data, barrierNoAction)
	}
	e := b.w.NewEncoder()
	if err := e.EncodeLenient(b.action, "Barrier.action"); err != nil {
		return append(appendHandleInts(data, barrierUnsendable), err.Error()...)
	}
	return append(appendHandleInts(data, barrierAction), e.Bytes()...)
}

var barrierMethods = map[string]lua.LGFunction{
	"wait":  barrierWait,
	"reset": barrierReset,
	"abort": barrierAbort,
	"close": barrierClose,
}

func decodeBarrier(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Barrier"}
	off := r.uint()
	t := r.uint()
	kind := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	bar, err := a.BarrierFromHandle(off)
	if err != nil {
		return nil, r.bad(err)
	}
	b := &barrierObj{w: w, b: bar, timeout: time.Duration(t) - 1}
	switch kind {
	case barrierNoAction:
	case barrierAction:
		d, err := w.NewDecoder(r.rest())
		if err != nil {
			return nil, fmt.Errorf("decode: Barrier action: %w", err)
		}
		if b.action, err = d.Decode(); err != nil {
			return nil, fmt.Errorf("decode: Barrier action: %w", err)
		}
	case barrierUnsendable:
		msg := string(r.rest())
		b.action = L.NewFunction(func(L *lua.LState) int {
			Raise(L, "SerializationError", "%s", msg)
			return 0
		})
	default:
		return nil, fmt.Errorf("decode: bad Barrier handle")
	}
	return newArenaUserdata(L, barrierTypeName, b), nil
}

var barrierParams = params{pos: []string{"parties", "action", "timeout"}}

// mpBarrier is mp.Barrier(parties [, action [, timeout]]) or
// mp.Barrier{parties=, action=, timeout=}.
func mpBarrier(L *lua.LState) int {
	a := checkArena(L, "Barrier")
	var args [3]lua.LValue
	barrierParams.read(L, 1, "Barrier", args[:])
	pv, action, tv := args[0], args[1], args[2]
	pn, ok := pv.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "Barrier: got a %s as parties, want an integer", pv.Type().String())
	}
	if f := float64(pn); f != math.Trunc(f) || f < 1 || f > 1<<30 {
		Raise(L, "ValueError", "Barrier: got %v parties, want an integer of at least 1", pn)
	}
	b := &barrierObj{w: worldOf(L), timeout: toTimeout(L, tv, "Barrier: timeout")}
	if action != lua.LNil {
		if !isCallable(L, action) {
			Raise(L, "TypeError", "Barrier: got a %s as action, want a function", action.Type().String())
		}
		b.action = action
	}
	rb, err := whenFull(func() (*runtime.Barrier, error) { return a.NewBarrier(int(pn)) })
	if err != nil {
		raiseSync(L, err, "Barrier")
	}
	b.b = rb
	holdNew(L, b, "Barrier")
	L.Push(newArenaUserdata(L, barrierTypeName, b))
	return 1
}

// checkBarrier returns the Barrier at n, which must be open when what is
// not "".
func checkBarrier(L *lua.LState, n int, what string) *barrierObj {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if b, ok := ud.Value.(*barrierObj); ok {
			if what != "" && b.closed {
				checkOpen(L, b, "Barrier."+what)
			}
			return b
		}
	}
	argTypeError(L, n, "multiprocessing.Barrier")
	return nil
}

// barrierIndex serves the fields parties, n_waiting and broken.
func barrierIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	name := lua.LVAsString(key)
	if name != "parties" && name != "n_waiting" && name != "broken" {
		return nil, false
	}
	b := checkBarrier(L, 1, name)
	switch name {
	case "parties":
		return lua.LNumber(b.b.Parties()), true
	case "n_waiting":
		return lua.LNumber(b.b.NWaiting()), true
	case "broken":
		return lua.LBool(b.b.Broken()), true
	}
	return nil, false
}

// barrierWait is b:wait([timeout]) or b:wait{timeout=} → this process's
// index in the round, 0 … parties-1. A broken round, or a timeout, raises
// BrokenBarrierError; a failing action raises its error in the process
// that ran it.
func barrierWait(L *lua.LState) int {
	b := checkBarrier(L, 1, "wait")
	timeout := timeoutArg(L, 2, "Barrier.wait", b.timeout)
	var action func() error
	if b.action != nil {
		action = func() error { return b.w.Call(b.action, 0) }
	}
	idx, err := b.b.Wait(b.w.Context(), timeout, action)
	if err != nil {
		raiseSync(L, err, "Barrier.wait")
	}
	L.Push(lua.LNumber(idx))
	return 1
}

// barrierReset is b:reset(): the barrier is empty and unbroken again;
// processes waiting in the current round get BrokenBarrierError.
func barrierReset(L *lua.LState) int {
	b := checkBarrier(L, 1, "reset")
	b.b.Reset()
	return 0
}

// barrierAbort is b:abort(): the barrier is broken until reset.
func barrierAbort(L *lua.LState) int {
	b := checkBarrier(L, 1, "abort")
	b.b.Abort()
	return 0
}

// barrierClose is b:close(): this handle is done with the Barrier, which
// is freed once no handle in any process holds it.
func barrierClose(L *lua.LState) int {
	closeArenaObject(checkBarrier(L, 1, ""))
	return 0
}

func barrierString(L *lua.LState) int {
	b := checkBarrier(L, 1, "")
	if b.closed {
		L.Push(lua.LString("<Barrier closed>"))
		return 1
	}
	L.Push(lua.LString(fmt.Sprintf("<Barrier parties=%d n_waiting=%d broken=%t>", b.b.Parties(), b.b.NWaiting(), b.b.Broken())))
	return 1
}
