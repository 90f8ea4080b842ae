// Limits on a pool: the pool's own, given to mp.Pool{limits = ...}, and
// a call's, given in the options of map, apply_async and the others.
//
// A worker serves many tasks, and what the kernel cannot lift once
// applied (files, exec, net, safe) cannot be one task's: those are the
// pool's, applied to every worker as it starts. The others are each
// task's, a call's tightening the pool's: wall is the parent's (the
// scheduler ends a worker that holds a task too long, the task fails with
// TimeoutError and the worker is replaced), cpu and memory the worker's,
// set before the task runs and lifted after (its soft RLIMIT_CPU and
// RLIMIT_DATA, and the memory guard), so each task has the whole of its
// budget. A call with limits defaults to a chunksize of 1, so that each
// item has its own budget and a runaway fails alone.

package luaapi

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"

	"procsh/runtime"
	"procsh/sandbox"

	lua "github.com/yuin/gopher-lua"
)

// modeLimited is set in a task frame's mode byte when the task's CPU
// time and memory limits follow the hasFn byte: uvarint nanoseconds,
// uvarint bytes (0: none).
const modeLimited byte = 0x80

// readPoolLimits reads mp.Pool's limits option: the pool's limits, or
// nil. It checks that the kernel can enforce them.
func readPoolLimits(L *lua.LState, v lua.LValue, what string) *limitSet {
	lim := readLimits(L, v, what+": limits", false)
	lim.checkSupport(L, what)
	return lim
}

// workerLimits are the limits every worker of the pool starts with: the
// pool's that cannot be one task's.
func (p *pool) workerLimits() *processLimits {
	l := p.lim
	if l == nil || !l.files && !l.noExec && !l.noNet && !l.safe {
		return nil
	}
	return &processLimits{lim: &limitSet{files: l.files, read: l.read, write: l.write, noExec: l.noExec, noNet: l.noNet, safe: l.safe, dir: l.dir, lax: l.lax}}
}

// callLimits reads a call's limits option and gives the limits of its
// tasks: the pool's wall, cpu and memory, tightened by the call's; nil
// for none. what names the call ("Pool.map").
func (p *pool) callLimits(L *lua.LState, v lua.LValue, what string) *limitSet {
	own := readLimits(L, v, what+": limits", true)
	own.checkSupport(L, what)
	var base *limitSet
	if p.lim != nil {
		base = &limitSet{wall: p.lim.wall, cpu: p.lim.cpu, memory: p.lim.memory}
	}
	lim := base.tighten(own, 0)
	if base != nil {
		lim.wall = minLimit(base.wall, lim.wall)
	}
	if lim == nil || lim.wall == 0 && lim.cpu == 0 && lim.memory == 0 {
		return nil
	}
	return lim
}

// limitedChunksize is the default chunksize of a call whose tasks have
// limits: one item per task, each with its own budget.
func (c *poolCall) limitedChunksize(def int) int {
	if c != nil && c.lim != nil {
		return 1
	}
	return def
}

// runtimeTask is the scheduler's task for t, with the call's wall-clock
// limit.
func (c *poolCall) runtimeTask(t *poolTask) *runtime.PoolTask {
	rt := &runtime.PoolTask{Frame: t.frame, Value: t}
	if c.lim != nil {
		rt.Wall = c.lim.wall
	}
	return rt
}

// frameMode is the mode byte of the call's task frames.
func (c *poolCall) frameMode() byte {
	if c.lim != nil && (c.lim.cpu > 0 || c.lim.memory > 0) {
		return c.mode | modeLimited
	}
	return c.mode
}

// appendTaskLimits writes the CPU time and memory limits of a frame
// whose mode has modeLimited.
func (c *poolCall) appendTaskLimits(b []byte) []byte {
	if c.frameMode()&modeLimited == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(c.lim.cpu))
	return binary.AppendUvarint(b, uint64(c.lim.memory))
}

// readTaskLimits reads what appendTaskLimits wrote, at pos, into h.
func readTaskLimits(b []byte, pos int, h *taskHeader) (int, error) {
	if h.mode&modeLimited == 0 {
		return pos, nil
	}
	h.mode &^= modeLimited
	cpu, n := binary.Uvarint(b[pos:])
	if n <= 0 {
		return 0, errTruncated
	}
	pos += n
	mem, n := binary.Uvarint(b[pos:])
	if n <= 0 {
		return 0, errTruncated
	}
	h.cpu, h.memory = time.Duration(cpu), int64(mem)
	return pos + n, nil
}

// expiredError is the TimeoutError of a task whose worker was ended at
// its wall-clock limit.
func expiredError(L *lua.LState, proc *process, t *poolTask) *lua.LTable {
	e := NewError(L, "TimeoutError", "%s: %s ran past its wall-clock limit of %s; its worker %s (pid %d) was ended and replaced",
		t.call.what, t.describe(), secondsText(t.call.lim.wall), proc.name, proc.pid)
	e.RawSetString("limit", lua.LString("wall"))
	e.RawSetString("worker", lua.LString(proc.name))
	e.RawSetString("pid", lua.LNumber(proc.pid))
	return e
}

