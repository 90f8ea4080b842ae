// Condition: mp.Condition([lock]), a lock and a condition variable.

package luaapi

import (
	"errors"
	"fmt"
	"math"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const conditionTypeName = "multiprocessing.Condition"

// condObj is the Go side of a Condition.
type condObj struct {
	arenaBase
	w *World
	c *runtime.Condition
}

func (c *condObj) HandleType() string { return "Condition" }
func (c *condObj) HandleData() []byte { return appendHandleInts(nil, c.c.Offset()) }
func (c *condObj) offset() uint64     { return c.c.Offset() }

// parts: the Condition and its lock, which each handle keeps alive (a
// Lock given to mp.Condition may be closed by its own handle meanwhile).
func (c *condObj) parts() []uint64 { return []uint64{c.c.Offset(), c.c.Lock().Offset()} }

var conditionMethods = map[string]lua.LGFunction{
	"acquire":    conditionAcquire,
	"release":    conditionRelease,
	"wait":       conditionWait,
	"wait_for":   conditionWaitFor,
	"notify":     conditionNotify,
	"notify_all": conditionNotifyAll,
	"close":      conditionClose,
}

func decodeCondition(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Condition"}
	off := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	c, err := a.ConditionFromHandle(off)
	if err != nil {
		return nil, r.bad(err)
	}
	return newArenaUserdata(L, conditionTypeName, &condObj{w: w, c: c}), nil
}

var (
	conditionParams = params{pos: []string{"lock"}}
	notifyParams    = params{pos: []string{"n"}}
)

// mpCondition is mp.Condition([lock]) or mp.Condition{lock=}: on the
// given Lock or RLock, else on a new RLock.
func mpCondition(L *lua.LState) int {
	a := checkArena(L, "Condition")
	var args [1]lua.LValue
	conditionParams.read(L, 1, "Condition", args[:])
	v := args[0]
	var lock runtime.CondLock
	if v != lua.LNil {
		l, ok := toLock(v)
		if !ok {
			Raise(L, "TypeError", "Condition: got a %s as lock, want a Lock or an RLock", v.Type().String())
		}
		checkOpen(L, l, "Condition")
		lock = l.lock
	}
	c, err := whenFull(func() (*runtime.Condition, error) { return a.NewCondition(lock) })
	if err != nil {
		raiseSync(L, err, "Condition")
	}
	o := &condObj{w: worldOf(L), c: c}
	holdNew(L, o, "Condition")
	L.Push(newArenaUserdata(L, conditionTypeName, o))
	return 1
}

// checkCondition returns the Condition at n, which must be open.
func checkCondition(L *lua.LState, n int, what string) *condObj {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*condObj); ok {
			if what != "" && c.closed {
				checkOpen(L, c, "Condition."+what)
			}
			return c
		}
	}
	argTypeError(L, n, "multiprocessing.Condition")
	return nil
}

// conditionAcquire is cond:acquire([block [, timeout]]) → boolean.
func conditionAcquire(L *lua.LState) int {
	c := checkCondition(L, 1, "acquire")
	block, timeout := blockArgs(L, 2, "Condition.acquire")
	ok, err := c.c.Acquire(c.w.Context(), block, timeout)
	if err != nil {
		raiseSync(L, err, "Condition.acquire")
	}
	L.Push(lua.LBool(ok))
	return 1
}

func conditionRelease(L *lua.LState) int {
	c := checkCondition(L, 1, "release")
	if err := c.c.Release(); err != nil {
		raiseSync(L, err, "Condition.release")
	}
	return 0
}

// raiseNotOwner raises Python's AssertionError for wait or notify on a
// Condition this process has not acquired; other errors as raiseSync.
func raiseConditionError(L *lua.LState, err error, method string) {
	if errors.Is(err, runtime.ErrNotOwner) {
		Raise(L, "AssertionError", "Condition.%s: the condition's lock is not held by this process, want cond:acquire() first", method)
	}
	raiseSync(L, err, "Condition."+method)
}

