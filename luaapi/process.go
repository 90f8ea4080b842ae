// multiprocessing.Process: a real child process running a Lua function.

package luaapi

import (
	"encoding/binary"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const processTypeName = "multiprocessing.Process"

// processKind says what a process object stands for in this process.
type processKind int

const (
	kindChild   processKind = iota // made here, with Process{...}
	kindSelf                       // current_process()
	kindParent                     // parent_process()
	kindForeign                    // another process, reached through a message
)

// process is the Go side of a Process object.
type process struct {
	w        *World
	kind     processKind
	name     string
	daemon   bool
	ident    []int
	target   lua.LValue
	args     []lua.LValue
	run      lua.LValue  // the run-form function, or nil
	fields   *lua.LTable // attributes a script set on the object
	child    *runtime.Child
	pid      int
	closed   bool
	ud       *lua.LUserData
	poolName string // "PoolWorker" for pool workers
	// started is when spawn started the child, for ps().
	started time.Time
	// sentinel is p.sentinel once asked for (sentinel.go).
	sentinel *lua.LUserData
	// lim is what limits the child, nil for nothing (limits.go).
	lim *processLimits
}

var processMethods = map[string]lua.LGFunction{
	"start":     processStart,
	"join":      processJoin,
	"is_alive":  processIsAlive,
	"terminate": processTerminate,
	"kill":      processKill,
	"close":     processClose,
	"run":       processRun,
}

// userdata wraps p in a userdata of its type, once.
func (p *process) userdata() *lua.LUserData {
	if p.ud == nil {
		L := p.w.L
		p.ud = L.NewUserData()
		p.ud.Value = p
		p.ud.Metatable = p.w.typeMeta(processTypeName)
	}
	return p.ud
}

// checkProcess returns the process object at n.
func checkProcess(L *lua.LState, n int) *process {
	return checkObject[*process](L, n, processTypeName)
}

// nextIdentity gives the next child's identity and default name.
func (w *World) nextIdentity(prefix string) ([]int, string) {
	w.counter++
	ident := append(append([]int(nil), w.Self.Ident...), w.counter)
	parts := make([]string, len(ident))
	for i, n := range ident {
		parts[i] = strconv.Itoa(n)
	}
	return ident, prefix + "-" + strings.Join(parts, ":")
}

// processOptions are the keys of Process's options table.
var processOptions = []string{"target", "args", "name", "daemon", "run", "limits", "safe"}

// processKwargs says how to pass what Python passes as kwargs.
const processKwargs = "pass a table as an argument, args = {{key = value}}, and read its fields in the target"

// newProcess is mp.Process{target=, args=, name=, daemon=, run=}. Any
// other key is a TypeError (a misspelt target would otherwise make a
// process that does nothing); attributes are set on the object once
// made (p.extra = 42), and travel to the child.
func newProcess(L *lua.LState) int {
	w := worldOf(L)
	var opts *lua.LTable
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
		opts = L.NewTable()
	case *lua.LTable:
		opts = v
	default:
		argTypeError(L, 1, "table")
	}
	if L.GetTop() > 1 {
		Raise(L, "TypeError", "Process: got %d arguments, want one options table {%s}", L.GetTop(), strings.Join(processOptions, "=, ")+"=")
	}
	checkOptions(L, opts, "Process", processOptions, processKwargs)
	p := &process{w: w, kind: kindChild, fields: L.NewTable()}
	p.ident, p.name = w.nextIdentity("Process")
	p.daemon = w.Self.Daemon
	p.target = opts.RawGetString("target")
	p.run = opts.RawGetString("run")
	if p.run == lua.LNil {
		p.run = nil
	}
	if p.target != lua.LNil && !isCallable(L, p.target) {
		Raise(L, "TypeError", "Process: target is a %s, want a function", p.target.Type().String())
	}
	if p.run != nil && !isCallable(L, p.run) {
		Raise(L, "TypeError", "Process: run is a %s, want a function", p.run.Type().String())
	}
	checkArgList(L, opts.RawGetString("args"), "Process: args", processKwargs)
	p.args = argList(L, opts.RawGetString("args"), "Process: args")
	if name := opts.RawGetString("name"); name != lua.LNil {
		s, ok := name.(lua.LString)
		if !ok {
			Raise(L, "TypeError", "Process: name is a %s, want a string", name.Type().String())
		}
		p.name = string(s)
	}
	p.daemon = toBool(L, opts.RawGetString("daemon"), "Process: daemon", p.daemon)
	p.readLimits(L, opts)
	L.Push(p.userdata())
	return 1
}