// isLimitError says whether v is an error a limit raised in a worker
// (LimitError, MemoryError): the pool gives it as it is, not wrapped in
// a RemoteError.
func isLimitError(v lua.LValue) bool {
	switch ErrorType(v) {
	case "LimitError", "MemoryError":
		t := v.(*lua.LTable)
		return t.RawGetString("limit") != lua.LNil
	}
	return false
}

// Exit codes of a pool worker ended by its task's limit, which tell the
// parent which limit it was (limitExitError): far from the codes
// scripts exit with.
const (
	exitCPULimit    = 224
	exitMemoryLimit = 225
)

// limitExitError is the error of a task whose worker exited with the
// code of a limit (nil for any other exit).
func limitExitError(L *lua.LState, proc *process, t *poolTask, code int) *lua.LTable {
	lim := t.call.lim
	var e *lua.LTable
	switch {
	case lim == nil:
		return nil
	case code == exitCPULimit && lim.cpu > 0:
		e = NewError(L, "LimitError", "%s: %s went on after its CPU time limit of %s and its LimitError; its worker %s (pid %d) was ended and replaced",
			t.call.what, t.describe(), secondsText(lim.cpu), proc.name, proc.pid)
		e.RawSetString("limit", lua.LString("cpu"))
	case code == exitMemoryLimit && lim.memory > 0:
		e = NewError(L, "MemoryError", "%s: %s held more than its memory limit of %s after its MemoryError; its worker %s (pid %d) was ended and replaced",
			t.call.what, t.describe(), sizeText(lim.memory), proc.name, proc.pid)
		e.RawSetString("limit", lua.LString("memory"))
	default:
		return nil
	}
	e.RawSetString("worker", lua.LString(proc.name))
	e.RawSetString("pid", lua.LNumber(proc.pid))
	return e
}

// The worker's side.

// taskGuard is a pool worker's state for the task it runs with limits.
type taskGuard struct {
	mu      sync.Mutex
	running bool // a task with limits runs: abandon may end it
}

// startTaskLimits sets the CPU time and memory limits of the task h
// heads, before it runs, and returns what lifts them after. A limit the
// task's code does not stop for ends the worker with the limit's exit
// code (abandon), which fails the task in the parent.
func (pw *poolWorker) startTaskLimits(h taskHeader) (end func()) {
	if h.cpu == 0 && h.memory == 0 {
		return func() {}
	}
	w := pw.w
	wl := w.limitState()
	lim, _ := w.ownLimits()
	if lim == nil {
		lim = &limitSet{}
	}
	g := &pw.guard
	g.mu.Lock()
	g.running = true
	g.mu.Unlock()
	abandon := pw.abandon
	wl.abandon.Store(&abandon)
	var restoreCPU func() error
	if h.cpu > 0 {
		wl.watchCPU(w)
		budget := minLimit(lim.cpu, h.cpu)
		wl.xcpu.Store(0)
		wl.cpuBudget.Store(int64(budget))
		restoreCPU, _ = sandbox.LimitCPU(budget, 0)
	}
	if h.memory > 0 {
		wl.watchMemory(w).SetLimit(minLimit(lim.memory, h.memory), false)
	}
	wl.mu.Lock()
	wl.armed = true
	wl.mu.Unlock()
	return func() {
		wl.mu.Lock()
		wl.armed = lim.cpu > 0 || lim.memory > 0 || lim.wall > 0
		wl.mu.Unlock()
		g.mu.Lock() // waits for good if abandon is ending the worker
		g.running = false
		g.mu.Unlock()
		wl.abandon.Store(nil)
		if h.cpu > 0 {
			wl.cpuBudget.Store(int64(lim.cpu))
			if restoreCPU != nil {
				restoreCPU()
			}
		}
		if h.memory > 0 {
			wl.guard.SetLimit(lim.memory, false)
		}
		// An interrupt that came after the task's code ended is the
		// task's: the next task starts afresh.
		wl.hit.Store(nil)
		if w.intr.outer != nil && w.ctx.Err() != nil {
			w.renewContext()
		}
	}
}

// abandon ends the worker for h's limit, while its task runs, with the
// limit's exit code: it sends no result, so the scheduler gives it no
// other task, and the parent fails the task with the limit's error. It
// reports false, and does nothing, when the task ended meanwhile.
func (pw *poolWorker) abandon(h *limitHit) bool {
	g := &pw.guard
	g.mu.Lock()
	if !g.running {
		g.mu.Unlock()
		return false
	}
	code := exitCPULimit
	if h.limit == "memory" {
		code = exitMemoryLimit
	}
	syscall.Exit(code) // holding g.mu: the task's result is never sent
	return true
}

// isCPUExhausted says whether an item's error is its task's CPU time
// running out: the task's other items cannot run either.
func isCPUExhausted(v lua.LValue) bool {
	t, ok := v.(*lua.LTable)
	return ok && ErrorType(v) == "LimitError" && t.RawGetString("limit") == lua.LString("cpu")
}
