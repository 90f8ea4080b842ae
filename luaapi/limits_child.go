// Limits in the child: applying them before any Lua code runs, and
// turning what the kernel and the watchers report into Lua errors.
//
// CPU time and memory interrupt the Lua code as Ctrl-C does (World's
// interrupt generations): a watcher records the limit's error (hit) and
// interrupts the World; the VM, within 1024 instructions, or the blocking
// call the code is in, raises that error instead of KeyboardInterrupt
// (raiseLimitHit). The code may catch it; if it goes on regardless, the
// process is ended: a few seconds of CPU time later, or once its memory
// has stayed past the limit for a second (endForLimit).

package luaapi

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"procsh/runtime"
	"procsh/sandbox"

	lua "github.com/yuin/gopher-lua"
)

// cpuBackstop is how long past its CPU time limit a process may go on
// before it is ended: its Lua code gets LimitError at the limit and at
// each second after, and is ended at the third SIGXCPU; the kernel's
// hard limit, a second later, kills it if that fails.
const cpuBackstop = 3 * time.Second

// memoryPatience is how long a process's memory may stay past its limit
// after the MemoryError before the process is ended; memoryFar is how
// far past it (as a fraction of the limit, over 4) ends it at once,
// well before RLIMIT_DATA (twice the limit) would.
const (
	memoryPatience = time.Second
	memoryFar      = 6 // 6/4: one and a half limits
)

// memoryEvery is the least time between two MemoryErrors the watcher
// raises: the code needs a moment to let go of what it held.
const memoryEvery = 100 * time.Millisecond

// worldLimits is what a process knows of its own limits. Made when a
// child applies its limits, or when the root is made safe.
type worldLimits struct {
	lim      *limitSet
	deadline time.Time            // when the wall-clock limit ends this process; zero for none
	guard    *sandbox.MemoryGuard // nil without a memory limit
	// hit is a limit's error waiting for the Lua code: the watchers set
	// it and interrupt the World; interruptedIn raises it.
	hit atomic.Pointer[limitHit]
	// xcpu counts the SIGXCPUs of the current limit (a task's, in a
	// pool worker): the third ends the process. cpuBudget is that
	// limit, in nanoseconds; 0 while none is in force.
	xcpu      atomic.Int32
	cpuBudget atomic.Int64
	// armed says a limit is in force: a process's own, or a pool task's
	// while it runs. The watchers act only then; mu orders their acts
	// against a task's end.
	mu    sync.Mutex
	armed bool
	once  struct{ interrupt, memory, cpu sync.Once }
	// abandon, when set (a pool worker running a task), ends the
	// worker in a way that fails the task with the limit's error, or
	// reports false when the task has ended (limits_pool.go).
	abandon atomic.Pointer[func(*limitHit) bool]
	// memFired is when the memory watcher last interrupted the code.
	memFired atomic.Int64
}

// limitHit is the error a limit raises: its type, the limit's name and
// the message.
type limitHit struct {
	typ, limit, msg string
}

// raise raises h's error in L, an error table with a limit field.
func (h *limitHit) raise(L *lua.LState) {
	e := NewError(L, h.typ, "%s", h.msg)
	e.RawSetString("limit", lua.LString(h.limit))
	L.Error(e, 1)
}

// worldLimitStates holds each World's limits, for the Worlds that have
// any (*World → *worldLimits).
var worldLimitStates sync.Map

// limitsOf returns w's limits, nil when it has none.
func limitsOf(w *World) *worldLimits {
	if v, ok := worldLimitStates.Load(w); ok {
		return v.(*worldLimits)
	}
	return nil
}

// ownLimits is what w runs under (nil: nothing) and what is left of its
// wall-clock time (0: no limit).
func (w *World) ownLimits() (*limitSet, time.Duration) {
	wl := limitsOf(w)
	if wl == nil || wl.lim == nil {
		return nil, 0
	}
	var left time.Duration
	if !wl.deadline.IsZero() {
		left = max(time.Until(wl.deadline), time.Millisecond)
	}
	return wl.lim, left
}

// memoryLimited says whether w runs under a memory limit.
func (w *World) memoryLimited() bool {
	lim, _ := w.ownLimits()
	return lim != nil && lim.memory > 0
}

