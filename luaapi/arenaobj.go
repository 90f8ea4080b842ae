// What every shared object in the arena has in common on the Lua side:
// its handle, equality, closing and the mapping of runtime errors.

package luaapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// arenaObject is the Go side of a userdata that lives in the arena (a
// Lock, a Barrier, a Value…). Two userdata are the same object when their
// handle types and offsets agree, whichever way each reached this process.
type arenaObject interface {
	refObject
	offset() uint64
}

// refObject is the Go side of a userdata that holds references to shared
// objects: every arenaObject, and a Connection.
//
// References (see runtime/refs.go). Each userdata holds a reference on
// every allocation its object is made of (parts): a Condition on its own
// and its lock's, a Value on its elements' and its lock's, a Connection
// on its rings'. It takes them when it is made (holdNew), when a handle
// is decoded (adoptRefs: it takes over the references the message
// carried), or when a userdata is made for a part (a Value's get_lock).
// It drops them on close() or, when no Lua value reaches it any more, in
// a cleanup the Go runtime runs after a garbage collection
// (collectgarbage() starts one); a process that dies drops them all.
// The memory is freed when the last reference in any process goes, so
// a handle never reads freed memory: after close() every method and field
// raises ValueError.
//
// A handle in a message holds transfer references, taken by the encoder
// (transferRefs) and adopted by the decoder; a message that is never
// decoded leaks them. A message decoded more than once (a pool's start
// message and task functions) is kept by its sender (keepRefs) and its
// receivers take references of their own (World.keepDecoded).
type refObject interface {
	Handle
	base() *arenaBase
	// parts are the allocations the handle holds references on; none
	// for a closed Connection.
	parts() []uint64
}

// arenaBase is embedded in the Go value of every refObject: whether this
// userdata was closed, and the references it holds.
type arenaBase struct {
	closed bool
	refs   *heldRefs
}

func (b *arenaBase) base() *arenaBase { return b }

// heldRefs are one userdata's references. They are apart from the object
// so that the cleanup of the object can reach them; release is safe from
// any goroutine and releases once.
type heldRefs struct {
	a    *runtime.Arena
	offs []uint64
	done atomic.Bool
}

func (h *heldRefs) release() {
	if h != nil && h.done.CompareAndSwap(false, true) {
		for _, off := range h.offs {
			h.a.Unhold(off)
		}
	}
}

// holdRefs gives o its references: adopted from a message when adopt is
// set, else new ones. On failure it holds none.
func holdRefs(w *World, o refObject, adopt bool) error {
	if w.Arena == nil {
		return fmt.Errorf("%s: this process has no shared-memory arena", o.HandleType())
	}
	parts := o.parts()
	for i, off := range parts {
		var err error
		if adopt {
			err = w.Arena.Adopt(off)
		} else {
			err = w.Arena.Hold(off)
		}
		if err != nil {
			for _, p := range parts[:i] {
				w.Arena.Unhold(p)
			}
			return err
		}
	}
	h := &heldRefs{a: w.Arena, offs: parts}
	b := o.base()
	b.refs = h
	goruntime.AddCleanup(b, (*heldRefs).release, h)
	return nil
}

// holdNew gives o, just made by this process, its references, raising
// (after freeing what nobody else holds) when it cannot.
func holdNew(L *lua.LState, o refObject, what string) {
	w := worldOf(L)
	if err := holdRefs(w, o, false); err != nil {
		for _, off := range o.parts() {
			if w.Arena.Refs(off) == 0 {
				w.Arena.Free(off)
			}
		}
		raiseSync(L, err, what)
	}
}

// holdPart gives o, a new userdata for an object this process already
// holds a reference to, its references.
func holdPart(L *lua.LState, o refObject, what string) {
	if err := holdRefs(worldOf(L), o, false); err != nil {
		raiseSync(L, err, what)
	}
}

// adoptRefs takes over the references a decoded handle v came with.
func (w *World) adoptRefs(v lua.LValue) error {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil
	}
	o, ok := ud.Value.(refObject)
	if !ok || o.base().closed {
		return nil
	}
	if err := holdRefs(w, o, w.keepDecoded == 0); err != nil {
		return fmt.Errorf("decode: %s handle: %w", o.HandleType(), err)
	}
	return nil
}

// transferRefs takes the references a handle holds while it travels in
// e's message. A closed object cannot be sent (its memory may be gone),
// but a closed Connection travels as closed.
func (e *Encoder) transferRefs(v any) error {
	o, ok := v.(refObject)
	if !ok {
		return nil
	}
	parts := o.parts()
	if len(parts) == 0 {
		return nil
	}
	if o.base().closed {
		return e.unsendable("cannot send a closed %s", o.HandleType())
	}
	a := e.w.Arena
	for i, off := range parts {
		if err := a.Retain(off); err != nil {
			for _, p := range parts[:i] {
				a.Release(p)
			}
			return e.fail("cannot send a %s: %v", o.HandleType(), err)
		}
	}
	e.transfers = append(e.transfers, parts...)
	return nil
}

