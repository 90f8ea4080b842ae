// Semaphore and BoundedSemaphore: mp.Semaphore([value]) and
// mp.BoundedSemaphore([value]) on the arena's counting semaphore.

package luaapi

import (
	"fmt"
	"math"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	semTypeName        = "multiprocessing.Semaphore"
	boundedSemTypeName = "multiprocessing.BoundedSemaphore"
)

// semObj is the Go side of a Semaphore or BoundedSemaphore.
type semObj struct {
	arenaBase
	w       *World
	s       *runtime.Semaphore
	bounded bool
	max     int // the initial value: a bounded semaphore's bound
}

func (s *semObj) HandleType() string {
	if s.bounded {
		return "BoundedSemaphore"
	}
	return "Semaphore"
}

func (s *semObj) HandleData() []byte { return appendHandleInts(nil, s.s.Offset(), uint64(s.max)) }
func (s *semObj) offset() uint64     { return s.s.Offset() }
func (s *semObj) parts() []uint64    { return []uint64{s.s.Offset()} }

var semMethods = map[string]lua.LGFunction{
	"acquire":   semAcquire,
	"release":   semRelease,
	"get_value": semGetValue,
	"close":     semClose,
}

func (s *semObj) userdata() *lua.LUserData {
	name := semTypeName
	if s.bounded {
		name = boundedSemTypeName
	}
	return newArenaUserdata(s.w.L, name, s)
}

func decodeSemaphore(L *lua.LState, data []byte, bounded bool) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Semaphore"}
	if bounded {
		r.typ = "BoundedSemaphore"
	}
	off := r.uint()
	max := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	sem, err := a.SemaphoreFromHandle(off)
	if err != nil {
		return nil, r.bad(err)
	}
	s := &semObj{w: w, s: sem, bounded: bounded, max: int(max)}
	return s.userdata(), nil
}

var semaphoreParams = params{pos: []string{"value"}}

// newSemaphore is mp.Semaphore([value]) and mp.BoundedSemaphore([value]),
// value also as {value=}.
func newSemaphore(L *lua.LState, bounded bool) int {
	what := "Semaphore"
	if bounded {
		what = "BoundedSemaphore"
	}
	a := checkArena(L, what)
	var args [1]lua.LValue
	semaphoreParams.read(L, 1, what, args[:])
	v := args[0]
	value := 1
	switch x := v.(type) {
	case *lua.LNilType:
	case lua.LNumber:
		f := float64(x)
		if f != math.Trunc(f) || f < 0 || f > runtime.SemValueMax {
			Raise(L, "ValueError", "%s: got initial value %v, want an integer from 0 to %d", what, x, runtime.SemValueMax)
		}
		value = int(f)
	default:
		Raise(L, "TypeError", "%s: got a %s as initial value, want an integer", what, v.Type().String())
	}
	s, err := whenFull(func() (*runtime.Semaphore, error) {
		if bounded {
			return a.NewBoundedSemaphore(value)
		}
		return a.NewSemaphore(value)
	})
	if err != nil {
		raiseSync(L, err, what)
	}
	o := &semObj{w: worldOf(L), s: s, bounded: bounded, max: value}
	holdNew(L, o, what)
	L.Push(o.userdata())
	return 1
}

// checkSemaphore returns the Semaphore or BoundedSemaphore at n.
func checkSemaphore(L *lua.LState, n int) *semObj {
	return checkObject[*semObj](L, n, "multiprocessing.Semaphore or BoundedSemaphore")
}

// semAcquire is sem:acquire([block [, timeout]]) or {block=, timeout=}
// → boolean.
func semAcquire(L *lua.LState) int {
	s := checkSemaphore(L, 1)
	if s.closed {
		checkOpen(L, s, s.HandleType()+".acquire")
	}
	block, timeout := blockArgs(L, 2, s.HandleType()+".acquire")
	ok, err := s.s.Acquire(s.w.Context(), block, timeout)
	if err != nil {
		raiseSync(L, err, s.HandleType()+".acquire")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// semRelease is sem:release(); a BoundedSemaphore released more often than
// acquired raises ValueError.
func semRelease(L *lua.LState) int {
	s := checkSemaphore(L, 1)
	if s.closed {
		checkOpen(L, s, s.HandleType()+".release")
	}
	if err := s.s.Release(); err != nil {
		raiseSync(L, err, s.HandleType()+".release")
	}
	return 0
}

// semGetValue is sem:get_value().
func semGetValue(L *lua.LState) int {
	s := checkSemaphore(L, 1)
	checkOpen(L, s, s.HandleType()+".get_value")
	L.Push(lua.LNumber(s.s.Value()))
	return 1
}

// semClose is sem:close(): this handle is done with the semaphore, which
// is freed once no handle in any process holds it.
func semClose(L *lua.LState) int {
	closeArenaObject(checkSemaphore(L, 1))
	return 0
}

// semString is Python's repr: <Semaphore(value=2)>,
// <BoundedSemaphore(value=1, maxvalue=2)>.
func semString(L *lua.LState) int {
	s := checkSemaphore(L, 1)
	switch {
	case s.closed:
		L.Push(lua.LString(fmt.Sprintf("<%s closed>", s.HandleType())))
	case s.bounded:
		L.Push(lua.LString(fmt.Sprintf("<BoundedSemaphore(value=%d, maxvalue=%d)>", s.s.Value(), s.max)))
	default:
		L.Push(lua.LString(fmt.Sprintf("<Semaphore(value=%d)>", s.s.Value())))
	}
	return 1
}

// enter and exit make mp.with(sem, fn) acquire and release directly.
func (s *semObj) enter(L *lua.LState) {
	if s.closed {
		checkOpen(L, s, s.HandleType()+".acquire")
	}
	if _, err := s.s.Acquire(s.w.Context(), true, -1); err != nil {
		raiseSync(L, err, s.HandleType()+".acquire")
	}
}

func (s *semObj) exit(L *lua.LState) {
	if s.closed {
		checkOpen(L, s, s.HandleType()+".release")
	}
	if err := s.s.Release(); err != nil {
		raiseSync(L, err, s.HandleType()+".release")
	}
}
