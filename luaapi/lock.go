// Lock and RLock: mp.Lock() and mp.RLock(), the arena's locks as Lua
// objects.

package luaapi

import (
	"fmt"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	lockTypeName  = "multiprocessing.Lock"
	rlockTypeName = "multiprocessing.RLock"
)

// lockObj is the Go side of a Lock or an RLock.
type lockObj struct {
	arenaBase
	w     *World
	rlock bool
	lock  runtime.CondLock // *runtime.Lock or *runtime.RLock
}

func (l *lockObj) HandleType() string {
	if l.rlock {
		return "RLock"
	}
	return "Lock"
}

func (l *lockObj) HandleData() []byte { return appendHandleInts(nil, l.lock.Offset()) }
func (l *lockObj) offset() uint64     { return l.lock.Offset() }
func (l *lockObj) parts() []uint64    { return []uint64{l.lock.Offset()} }

var lockMethods = map[string]lua.LGFunction{
	"acquire": lockAcquire,
	"release": lockRelease,
	"locked":  lockLocked,
	"close":   lockClose,
}

// lockAt wraps the lock at off in a userdata of its type, which holds no
// references yet.
func lockAt(w *World, off uint64, rlock bool) *lua.LUserData {
	l := &lockObj{w: w, rlock: rlock}
	if rlock {
		l.lock = w.Arena.RLockAt(off)
	} else {
		l.lock = w.Arena.LockAt(off)
	}
	return l.userdata()
}

func (l *lockObj) userdata() *lua.LUserData {
	name := lockTypeName
	if l.rlock {
		name = rlockTypeName
	}
	return newArenaUserdata(l.w.L, name, l)
}

func decodeLock(L *lua.LState, data []byte, rlock bool) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Lock"}
	if rlock {
		r.typ = "RLock"
	}
	off := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	if err := a.CheckLock(off, rlock); err != nil {
		return nil, r.bad(err)
	}
	return lockAt(w, off, rlock), nil
}

// mpLock is mp.Lock().
func mpLock(L *lua.LState) int {
	noArgs(L, 1, "Lock")
	a := checkArena(L, "Lock")
	lk, err := whenFull(a.NewLock)
	if err != nil {
		raiseSync(L, err, "Lock")
	}
	l := &lockObj{w: worldOf(L), lock: lk}
	holdNew(L, l, "Lock")
	L.Push(l.userdata())
	return 1
}

// mpRLock is mp.RLock().
func mpRLock(L *lua.LState) int {
	noArgs(L, 1, "RLock")
	a := checkArena(L, "RLock")
	lk, err := whenFull(a.NewRLock)
	if err != nil {
		raiseSync(L, err, "RLock")
	}
	l := &lockObj{w: worldOf(L), rlock: true, lock: lk}
	holdNew(L, l, "RLock")
	L.Push(l.userdata())
	return 1
}

// toLock returns the Lock or RLock v is, if it is one.
func toLock(v lua.LValue) (*lockObj, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		l, ok := ud.Value.(*lockObj)
		return l, ok
	}
	return nil, false
}

// checkLock returns the Lock or RLock at n.
func checkLock(L *lua.LState, n int) *lockObj {
	return checkObject[*lockObj](L, n, "multiprocessing.Lock or RLock")
}

// name is the Python class name, for messages.
func (l *lockObj) name() string { return l.HandleType() }

// what returns the name of method for messages, without building a string
// on the fast path.
func (l *lockObj) what(lock, rlock string) string {
	if l.rlock {
		return rlock
	}
	return lock
}

// lockAcquire is lock:acquire([block [, timeout]]) or
// lock:acquire{block=, timeout=} → boolean.
func lockAcquire(L *lua.LState) int {
	l := checkLock(L, 1)
	if l.closed {
		checkOpen(L, l, l.name()+".acquire")
	}
	block, timeout := blockArgs(L, 2, l.what("Lock.acquire", "RLock.acquire"))
	ok, err := l.lock.Acquire(l.w.Context(), block, timeout)
	if err != nil {
		raiseSync(L, err, l.name()+".acquire")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// lockRelease is lock:release(): ValueError when a Lock is not held,
// AssertionError when an RLock is not held by this process.
func lockRelease(L *lua.LState) int {
	l := checkLock(L, 1)
	if l.closed {
		checkOpen(L, l, l.name()+".release")
	}
	if err := l.lock.Release(); err != nil {
		raiseSync(L, err, l.name()+".release")
	}
	return 0
}

// lockLocked is lock:locked(): whether some process holds it.
func lockLocked(L *lua.LState) int {
	l := checkLock(L, 1)
	checkOpen(L, l, l.name()+".locked")
	L.Push(lua.LBool(l.owner() != 0))
	return 1
}

// lockClose is lock:close(): this handle is done with the lock, which is
// freed once no handle in any process holds it.
func lockClose(L *lua.LState) int {
	closeArenaObject(checkLock(L, 1))
	return 0
}

// owner is the pid of the holder, or 0.
func (l *lockObj) owner() int {
	switch x := l.lock.(type) {
	case *runtime.Lock:
		return x.Owner()
	case *runtime.RLock:
		return x.Owner()
	}
	return 0
}

// repr is Python's: <Lock(owner=None)>, <RLock(MainProcess, 2)>.
func (l *lockObj) repr() string {
	if l.closed {
		return fmt.Sprintf("<%s closed>", l.name())
	}
	owner := l.owner()
	who := "None"
	switch {
	case owner == 0:
	case owner == l.w.Self.Pid:
		who = l.w.Self.Name
	default:
		who = ownerName(l.w.Arena, owner)
	}
	if !l.rlock {
		return fmt.Sprintf("<Lock(owner=%s)>", who)
	}
	count := "0"
	if owner != 0 {
		count = "nonzero"
		if owner == l.w.Self.Pid {
			count = fmt.Sprint(l.lock.(*runtime.RLock).Count())
		}
	}
	return fmt.Sprintf("<RLock(%s, %s)>", who, count)
}

func lockString(L *lua.LState) int {
	L.Push(lua.LString(checkLock(L, 1).repr()))
	return 1
}

// enter and exit make mp.with(lock, fn) acquire and release directly.
func (l *lockObj) enter(L *lua.LState) {
	if l.closed {
		checkOpen(L, l, l.name()+".acquire")
	}
	if _, err := l.lock.Acquire(l.w.Context(), true, -1); err != nil {
		raiseSync(L, err, l.name()+".acquire")
	}
}

func (l *lockObj) exit(L *lua.LState) {
	if l.closed {
		checkOpen(L, l, l.name()+".release")
	}
	if err := l.lock.Release(); err != nil {
		raiseSync(L, err, l.name()+".release")
	}
}
