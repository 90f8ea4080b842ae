// Process sentinels: p.sentinel, which mp.connection.wait takes to learn
// that a process has ended.

package luaapi

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

const sentinelTypeName = "multiprocessing.Sentinel"

// sentinelObj is the Go side of p.sentinel. Python's sentinel is a file
// descriptor that becomes readable when the process ends; procsh's is an
// object of its own that stands for the process, so that it prints as
// what it is and can be sent to another process as a Process can: there
// it is the sentinel of the same process (see waiterOf for how each kind
// of process is watched).
type sentinelObj struct {
	p *process
}

// HandleType and HandleData let a sentinel travel in messages: it is sent
// as its process is.
func (s *sentinelObj) HandleType() string { return "Sentinel" }
func (s *sentinelObj) HandleData() []byte { return s.p.HandleData() }

// sentinelOf is p.sentinel: the same object on every read. As in Python,
// a process object that was closed, or a child not started yet, has none
// (ValueError). The running process's own sentinel (on
// mp.current_process(), where Python has none) is never ready in the
// process itself; sent to another process, it is ready there once this
// one has ended.
func (p *process) sentinelOf(L *lua.LState) *lua.LUserData {
	p.checkUsable(L)
	if p.kind == kindChild && p.child == nil {
		Raise(L, "ValueError", "Process.sentinel: process not started, want start() first")
	}
	return p.sentinelUserdata()
}

// sentinelUserdata makes p's sentinel userdata, once.
func (p *process) sentinelUserdata() *lua.LUserData {
	if p.sentinel == nil {
		L := p.w.L
		p.sentinel = L.NewUserData()
		p.sentinel.Value = &sentinelObj{p: p}
		p.sentinel.Metatable = p.w.typeMeta(sentinelTypeName)
	}
	return p.sentinel
}

// decodeSentinel rebuilds a sentinel: the sentinel of the process its
// handle names, as decodeProcess finds it (this process's own child, its
// parent, itself, or another).
func decodeSentinel(L *lua.LState, data []byte) (lua.LValue, error) {
	v, err := decodeProcess(L, data)
	if err != nil {
		return nil, err
	}
	p := v.(*lua.LUserData).Value.(*process)
	if p.pid == 0 {
		return nil, fmt.Errorf("decode: bad Sentinel handle: got pid 0, want a started process")
	}
	return p.sentinelUserdata(), nil
}

// checkSentinel returns the sentinel at n.
func checkSentinel(L *lua.LState, n int) *sentinelObj {
	return checkObject[*sentinelObj](L, n, sentinelTypeName)
}

// ended says whether the sentinel's process has ended, without waiting.
func (s *sentinelObj) ended() bool { return s.p.waiter().ready() }

// sentinelString is <Sentinel name='Process-1' pid=4242>, with " ended"
// once the process has.
func sentinelString(L *lua.LState) int {
	s := checkSentinel(L, 1)
	text := fmt.Sprintf("<Sentinel name=%s pid=%d", quoteRepr(s.p.name), s.p.pid)
	if s.ended() {
		text += " ended"
	}
	L.Push(lua.LString(text + ">"))
	return 1
}

// sentinelEq: two sentinels are equal when they watch the same process.
func sentinelEq(L *lua.LState) int {
	a, b := checkSentinel(L, 1), checkSentinel(L, 2)
	L.Push(lua.LBool(a.p == b.p || a.p.pid != 0 && a.p.pid == b.p.pid))
	return 1
}

// sentinelMeta makes the metatable of sentinels: no methods or fields,
// only what prints and compares them.
func sentinelMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__tostring", L.NewFunction(sentinelString))
	L.SetField(mt, "__eq", L.NewFunction(sentinelEq))
	return mt
}

// waiter is how mp.connection.wait watches the process for its end: a
// child by its reaper, this process itself never, any other (the parent,
// a process reached through a message) by its pid.
func (p *process) waiter() waiter {
	switch {
	case p.kind == kindChild:
		return childWaiter{p.child}
	case p.kind == kindSelf:
		return selfWaiter{}
	}
	return pidWaiter{p.pid}
}