// dropRefs releases the references of e's handles: the message will not
// be sent, or failed to be.
func (e *Encoder) dropRefs() {
	for _, off := range e.transfers {
		e.w.Arena.Release(off)
	}
	e.transfers = nil
}

// keepRefs makes the references of e's handles this process's, for a
// message sent more than once: each receiver takes its own, and
// unkeepRefs drops these once no receiver can still be decoding it.
func (e *Encoder) keepRefs() {
	for i, off := range e.transfers {
		if e.w.Arena.Adopt(off) != nil {
			e.transfers = e.transfers[:i] // the rest leaks
			break
		}
	}
}

// unkeepRefs drops what keepRefs kept.
func (e *Encoder) unkeepRefs() {
	for _, off := range e.transfers {
		e.w.Arena.Unhold(off)
	}
	e.transfers = nil
}

// whenFull runs mk, and when the arena is full collects the garbage, so
// that the cleanups of unreachable handles release their objects, and
// tries again.
func whenFull[T any](mk func() (T, error)) (T, error) {
	v, err := mk()
	for i := 1; i <= 3 && errors.Is(err, runtime.ErrArenaFull); i++ {
		goruntime.GC()
		time.Sleep(time.Duration(i) * 10 * time.Millisecond) // the cleanups run meanwhile
		v, err = mk()
	}
	return v, err
}

// arenaEqKey is where a state's shared __eq function lives in its
// registry. Lua 5.1 calls __eq only when both operands have the same
// metamethod, so every arena type uses this one function.
const arenaEqKey = "procsh.arenaeq"

// arenaEq returns the __eq metamethod shared by every arena type of L's
// state.
func arenaEq(L *lua.LState) *lua.LFunction {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if f, ok := L.RawGet(reg, lua.LString(arenaEqKey)).(*lua.LFunction); ok {
		return f
	}
	f := L.NewFunction(arenaObjectEq)
	L.RawSet(reg, lua.LString(arenaEqKey), f)
	return f
}

func arenaObjectEq(L *lua.LState) int {
	a, aok := toArenaObject(L.Get(1))
	b, bok := toArenaObject(L.Get(2))
	L.Push(lua.LBool(aok && bok && a.HandleType() == b.HandleType() && a.offset() == b.offset()))
	return 1
}

func toArenaObject(v lua.LValue) (arenaObject, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	o, ok := ud.Value.(arenaObject)
	return o, ok
}

// fieldsThenMethods is an __index that serves what index serves (fields
// or elements), then the methods in mtab.
func fieldsThenMethods(L *lua.LState, index func(L *lua.LState, key lua.LValue) (lua.LValue, bool), mtab *lua.LTable) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		key := L.Get(2)
		if v, ok := index(L, key); ok {
			L.Push(v)
			return 1
		}
		if s, ok := key.(lua.LString); ok {
			L.Push(mtab.RawGetString(string(s)))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	})
}

// arenaMeta makes the metatable of an arena type: __index serves what
// index (may be nil) serves, fields or elements, then the methods; the
// shared __eq; __tostring.
func arenaMeta(methods map[string]lua.LGFunction, index func(L *lua.LState, key lua.LValue) (lua.LValue, bool), tostring lua.LGFunction, extra ...func(L *lua.LState, mt *lua.LTable)) func(L *lua.LState) *lua.LTable {
	return func(L *lua.LState) *lua.LTable {
		mt := L.NewTable()
		mtab := L.SetFuncs(L.NewTable(), methods)
		L.SetField(mt, "methods", mtab)
		if index == nil {
			// Methods only: a table lookup, no call.
			L.SetField(mt, "__index", mtab)
		} else {
			L.SetField(mt, "__index", fieldsThenMethods(L, index, mtab))
		}
		L.SetField(mt, "__eq", arenaEq(L))
		L.SetField(mt, "__tostring", L.NewFunction(tostring))
		for _, f := range extra {
			f(L, mt)
		}
		return mt
	}
}

// newArenaUserdata wraps o in a userdata of the named type.
func newArenaUserdata(L *lua.LState, typeName string, o arenaObject) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	ud.Metatable = worldOf(L).typeMeta(typeName)
	return ud
}

// checkArena returns the arena of L's process, or raises when there is
// none.
func checkArena(L *lua.LState, what string) *runtime.Arena {
	w := worldOf(L)
	if w.Arena == nil {
		Raise(L, "OSError", "%s: this process has no shared-memory arena, want procsh to have made one", what)
	}
	return w.Arena
}