// childLimits is what a child given own runs under: own tightened by
// what this process runs under, which a child inherits.
func (w *World) childLimits(own *limitSet) *limitSet {
	lim, left := w.ownLimits()
	return lim.tighten(own, left)
}

// raiseLimitHit raises the error of a limit that interrupted w's Lua
// code, if one did (world.go's interruptedIn calls it first).
func raiseLimitHit(w *World, L *lua.LState) {
	wl := limitsOf(w)
	if wl == nil {
		return
	}
	if h := wl.hit.Swap(nil); h != nil {
		h.raise(L)
	}
}

// takeLimits reads the limits appendLimits wrote in front of a start
// message's payload, applies them to this process, and returns the rest
// of the payload. A limit that cannot be applied is an error, unless the
// limits were given with strict = false (the parent warned already).
func (w *World) takeLimits(b []byte) ([]byte, error) {
	lim, rest, err := readLimitsFrom(b)
	if err != nil {
		return nil, fmt.Errorf("could not read its start message: %w", err)
	}
	if lim == nil {
		return rest, nil
	}
	if err := w.applyLimits(lim); err != nil {
		return nil, fmt.Errorf("could not apply its limits: %w", err)
	}
	return rest, nil
}

// applyLimits applies lim's kernel limits to this process and sets up
// the watchers that turn them into Lua errors.
func (w *World) applyLimits(lim *limitSet) error {
	wl := w.limitState()
	wl.lim = lim
	wl.armed = true
	lax := func(err error) error {
		if lim.lax {
			return nil
		}
		return err
	}
	if lim.wall > 0 {
		wl.deadline = time.Now().Add(lim.wall)
		endAfter(lim.wall + 2*runtime.WallGrace)
	}
	if lim.memory > 0 {
		if err := wl.watchMemory(w).SetLimit(lim.memory, true); err != nil {
			return lax(err)
		}
	}
	if lim.cpu > 0 {
		wl.watchCPU(w)
		wl.cpuBudget.Store(int64(lim.cpu))
		if _, err := sandbox.LimitCPU(lim.cpu, cpuBackstop); err != nil {
			return lax(err)
		}
	}
	// What an ancestor applied, this process has already (kept).
	p := sandbox.FilesPolicy{Files: lim.files && !lim.keptFiles, Read: lim.read, Write: lim.write, NoExec: lim.noExec && !lim.keptExec}
	if err := sandbox.Restrict(p); err != nil {
		return lax(err)
	}
	if lim.noNet && !lim.keptNet {
		if err := sandbox.DenySockets(); err != nil {
			return lax(err)
		}
	}
	return nil
}