func processIndex(L *lua.LState) int {
	p := checkProcess(L, 1)
	k, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(p.fields.RawGet(L.Get(2)))
		return 1
	}
	key := string(k)
	switch key {
	case "name":
		L.Push(lua.LString(p.name))
	case "daemon":
		L.Push(lua.LBool(p.daemon))
	case "pid", "ident":
		if p.pid == 0 {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LNumber(p.pid))
		}
	case "exitcode":
		if code, ok := p.exitCode(); ok {
			L.Push(lua.LNumber(code))
		} else {
			L.Push(lua.LNil)
		}
	case "sentinel":
		L.Push(p.sentinelOf(L))
	case "limit":
		L.Push(p.limitName())
	default:
		if v := p.fields.RawGetString(key); v != lua.LNil {
			L.Push(v)
			return 1
		}
		mt := p.w.typeMeta(processTypeName)
		L.Push(L.GetField(L.GetField(mt, "methods"), key))
	}
	return 1
}

func processNewIndex(L *lua.LState) int {
	p := checkProcess(L, 1)
	k, ok := L.Get(2).(lua.LString)
	if !ok {
		Raise(L, "TypeError", "Process: got a %s as attribute name, want a string", L.Get(2).Type().String())
	}
	key := string(k)
	v := L.Get(3)
	switch key {
	case "name":
		s, ok := v.(lua.LString)
		if !ok {
			Raise(L, "TypeError", "name must be a string, got a %s", v.Type().String())
		}
		p.name = string(s)
		if p.kind == kindSelf {
			p.w.Self.Name = p.name
		}
	case "daemon":
		if p.child != nil {
			Raise(L, "AssertionError", "process has already started")
		}
		p.daemon = lua.LVAsBool(v)
	case "pid", "ident", "exitcode", "sentinel", "limit":
		Raise(L, "AttributeError", "%s is read-only", key)
	default:
		p.fields.RawSetString(key, v)
	}
	return 0
}

// exitCode is the exit code of a child that has ended.
func (p *process) exitCode() (int, bool) {
	if p.child == nil {
		return 0, false
	}
	return p.child.ExitCode()
}

// state is Python's repr word: initial, started or stopped.
func processString(L *lua.LState) int {
	p := checkProcess(L, 1)
	var sb strings.Builder
	fmt.Fprintf(&sb, "<Process name=%s", quoteRepr(p.name))
	if p.pid != 0 {
		fmt.Fprintf(&sb, " pid=%d", p.pid)
	}
	switch p.kind {
	case kindChild:
		fmt.Fprintf(&sb, " parent=%d", p.w.Self.Pid)
		if p.closed {
			sb.WriteString(" closed")
		} else if p.child == nil {
			sb.WriteString(" initial")
		} else if code, ok := p.exitCode(); ok {
			fmt.Fprintf(&sb, " stopped exitcode=%s", runtime.ExitStatus(code).Repr())
		} else {
			sb.WriteString(" started")
		}
	case kindSelf:
		if p.w.Parent != nil {
			fmt.Fprintf(&sb, " parent=%d", p.w.Parent.Pid)
		}
		sb.WriteString(" started")
	default:
		if runtime.PidRunning(p.pid) {
			sb.WriteString(" started")
		} else {
			sb.WriteString(" stopped")
		}
	}
	if p.daemon {
		sb.WriteString(" daemon")
	}
	sb.WriteString(">")
	L.Push(lua.LString(sb.String()))
	return 1
}

// quoteRepr quotes a string as Python's repr does, with single quotes.
func quoteRepr(s string) string {
	q := strconv.Quote(s)
	if !strings.Contains(s, "'") {
		q = "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
	}
	return q
}

func processEq(L *lua.LState) int {
	a, b := checkProcess(L, 1), checkProcess(L, 2)
	L.Push(lua.LBool(a == b || a.pid != 0 && a.pid == b.pid))
	return 1
}

// checkUsable raises ValueError on a closed process object.
func (p *process) checkUsable(L *lua.LState) {
	if p.closed {
		Raise(L, "ValueError", "process object is closed")
	}
}

// checkChild raises AssertionError unless p is a started child of this
// process; what names the operation.
func (p *process) checkChild(L *lua.LState, what string) {
	p.checkUsable(L)
	if p.kind != kindChild {
		Raise(L, "AssertionError", "can only %s a child process", what)
	}
	if p.child == nil {
		Raise(L, "AssertionError", "can only %s a started process", what)
	}
}