// checkOpen raises ValueError when o was closed by this process.
func checkOpen(L *lua.LState, o arenaObject, what string) {
	if o.base().closed {
		Raise(L, "ValueError", "%s: the %s is closed", what, o.HandleType())
	}
}

// closeArenaObject marks o closed and drops its references, once. The
// object is freed when no other handle, in any process, holds it.
func closeArenaObject(o refObject) {
	if b := o.base(); !b.closed {
		b.closed = true
		b.refs.release()
	}
}

// raiseSync raises the Lua error that a runtime error means, as Python
// raises it. what names the call ("Lock.release"). It does not return.
func raiseSync(L *lua.LState, err error, what string) {
	w := worldOf(L)
	if ctx := w.Context(); ctx != nil && ctx.Err() != nil {
		w.interrupted()
	}
	switch {
	case errors.Is(err, runtime.ErrArenaFull):
		Raise(L, "ArenaFullError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrBrokenBarrier), errors.Is(err, runtime.ErrTimeout) && what == "Barrier.wait":
		Raise(L, "BrokenBarrierError", "%s: %v", what, runtime.ErrBrokenBarrier)
	case errors.Is(err, runtime.ErrNotLocked), errors.Is(err, runtime.ErrOverRelease):
		Raise(L, "ValueError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrNotOwner):
		Raise(L, "AssertionError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrTimeout):
		Raise(L, "TimeoutError", "%s: %v", what, err)
	}
	var le *LuaError
	if errors.As(err, &le) {
		L.Error(le.Value, 0)
	}
	Raise(L, "ValueError", "%s: %v", what, err)
}

// handle data: a few unsigned varints, read back in order.

func appendHandleInts(b []byte, xs ...uint64) []byte {
	for _, x := range xs {
		b = binary.AppendUvarint(b, x)
	}
	return b
}

// handleReader reads what appendHandleInts wrote.
type handleReader struct {
	buf []byte
	err error
	typ string
}

func (r *handleReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = fmt.Errorf("decode: bad %s handle", r.typ)
		return 0
	}
	r.buf = r.buf[n:]
	return x
}

func (r *handleReader) rest() []byte {
	b := r.buf
	r.buf = nil
	return b
}

// checkOffset checks that the n bytes at a decoded offset can be an
// object of the arena (runtime.Arena.CheckRange): the whole extent, not
// only its start.
func (r *handleReader) checkOffset(w *World, off, n uint64) {
	a := r.arena(w)
	if r.err != nil {
		return
	}
	if err := a.CheckRange(off, n); err != nil {
		r.err = r.bad(err)
	}
}

// bad is the error of a handle that names no object of its type.
func (r *handleReader) bad(err error) error {
	return fmt.Errorf("decode: bad %s handle: %w", r.typ, err)
}

// arena is the arena a handle's object lives in, or nil after recording
// the error of a process that has none.
func (r *handleReader) arena(w *World) *runtime.Arena {
	if r.err == nil && w.Arena == nil {
		r.err = fmt.Errorf("decode: %s handle in a process with no shared-memory arena", r.typ)
	}
	return w.Arena
}

// ownerName names a process for a repr: its registered name, else its pid.
func ownerName(a *runtime.Arena, pid int) string {
	if name := a.ProcessName(pid); name != "" {
		return name
	}
	return "pid " + strconv.Itoa(pid)
}

// Owner death: the warning goes through the tree's output lock, so it is
// one whole line on standard error.

var (
	ownerDiedOnce  sync.Once
	ownerDiedWorld atomic.Pointer[World]
)

// watchOwnerDeaths sends the warnings of recovered locks through w, the
// state this process made last.
func watchOwnerDeaths(w *World) {
	ownerDiedWorld.Store(w)
	ownerDiedOnce.Do(func() { runtime.OnOwnerDied = ownerDied })
}

// ownerDied logs the warning of a lock recovered from a dead holder (a
// WARNING: written even when logging was not asked for, see logging.go).
func ownerDied(pid int, name, what string) {
	who := "pid " + strconv.Itoa(pid)
	if name != "" {
		who = name + " (pid " + strconv.Itoa(pid) + ")"
	}
	w := ownerDiedWorld.Load()
	line := w.logLine(logWarning, fmt.Sprintf("%s was held by %s, which died; recovered", what, who), true)
	if line == nil {
		return // the script asked for errors only
	}
	if what == "the output lock" {
		// Recovering the output lock itself: this process holds it now,
		// and WriteOut writes the warning once the dead writer's line is
		// ended (see freshLines).
		outputLockWarning.Lock()
		outputLockWarning.line = line
		outputLockWarning.Unlock()
		return
	}
	if w == nil || w.Arena == nil {
		os.Stderr.Write(line)
		return
	}
	w.WriteOut(os.Stderr, line)
}