// endAfter ends this process after d, however its Lua code behaves: the
// wall-clock limit's own stop, for a process whose parent is gone (a
// live parent ends it at the limit).
func endAfter(d time.Duration) {
	time.AfterFunc(d, func() {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		time.Sleep(runtime.WallGrace)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
}

// applyLuaLimits applies the Lua side of this process's limits, once its
// globals are restored and before its code runs: exec = false removes
// os.execute and io.popen, safe the rest of the Lua sandbox.
func (w *World) applyLuaLimits() {
	lim, _ := w.ownLimits()
	if lim == nil {
		return
	}
	if lim.noExec {
		w.denyExec("limits.exec = false", "exec")
	}
	if lim.safe {
		w.sandboxLua(lim.dir)
	}
}

// limitState is w's limits, made on first use (a pool worker's first
// task with limits, or applyLimits).
func (w *World) limitState() *worldLimits {
	v, _ := worldLimitStates.LoadOrStore(w, &worldLimits{})
	return v.(*worldLimits)
}

// interruptible gives w a context the watchers can interrupt, once.
func (wl *worldLimits) interruptible(w *World) {
	wl.once.interrupt.Do(func() { w.SetContext(context.Background()) })
}

// watchMemory makes the memory guard and its watcher, once: the check
// the interpreter asks before large allocations (lua.CheckAlloc) and the
// goroutine that watches the heap.
func (wl *worldLimits) watchMemory(w *World) *sandbox.MemoryGuard {
	wl.once.memory.Do(func() {
		wl.interruptible(w)
		wl.guard = sandbox.NewMemoryGuard()
		lua.CheckAlloc = func(n int) { wl.checkAlloc(w, n) }
		wl.guard.Watch(func(used, limit int64, since time.Duration) { wl.memoryOver(w, used, limit, since) })
	})
	return wl.guard
}

// watchCPU handles SIGXCPU, once.
func (wl *worldLimits) watchCPU(w *World) {
	wl.once.cpu.Do(func() {
		wl.interruptible(w)
		sandbox.NotifyCPU(func() { wl.cpuOver(w) })
	})
}

// checkAlloc is lua.CheckAlloc: it refuses, with MemoryError, an
// allocation of n bytes that would take the process past its limit. It
// runs on the Lua goroutine, inside the interpreter.
func (wl *worldLimits) checkAlloc(w *World, n int) {
	g := wl.guard
	if g.Allows(n) {
		return
	}
	L := w.L.G.CurrentThread
	if L == nil {
		L = w.L
	}
	h := &limitHit{typ: "MemoryError", limit: "memory", msg: fmt.Sprintf("memory: an allocation of %s would take this process past its limit of %s (it holds %s)",
		sizeText(int64(n)), sizeText(g.Limit()), sizeText(g.Used()))}
	h.raise(L)
}

// memoryOver is the memory watcher's report: the heap holds used bytes
// past limit, and has for since.
func (wl *worldLimits) memoryOver(w *World, used, limit int64, since time.Duration) {
	if since > memoryPatience || used > limit/4*memoryFar {
		wl.endForLimit(w, &limitHit{typ: "MemoryError", limit: "memory", msg: fmt.Sprintf("memory: this process holds %s, past its limit of %s, and did not let go of it after its MemoryError; ended",
			sizeText(used), sizeText(limit))})
		return
	}
	now := time.Now().UnixNano()
	if now-wl.memFired.Load() < int64(memoryEvery) {
		return
	}
	wl.memFired.Store(now)
	wl.fire(w, &limitHit{typ: "MemoryError", limit: "memory", msg: fmt.Sprintf("memory: this process holds %s, past its limit of %s", sizeText(used), sizeText(limit))})
}

// cpuOver handles a SIGXCPU: LimitError for the first two, the end of
// the process at the third.
func (wl *worldLimits) cpuOver(w *World) {
	budget := time.Duration(wl.cpuBudget.Load())
	if budget == 0 {
		return // a task's limit, lifted since
	}
	if n := wl.xcpu.Add(1); n >= 3 {
		wl.endForLimit(w, &limitHit{typ: "LimitError", limit: "cpu", msg: fmt.Sprintf("cpu: still running %d s after its CPU time limit of %s and its LimitError; ended", n-1, secondsText(budget))})
		return
	}
	wl.fire(w, &limitHit{typ: "LimitError", limit: "cpu", msg: fmt.Sprintf("cpu: used its CPU time limit of %s", secondsText(budget))})
}

// fire records h and interrupts the Lua code, which raises it, while a
// limit is in force.
func (wl *worldLimits) fire(w *World, h *limitHit) {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	if !wl.armed {
		return
	}
	wl.hit.Store(h)
	w.Interrupt()
}

// endForLimit ends the process for a limit its code would not stop for.
// A pool worker running a task ends with the limit's exit code, which
// fails the task in the parent (abandon); another process says so on
// stderr, as for an uncaught error, and ends by SIGKILL, after its
// children.
func (wl *worldLimits) endForLimit(w *World, h *limitHit) {
	wl.mu.Lock()
	armed := wl.armed
	wl.mu.Unlock()
	if !armed {
		return
	}
	if f := wl.abandon.Load(); f != nil {
		if !(*f)(h) {
			return // the task ended meanwhile
		}
	} else {
		w.WriteOut(os.Stderr, []byte(fmt.Sprintf("Process %s (pid %d):\n%s: %s\n", w.Self.Name, w.Self.Pid, h.typ, h.msg)))
	}
	runtime.EndChildren(300 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// sizeText writes a number of bytes as a person reads it: 200 MiB.
func sizeText(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// secondsText writes a duration in seconds: "1 s", "0.5 s".
func secondsText(d time.Duration) string {
	return fmt.Sprintf("%g s", d.Seconds())
}