func processStart(L *lua.LState) int {
	p := checkProcess(L, 1)
	w := p.w
	p.checkUsable(L)
	if p.kind != kindChild {
		Raise(L, "AssertionError", "can only start a process object created by this process")
	}
	if p.child != nil {
		Raise(L, "AssertionError", "cannot start a process twice")
	}
	if w.Self.Daemon {
		Raise(L, "AssertionError", "daemonic processes are not allowed to have children")
	}
	p.startLimits(L)
	payload, err := p.startPayload()
	if err != nil {
		raiseSend(L, err)
	}
	msg := StartMessage{Kind: startProcess, Self: Identity{Name: p.name, Ident: p.ident, Daemon: p.daemon}, Parent: w.Self, Payload: payload}
	if err := p.spawn(msg); err != nil {
		Raise(L, "OSError", "%v", err)
	}
	return 0
}

// spawn starts the child with msg and records it among the children;
// extra files go to descriptors 6, 7, … (a pool worker's pipes).
func (p *process) spawn(msg StartMessage, extra ...*os.File) error {
	// A process being terminated ends the children it knows of: it must
	// not die while one is half started, unknown to it.
	runtime.EnterCritical()
	defer runtime.LeaveCritical()
	traceStart := traceNow()
	w := p.w
	var arena *os.File
	if w.Arena != nil {
		arena = w.Arena.File()
	}
	var c *runtime.Child
	var err error
	msg.Payload = append(w.appendLogState(nil), msg.Payload...) // the child starts with this logger's level
	lim := w.childLimits(p.ownSpawnLimits())
	msg.Payload = append(appendLimits(nil, lim), msg.Payload...) // and its limits, first (limits.go)
	var idle *runtime.Idle
	if len(extra) == 0 {
		idle = w.takeIdle()
	}
	if idle != nil {
		c, err = idle.Deliver(msg.encode())
	} else {
		c, err = runtime.Spawn(runtime.SpawnOptions{Message: msg.encode(), Arena: arena, Daemon: p.daemon, ExtraFiles: extra})
	}
	if err != nil {
		return err
	}
	if len(extra) == 0 {
		w.refillIdle(arena) // for the next starts (idle.go)
	}
	p.child = c
	p.pid = c.Pid
	p.started = time.Now()
	if w.Arena != nil {
		w.Arena.RegisterProcess(c.Pid, p.name)
	}
	w.children = append(w.children, p)
	p.startedLimits(lim)
	traceSpawned(p, c, traceStart)
	return nil
}

// startPayload encodes what the child needs: the target (or run) with its
// upvalues, the arguments, the attributes, and a snapshot of the globals.
func (p *process) startPayload() ([]byte, error) {
	L := p.w.L
	target := p.target
	if p.run != nil {
		target = p.run
	}
	args := L.CreateTable(len(p.args), 1)
	for i, a := range p.args {
		args.RawSetInt(i+1, a)
	}
	args.RawSetString("n", lua.LNumber(len(p.args)))
	return processPayload{target: target, args: args, attrs: p.fields, isRun: p.run != nil, env: L.G.Global}.encode(p.w)
}

// raiseSend raises a codec error as a SerializationError.
func raiseSend(L *lua.LState, err error) {
	Raise(L, "SerializationError", "%v", err)
}

func processJoin(L *lua.LState) int {
	p := checkProcess(L, 1)
	p.checkUsable(L)
	timeout := timeoutArg(L, 2, "Process.join", -1)
	w := p.w
	if p.kind == kindParent {
		p.checkUsable(L)
		w.waitPid(p.pid, timeout)
		return 0
	}
	p.checkChild(L, "join")
	traceStart := traceJoinStart(p)
	done, err := p.child.Wait(w.ctx, timeout)
	traceJoined(p, traceStart, done)
	if err != nil {
		w.interrupted()
	}
	if done {
		w.forget(p)
	}
	return 0
}

