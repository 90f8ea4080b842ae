// Pool: results, worker deaths and callbacks, handled on the Lua goroutine.

package luaapi

import (
	"context"
	"fmt"
	goruntime "runtime"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

func (c *poolCall) setResult(i int, v lua.LValue) {
	if c.src != nil {
		c.src.settle(c, i, v, nil)
		return
	}
	if c.settled[i] {
		return
	}
	if c.list != nil {
		c.list.RawSetInt(i+1, v)
	} else {
		c.results[i] = v
	}
	c.settle(i)
}

// setNumbers sets the results of items first… to nums, boxed in place
// (numberAt). A map's list takes them in one loop: a large map's results
// are mostly numbers, a million settled one by one cost the parent as
// much as its share of the map.
func (c *poolCall) setNumbers(first int, nums []float64) {
	if c.src != nil || c.list == nil {
		for i := range nums {
			c.setResult(first+i, numberAt(&nums[i]))
		}
		return
	}
	settled := c.settled[first : first+len(nums)]
	n := 0
	for i := range nums {
		if !settled[i] {
			c.list.RawSetInt(first+i+1, numberAt(&nums[i]))
			settled[i] = true
			n++
		}
	}
	if c.remaining -= n; c.remaining == 0 && n > 0 {
		c.finish()
	}
}

func (c *poolCall) setError(i int, err lua.LValue) {
	if c.src != nil {
		c.src.settle(c, i, nil, err)
		return
	}
	if c.settled[i] {
		return
	}
	if c.errs == nil {
		c.errs = map[int]lua.LValue{}
	}
	c.errs[i] = err
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.settle(i)
}

func (c *poolCall) settle(i int) {
	c.settled[i] = true
	if c.what == "imap_unordered" {
		c.order = append(c.order, i)
	}
	c.remaining--
	if c.remaining == 0 {
		c.finish()
	}
}

// finish marks the call done and queues its callback.
func (c *poolCall) finish() {
	c.done = true
	c.p.finished++
	c.seq = c.p.finished
	c.fn.unkeepRefs() // no worker will decode the function again
	delete(c.p.pending, c)
	cb := c.callback
	if c.firstErr != nil {
		cb = c.errback
	}
	if cb != nil && cb != lua.LNil {
		c.cbPending = true
		c.p.callbacks = append(c.p.callbacks, c)
	}
}

// value is the call's result: the value (apply) or the list.
func (c *poolCall) value(L *lua.LState) lua.LValue {
	if c.single {
		return c.results[0]
	}
	if c.list == nil {
		c.list = L.CreateTable(c.n, 0)
		for i, v := range c.results {
			c.list.RawSetInt(i+1, v)
		}
	}
	return c.list
}

// pump takes what the workers did since the last call: results, exits
// (replacing dead workers), and runs the callbacks of finished calls. L
// is nil when no Lua code may run (shutdown).
func (p *pool) pump(L *lua.LState) {
	for _, ev := range p.sched.Events() {
		switch ev.Kind {
		case runtime.EventResult:
			if p.deferResult(ev) {
				continue
			}
			p.onResult(ev.Task.Value.(*poolTask), ev.Frame)
		case runtime.EventExit:
			p.onExit(ev)
		case runtime.EventReady:
			p.startFails = 0
		}
	}
	if len(p.deferred) > 0 {
		p.decodeDeferred(!p.cpusBusy())
	}
	p.maintain()
	if L != nil {
		if len(p.sources) > 0 {
			p.feed(L) // pulled imaps top up (see pullSource)
		}
		p.runCallbacks(L)
	}
}

// deferResult keeps a result to decode later, and reports whether it
// did: one of numbers only (no error in it, so which error a call
// raises cannot change), of a call whose results the script takes only
// whole (map, not imap), while every CPU has a busy worker and tasks
// wait for one. Decoding then takes a CPU from a worker (a map's
// results are about a tenth of its work); once the queue is empty, a
// worker that finished leaves a CPU free while the others finish their
// last tasks, and pump decodes what it kept there. What the script sees
// is the same: a call is done only once all its results are decoded,
// and a call whose other items are all settled is decoded at once
// (decodeDeferred), so it is never kept waiting for another call's tasks
// in the queue.
func (p *pool) deferResult(ev runtime.PoolEvent) bool {
	t := ev.Task.Value.(*poolTask)
	if !t.call.whole || len(ev.Frame) < 2 || ev.Frame[1] != valuesPacked || !p.cpusBusy() {
		return false
	}
	t.call.deferredItems += t.count
	p.deferred = append(p.deferred, ev)
	return true
}

// decodeDeferred decodes the results deferResult kept: all of them, or
// only those of calls that wait for nothing else (every item not kept
// here is settled: the last result came, or the others failed), which
// are done once these are decoded.
func (p *pool) decodeDeferred(all bool) {
	kept := p.deferred[:0]
	for _, ev := range p.deferred {
		t := ev.Task.Value.(*poolTask)
		if c := t.call; all || c.remaining <= c.deferredItems {
			c.deferredItems -= t.count
			p.onResult(t, ev.Frame)
			continue
		}
		kept = append(kept, ev)
	}
	clear(p.deferred[len(kept):])
	p.deferred = kept
}

// cpusBusy says whether the pool runs, has a worker for every CPU, and
// has tasks waiting for a worker.
func (p *pool) cpusBusy() bool {
	return p.state == stateRun && len(p.live) >= numCPU && p.sched.Queued() > 0
}

// numCPU is how many CPUs this process may run on.
var numCPU = goruntime.NumCPU()

// onResult decodes a result frame (see encodeResults).
func (p *pool) onResult(t *poolTask, frame []byte) {
	t.traceResult()
	L := p.w.L
	c := t.call
	fail := func(err error) {
		e := NewError(L, "SerializationError", "%s: could not read a result: %v", c.what, err)
		for i := t.first; i < t.first+t.count; i++ {
			c.setError(i, e)
		}
	}
	if len(frame) < 2 {
		fail(errTruncated)
		return
	}
	if frame[1] == valuesPacked {
		nums, ok := unpackNumbers(frame[2:], t.count)
		if !ok {
			fail(fmt.Errorf("%d bytes of packed numbers, want %d", len(frame)-2, 8*t.count))
			return
		}
		c.setNumbers(t.first, nums)
		return
	}
	d, err := p.w.NewDecoder(frame[2:])
	if err != nil {
		fail(err)
		return
	}
	nv, err := d.Decode()
	nerr, ok := nv.(lua.LNumber)
	if err != nil || !ok || nerr < 0 || int(nerr) > t.count {
		fail(fmt.Errorf("bad error count %v (%v)", nv, err))
		return
	}
	var failed map[int]bool
	for k := 0; k < int(nerr); k++ {
		vals := make([]lua.LValue, 4)
		for j := range vals {
			if vals[j], err = d.Decode(); err != nil {
				fail(err)
				return
			}
		}
		at, ok := vals[0].(lua.LNumber)
		if !ok || at < 1 || int(at) > t.count {
			fail(fmt.Errorf("bad item index %v", vals[0]))
			return
		}
		if et, ok := vals[1].(*lua.LTable); ok && vals[3] == lua.LTrue {
			et.Metatable = errorMeta(L)
		}
		if failed == nil {
			failed = map[int]bool{}
		}
		failed[int(at)-1] = true
		c.setError(t.first+int(at)-1, remoteError(L, vals[1], lua.LVAsString(vals[2])))
	}
	for i := 0; i < t.count; i++ {
		v, err := d.Decode()
		if err != nil {
			fail(err)
			return
		}
		if !failed[i] {
			c.setResult(t.first+i, v)
		}
	}
}

// remoteError wraps a task's error as RemoteError, with the original
// value and the worker's traceback.
func remoteError(L *lua.LState, v lua.LValue, tb string) *lua.LTable {
	if ErrorType(v) == "SerializationError" {
		// The task ran but its result could not be sent back.
		return v.(*lua.LTable)
	}
	if isLimitError(v) {
		// The task's limit, not its own error (limits_pool.go).
		v.(*lua.LTable).RawSetString("traceback", lua.LString(tb))
		return v.(*lua.LTable)
	}
	e := NewError(L, "RemoteError", "%s", ErrorText(L, v))
	e.RawSetString("value", v)
	e.RawSetString("traceback", lua.LString(tb))
	return e
}

// onExit handles a worker that ended: the task it held fails.
func (p *pool) onExit(ev runtime.PoolEvent) {
	proc := p.live[ev.Worker]
	delete(p.live, ev.Worker)
	p.w.logf(logDebug, "cleaning up worker %s (pid %d), which %s", proc.name, proc.pid, exitDescription(ev.Code))
	if ev.Served == 0 && ev.Code != 0 && p.state != stateTerminate && !ev.Worker.Ready() {
		p.startFails++
		p.lastFail = fmt.Sprintf("%s (pid %d) %s", proc.name, proc.pid, exitDescription(ev.Code))
	}
	if ev.Task == nil {
		return
	}
	t := ev.Task.Value.(*poolTask)
	t.traceLost(ev.Worker.Child.Pid)
	var e *lua.LTable
	if p.state == stateTerminate {
		e = NewError(p.w.L, "ProcessError", "%s: the pool was terminated before %s finished", t.call.what, t.describe())
	} else if ev.Task.Expired() {
		e = expiredError(p.w.L, proc, t) // its wall-clock limit (limits_pool.go)
	} else if le := limitExitError(p.w.L, proc, t, ev.Code); le != nil {
		e = le // its CPU time or memory limit (limits_pool.go)
	} else {
		e = lostError(p.w.L, proc, ev.Code, t)
		if ev.Err != nil {
			e.RawSetString("message", lua.LString(lua.LVAsString(e.RawGetString("message"))+" ("+ev.Err.Error()+")"))
		}
	}
	for i := t.first; i < t.first+t.count; i++ {
		t.call.setError(i, e)
	}
}

// describe names a task for messages: "item 3 of map".
func (t *poolTask) describe() string {
	switch {
	case t.call.single:
		return "its " + t.call.what + " task"
	case t.count == 1:
		return fmt.Sprintf("item %d of %s", t.first+1, t.call.what)
	}
	return fmt.Sprintf("items %d-%d of %s", t.first+1, t.first+t.count, t.call.what)
}

// exitDescription says how a process ended, for "… (pid N) …":
// "exited with code 3", "was killed by SIGKILL".
func exitDescription(code int) string {
	s := runtime.ExitStatus(code)
	if _, ok := s.Signal(); ok {
		return "was " + s.String()
	}
	return s.String()
}

// lostError is the WorkerLostError of a task whose worker died.
func lostError(L *lua.LState, proc *process, code int, t *poolTask) *lua.LTable {
	e := NewError(L, "WorkerLostError", "%s (pid %d) %s while running %s", proc.name, proc.pid, exitDescription(code), t.describe())
	e.RawSetString("worker", lua.LString(proc.name))
	e.RawSetString("pid", lua.LNumber(proc.pid))
	e.RawSetString("exitcode", lua.LNumber(code))
	return e
}

// maintain starts replacements for workers that ended, while the pool
// runs (or is closing with tasks left), and gives up on a pool whose
// workers keep dying before they start.
func (p *pool) maintain() {
	if p.cluster.maintain() {
		return // a cluster pool's workers are the cluster's
	}
	if p.state == stateTerminate || p.broken != "" {
		return
	}
	if p.startFails >= maxStartFailures {
		p.broken = fmt.Sprintf("%d pool workers in a row exited before they were ready, the last one, %s (does the initializer fail?)", p.startFails, p.lastFail)
		e := NewError(p.w.L, "WorkerLostError", "%s", p.broken)
		for _, pt := range p.sched.Stop() {
			t := pt.Value.(*poolTask)
			for i := t.first; i < t.first+t.count; i++ {
				t.call.setError(i, e)
			}
		}
		return
	}
	if p.state == stateClose && p.sched.Queued() == 0 && len(p.sources) == 0 {
		return
	}
	for len(p.live) < p.n {
		if err := p.spawnWorker(); err != nil {
			p.broken = "could not start a pool worker: " + err.Error()
			return
		}
	}
}

// runCallbacks runs the callbacks of finished calls, in the order the
// calls finished. An error in a callback reaches the script's code that
// was running the pool.
func (p *pool) runCallbacks(L *lua.LState) {
	for len(p.callbacks) > 0 {
		c := p.callbacks[0]
		p.callbacks = p.callbacks[1:]
		c.cbPending = false
		if c.firstErr == nil {
			if c.callback != lua.LNil {
				L.Push(c.callback)
				L.Push(c.value(L))
				L.Call(1, 0)
			}
		} else if c.errback != lua.LNil {
			L.Push(c.errback)
			L.Push(c.firstErr)
			L.Call(1, 0)
		}
	}
}

// spinTime is how long a wait spins before it sleeps: about one round
// trip to a worker.
const spinTime = 50 * time.Microsecond

// await waits for the pool's workers on its scheduler's doorbell, where
// it has one (runtime.Scheduler.Await: the results come to this
// goroutine straight from the workers), for what is left of timeout
// since start. It reports false when the caller should wait on Notify,
// its timer and Ctrl-C instead.
func (p *pool) await(timeout time.Duration, start time.Time) bool {
	a, ok := any(p.sched).(interface {
		Await(ctx context.Context, timeout time.Duration) bool
	})
	if !ok {
		return false
	}
	left := time.Duration(-1)
	if timeout >= 0 {
		if left = timeout - time.Since(start); left <= 0 {
			return false
		}
	}
	return a.Await(p.w.ctx, left)
}

// waitFor pumps events until cond holds, timeout passes (negative: no
// limit) or Ctrl-C; it reports cond. Callbacks run unless quiet.
func (p *pool) waitFor(cond func() bool, timeout time.Duration, quiet bool) bool {
	w := p.w
	var L *lua.LState
	if !quiet {
		L = w.L
	}
	start := time.Now()
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	var traceStart int64 // when it first slept, traced (trace.go)
	for {
		p.pump(L)
		if cond() {
			tracePoolWait(traceStart)
			return true
		}
		if timeout == 0 {
			return false
		}
		if traceStart == 0 {
			traceStart = traceNow()
		}
		if p.await(timeout, start) {
			continue
		}
		select {
		case <-p.sched.Notify():
		case <-expire:
			p.pump(L)
			tracePoolWait(traceStart)
			return cond()
		case <-w.ctx.Done():
			if quiet {
				tracePoolWait(traceStart)
				return cond()
			}
			w.interrupted()
		}
	}
}
