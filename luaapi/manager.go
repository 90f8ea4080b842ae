// SyncManager: mp.Manager(), the maker of shared dicts, lists and
// Namespaces (manager_dict.go, manager_list.go, manager_namespace.go)
// and of the usual synchronisation objects.

package luaapi

import (
	"fmt"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const managerTypeName = "multiprocessing.SyncManager"

// managerObj is the Go side of a SyncManager: the runtime.Manager in the
// arena, and whether this process made it (its end shuts it down, as
// Python's Manager is shut down when the program that started it ends).
//
// Python's Manager() starts a server process that owns the containers;
// procsh keeps them in the arena, and the Manager only says whether they
// may still be used (see runtime.Manager and docs/internals.md).
type managerObj struct {
	arenaBase
	w     *World
	m     *runtime.Manager
	owner bool
}

func (m *managerObj) HandleType() string { return "SyncManager" }
func (m *managerObj) HandleData() []byte { return appendHandleInts(nil, m.m.Offset()) }
func (m *managerObj) offset() uint64     { return m.m.Offset() }
func (m *managerObj) parts() []uint64    { return []uint64{m.m.Offset()} }

var managerMethods = map[string]lua.LGFunction{
	"dict":      managerDict,
	"list":      managerList,
	"Namespace": managerNamespace,
	"start":     managerStart,
	"shutdown":  managerShutdown,

	// The usual objects, made as mp's functions make them.
	"Lock":             managerMake("Lock"),
	"RLock":            managerMake("RLock"),
	"Semaphore":        managerMake("Semaphore"),
	"BoundedSemaphore": managerMake("BoundedSemaphore"),
	"Event":            managerMake("Event"),
	"Condition":        managerMake("Condition"),
	"Barrier":          managerMake("Barrier"),
	"Queue":            managerMake("Queue"),
	"JoinableQueue":    managerMake("JoinableQueue"),
	"Value":            managerMake("Value"),
	"Array":            managerMake("Array"),
	"Pool":             managerMake("Pool"),
}

// mpManager is mp.Manager(): a started SyncManager.
func mpManager(L *lua.LState) int {
	noArgs(L, 1, "Manager")
	a := checkArena(L, "Manager")
	rm, err := whenFull(a.NewManager)
	if err != nil {
		raiseSync(L, err, "Manager")
	}
	w := worldOf(L)
	m := &managerObj{w: w, m: rm, owner: true}
	holdNew(L, m, "Manager")
	w.pools = append(w.pools, m)
	L.Push(newArenaUserdata(L, managerTypeName, m))
	return 1
}

func decodeManager(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "SyncManager"}
	off := r.uint()
	a := r.arena(w)
	if r.err != nil {
		return nil, r.err
	}
	rm, err := a.ManagerAt(off)
	if err != nil {
		return nil, r.bad(err)
	}
	return newArenaUserdata(L, managerTypeName, &managerObj{w: w, m: rm}), nil
}

// checkManager returns the SyncManager at n.
func checkManager(L *lua.LState, n int) *managerObj {
	return checkObject[*managerObj](L, n, managerTypeName)
}

// running returns the SyncManager at 1, raising ProcessError, as Python
// does, when it has been shut down.
func runningManager(L *lua.LState, what string) *managerObj {
	m := checkManager(L, 1)
	if !m.m.Running() {
		Raise(L, "ProcessError", "SyncManager.%s: the manager has been shut down", what)
	}
	return m
}

// managerMake is m:Lock(…) and the others: mp's function of that name,
// called with the arguments after the manager. They are the usual
// objects, not proxies: they outlive the manager's shutdown.
func managerMake(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		runningManager(L, name)
		L.Remove(1)
		return mpFunctions[name](L)
	}
}

// managerStart is m:start(): Python's, which raises on a manager that
// mp.Manager() has started already.
func managerStart(L *lua.LState) int {
	m := checkManager(L, 1)
	if m.m.Running() {
		Raise(L, "ProcessError", "SyncManager.start: the manager is already started")
	}
	Raise(L, "ProcessError", "SyncManager.start: the manager has been shut down")
	return 0
}

// managerShutdown is m:shutdown(): every container the manager made is
// emptied and refuses further use; calling it again does nothing.
func managerShutdown(L *lua.LState) int {
	m := checkManager(L, 1)
	if err := m.m.Shutdown(m.w.Context()); err != nil {
		raiseSync(L, err, "SyncManager.shutdown")
	}
	m.forget()
	return 0
}

// shutdown is the end of the program that made the manager
// (World.Shutdown).
func (m *managerObj) shutdown() {
	m.m.Shutdown(nil)
}

// forget drops the manager from what the end of the program shuts down.
func (m *managerObj) forget() {
	w := m.w
	for i, c := range w.pools {
		if c == closer(m) {
			w.pools = append(w.pools[:i], w.pools[i+1:]...)
			return
		}
	}
}

// enter and exit make mp.with(m, fn) Python's `with Manager() as m:`.
func (m *managerObj) enter(L *lua.LState) {
	if !m.m.Running() {
		Raise(L, "ProcessError", "SyncManager: the manager has been shut down")
	}
}

func (m *managerObj) exit(L *lua.LState) {
	if err := m.m.Shutdown(m.w.Context()); err != nil {
		raiseSync(L, err, "SyncManager.shutdown")
	}
	m.forget()
}

func managerString(L *lua.LState) int {
	m := checkManager(L, 1)
	state := "started"
	if !m.m.Running() {
		state = "shut down"
	}
	L.Push(lua.LString(fmt.Sprintf("<SyncManager %s>", state)))
	return 1
}

// newContainer wraps a container the manager m just made in a userdata
// of the kind's type holding its references. The runtime made the
// container with a reference for its maker, which keeps it from the
// registry's sweep until the handle holds its own.
func newContainer(L *lua.LState, m *managerObj, kind runtime.ContainerKind, dict *runtime.Dict, list *runtime.List) *containerObj {
	c := &containerObj{w: m.w, kind: kind, mgr: m.m.Offset(), dict: dict, list: list}
	if dict != nil {
		c.off = dict.Offset()
	} else {
		c.off = list.Offset()
	}
	defer m.w.Arena.Release(c.off)
	holdNew(L, c, "SyncManager."+c.maker())
	return c
}