// waitPid waits for a process that is not our child to end, by polling.
func (w *World) waitPid(pid int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for runtime.PidRunning(pid) {
		if timeout >= 0 && time.Now().After(deadline) {
			return
		}
		select {
		case <-w.ctx.Done():
			w.interrupted()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// forget drops a child that has ended from the active children.
func (w *World) forget(p *process) {
	for i, c := range w.children {
		if c == p {
			w.children = append(w.children[:i], w.children[i+1:]...)
			return
		}
	}
}

func processIsAlive(L *lua.LState) int {
	p := checkProcess(L, 1)
	p.checkUsable(L)
	switch p.kind {
	case kindSelf:
		L.Push(lua.LTrue)
	case kindParent:
		L.Push(lua.LBool(runtime.PidRunning(p.pid)))
	case kindForeign:
		Raise(L, "AssertionError", "can only test a child process")
	default:
		if p.child == nil {
			L.Push(lua.LFalse)
			return 1
		}
		_, ended := p.child.ExitCode()
		if ended {
			p.w.forget(p)
		}
		L.Push(lua.LBool(!ended))
	}
	return 1
}

func processTerminate(L *lua.LState) int {
	p := checkProcess(L, 1)
	p.checkChild(L, "terminate")
	p.child.Terminate()
	return 0
}

func processKill(L *lua.LState) int {
	p := checkProcess(L, 1)
	p.checkChild(L, "kill")
	p.child.Kill()
	return 0
}

func processClose(L *lua.LState) int {
	p := checkProcess(L, 1)
	if p.closed {
		return 0
	}
	if p.child != nil {
		if _, ended := p.child.ExitCode(); !ended {
			Raise(L, "ValueError", "cannot close a process while it is still running; call join() or terminate() first")
		}
		p.w.forget(p)
	}
	p.closed = true
	return 0
}

// processRun is Process.run: call the target with the arguments, in this
// process.
func processRun(L *lua.LState) int {
	p := checkProcess(L, 1)
	if p.target == nil || p.target == lua.LNil {
		return 0
	}
	L.Push(p.target)
	for _, a := range p.args {
		L.Push(a)
	}
	L.Call(len(p.args), 0)
	return 0
}

// selfProcess is the object current_process() returns, made once.
func (w *World) selfProcess() *process {
	if w.current == nil {
		p := &process{w: w, kind: kindSelf, name: w.Self.Name, daemon: w.Self.Daemon, ident: w.Self.Ident, pid: w.Self.Pid, fields: w.L.NewTable()}
		w.current = p.userdata()
	}
	return w.current.(*lua.LUserData).Value.(*process)
}

func mpCurrentProcess(L *lua.LState) int {
	L.Push(worldOf(L).selfProcess().userdata())
	return 1
}

func mpParentProcess(L *lua.LState) int {
	w := worldOf(L)
	if w.Parent == nil {
		L.Push(lua.LNil)
		return 1
	}
	p := &process{w: w, kind: kindParent, name: w.Parent.Name, pid: w.Parent.Pid, ident: w.Parent.Ident, fields: L.NewTable()}
	L.Push(p.userdata())
	return 1
}

// activeChildren reaps the children that have ended and lists the rest.
func (w *World) activeChildren() []*process {
	live := w.children[:0]
	for _, p := range w.children {
		if _, ended := p.child.ExitCode(); !ended {
			live = append(live, p)
		}
	}
	w.children = live
	return append([]*process(nil), live...)
}

func mpActiveChildren(L *lua.LState) int {
	w := worldOf(L)
	t := L.NewTable()
	for _, p := range w.activeChildren() {
		t.Append(p.userdata())
	}
	L.Push(t)
	return 1
}

func mpCPUCount(L *lua.LState) int {
	L.Push(lua.LNumber(goruntime.NumCPU()))
	return 1
}

// HandleType and HandleData let a process object travel in messages.
func (p *process) HandleType() string { return "Process" }

func (p *process) HandleData() []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(p.pid))
	b = appendString(b, p.name)
	if p.daemon {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return b
}

// decodeProcess rebuilds a process object: this process itself, its
// parent, one of its children, or another process.
func decodeProcess(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	pid, n := binary.Uvarint(data)
	if n <= 0 {
		return nil, fmt.Errorf("decode: bad process handle")
	}
	d := &Decoder{w: w, buf: data, pos: n}
	name, err := d.str()
	if err != nil {
		return nil, err
	}
	daemon, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch {
	case pid != 0 && int(pid) == w.Self.Pid:
		return w.selfProcess().userdata(), nil
	}
	for _, c := range w.children {
		if c.pid == int(pid) && pid != 0 {
			return c.userdata(), nil
		}
	}
	kind := kindForeign
	if w.Parent != nil && int(pid) == w.Parent.Pid {
		kind = kindParent
	}
	p := &process{w: w, kind: kind, name: name, pid: int(pid), daemon: daemon == 1, fields: L.NewTable()}
	return p.userdata(), nil
}

// processMeta makes the metatable of Process objects: fields and methods
// through __index, settable name and daemon through __newindex.
func processMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__index", L.NewFunction(processIndex))
	L.SetField(mt, "__newindex", L.NewFunction(processNewIndex))
	L.SetField(mt, "__tostring", L.NewFunction(processString))
	L.SetField(mt, "__eq", L.NewFunction(processEq))
	L.SetField(mt, "methods", L.SetFuncs(L.NewTable(), processMethods))
	return mt
}