// conditionWait is cond:wait([timeout]) or cond:wait{timeout=} → whether
// it was notified (false: timed out).
func conditionWait(L *lua.LState) int {
	c := checkCondition(L, 1, "wait")
	timeout := timeoutArg(L, 2, "Condition.wait", -1)
	woken, err := c.c.Wait(c.w.Context(), timeout)
	if err != nil {
		raiseConditionError(L, err, "wait")
	}
	L.Push(lua.LBool(woken))
	return 1
}

// conditionWaitFor is cond:wait_for(predicate [, timeout]): waits until
// predicate() is true or the timeout has run out, and returns the
// predicate's last value (Python's loop: the remaining time is
// recomputed before each wait).
func conditionWaitFor(L *lua.LState) int {
	c := checkCondition(L, 1, "wait_for")
	pred := L.Get(2)
	if !isCallable(L, pred) {
		Raise(L, "TypeError", "Condition.wait_for: got a %s as predicate, want a function", pred.Type().String())
	}
	timeout := timeoutArg(L, 3, "Condition.wait_for", -1)
	call := func() lua.LValue {
		L.Push(pred)
		L.Call(0, 1)
		v := L.Get(-1)
		L.Pop(1)
		return v
	}
	result := call()
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for !lua.LVAsBool(result) {
		wait := time.Duration(-1)
		if timeout >= 0 {
			wait = time.Until(deadline)
			if wait <= 0 {
				break
			}
		}
		if _, err := c.c.Wait(c.w.Context(), wait); err != nil {
			raiseConditionError(L, err, "wait_for")
		}
		result = call()
	}
	L.Push(result)
	return 1
}

// conditionNotify is cond:notify([n]) or cond:notify{n=}: wakes at most
// n waiters (default 1).
func conditionNotify(L *lua.LState) int {
	c := checkCondition(L, 1, "notify")
	n := 1
	var args [1]lua.LValue
	notifyParams.read(L, 2, "Condition.notify", args[:])
	switch v := args[0].(type) {
	case *lua.LNilType:
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || f < 0 {
			Raise(L, "ValueError", "Condition.notify: got n = %v, want 0 or more", v)
		}
		n = int(min(f, math.MaxInt32))
	default:
		Raise(L, "TypeError", "Condition.notify: got a %s as n, want a number", v.Type().String())
	}
	if _, err := c.c.Notify(n); err != nil {
		raiseConditionError(L, err, "notify")
	}
	return 0
}

func conditionNotifyAll(L *lua.LState) int {
	c := checkCondition(L, 1, "notify_all")
	if _, err := c.c.NotifyAll(); err != nil {
		raiseConditionError(L, err, "notify_all")
	}
	return 0
}

// conditionClose is cond:close(): this handle is done with the Condition
// and its lock, each freed once no handle in any process holds it.
func conditionClose(L *lua.LState) int {
	closeArenaObject(checkCondition(L, 1, ""))
	return 0
}

// conditionString is Python's repr without the waiter count:
// <Condition(<RLock(None, 0)>)>.
func conditionString(L *lua.LState) int {
	c := checkCondition(L, 1, "")
	if c.closed {
		L.Push(lua.LString("<Condition closed>"))
		return 1
	}
	l := &lockObj{w: c.w, lock: c.c.Lock()}
	_, l.rlock = l.lock.(*runtime.RLock)
	L.Push(lua.LString(fmt.Sprintf("<Condition(%s)>", l.repr())))
	return 1
}

// enter and exit make mp.with(cond, fn) acquire and release its lock.
func (c *condObj) enter(L *lua.LState) {
	if c.closed {
		checkOpen(L, c, "Condition.acquire")
	}
	if _, err := c.c.Acquire(c.w.Context(), true, -1); err != nil {
		raiseSync(L, err, "Condition.acquire")
	}
}

func (c *condObj) exit(L *lua.LState) {
	if c.closed {
		checkOpen(L, c, "Condition.release")
	}
	if err := c.c.Release(); err != nil {
		raiseSync(L, err, "Condition.release")
	}
}
