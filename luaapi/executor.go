// concurrent.futures.ProcessPoolExecutor: submit, map, shutdown.
//
// An executor owns a pool (pool.go) and drives it as Python's executor
// drives its processes: submit is apply_async with a Future for its
// result (future.go), map is a map whose results an iterator gives in
// order (executor_map.go). What happens on the Lua goroutine is the
// pool's: results are taken, and done callbacks run, whenever the
// script calls into the executor or one of its futures, or waits in
// futures.wait or futures.as_completed.
//
// Two differences from Python. A worker that dies fails only the future
// it was running, with WorkerLostError, and is replaced: the executor
// never becomes "broken" (no BrokenProcessPool). And the workers start
// when the executor is made, not at the first submit.

package luaapi

import (
	"fmt"
	goruntime "runtime"

	lua "github.com/yuin/gopher-lua"
)

// The registry names of the executor's types. Their reprs use Python's
// module names (concurrent.futures.Future); the registry keeps procsh's
// prefix, which help() and its tests look types up by.
const (
	executorTypeName = "multiprocessing.ProcessPoolExecutor"
	futureTypeName   = "multiprocessing.Future"
)

// executor is the Go side of a ProcessPoolExecutor. Only the Lua
// goroutine uses it.
type executor struct {
	p    *pool
	shut bool // shutdown was called: submit and map refuse
	ud   *lua.LUserData
}

var executorMethods = map[string]lua.LGFunction{
	"submit":   executorSubmit,
	"map":      executorMap,
	"shutdown": executorShutdown,
}

// checkExecutor returns the executor at n.
func checkExecutor(L *lua.LState, n int) *executor {
	return checkObject[*executor](L, n, "concurrent.futures.ProcessPoolExecutor")
}

// executorParams are ProcessPoolExecutor's parameters. Python's second,
// mp_context, has no counterpart (procsh has one way to start a
// process), so only max_workers is taken by position.
var executorParams = params{
	pos:    []string{"max_workers"},
	extra:  []string{"initializer", "initargs", "max_tasks_per_child", "cluster", "listen", "retries", "token"},
	kwargs: "pass a table as an argument, initargs = {{key = value}}",
}

// newExecutor is futures.ProcessPoolExecutor([max_workers]) or
// futures.ProcessPoolExecutor{max_workers=, initializer=, initargs=,
// max_tasks_per_child=}, and a Pool's cluster options (cluster, listen,
// retries, token) for workers on many hosts (pool_cluster.go).
func newExecutor(L *lua.LState) int {
	const what = "ProcessPoolExecutor"
	var given [8]lua.LValue
	executorParams.read(L, 1, what, given[:])
	workers, init, initargs, maxTasks := given[0], given[1], given[2], given[3]
	n := goruntime.NumCPU()
	if workers != lua.LNil {
		n = positiveInt(L, workers, what, "max_workers")
	}
	if init != lua.LNil && !isCallable(L, init) {
		Raise(L, "TypeError", "%s: initializer is a %s, want a function", what, init.Type().String())
	}
	checkArgList(L, initargs, what+": initargs", executorParams.kwargs)
	args := argList(L, initargs, what+": initargs")
	perChild := 0
	if maxTasks != lua.LNil {
		perChild = positiveInt(L, maxTasks, what, "max_tasks_per_child")
	}
	ex := &executor{}
	if cl := given[4:]; cl[0] != lua.LNil || cl[1] != lua.LNil || cl[2] != lua.LNil || cl[3] != lua.LNil {
		ex.p = startClusterPool(L, n, workers != lua.LNil, init, args, perChild, cl)
	} else {
		ex.p = startPool(L, what, n, init, args, perChild)
	}
	// At the end of the program the executor, not its pool, is shut
	// down: Python waits for pending futures there.
	w := ex.p.w
	for i, c := range w.pools {
		if c == closer(ex.p) {
			w.pools[i] = ex
		}
	}
	ex.ud = L.NewUserData()
	ex.ud.Value = ex
	ex.ud.Metatable = w.typeMeta(executorTypeName)
	L.Push(ex.ud)
	return 1
}

// positiveInt reads a whole number of at least 1 given as name.
func positiveInt(L *lua.LState, v lua.LValue, what, name string) int {
	x, ok := v.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "%s: %s is a %s, want a number", what, name, v.Type().String())
	}
	if float64(x) != float64(int(x)) || x < 1 {
		Raise(L, "ValueError", "%s: got %s %s, want a whole number, 1 or more", what, name, x.String())
	}
	return int(x)
}

// checkOpen raises RuntimeError after shutdown, as Python does.
func (ex *executor) checkOpen(L *lua.LState) {
	if ex.shut {
		Raise(L, "RuntimeError", "cannot schedule new futures after shutdown")
	}
}

// executorSubmit is ex:submit(fn, ...): fn(...) in a worker, a Future at
// once. The arguments are every value after fn, nils included.
func executorSubmit(L *lua.LState) int {
	ex := checkExecutor(L, 1)
	ex.checkOpen(L)
	fn := L.Get(2)
	top := L.GetTop()
	args := L.CreateTable(max(top-2, 0), 1)
	for i := 3; i <= top; i++ {
		args.RawSetInt(i-2, L.Get(i))
	}
	args.RawSetString("n", lua.LNumber(max(top-2, 0)))
	c, t := ex.p.apply(L, "submit", fn, args)
	L.Push(newFuture(L, c, t))
	return 1
}

var shutdownParams = params{pos: []string{"wait"}, extra: []string{"cancel_futures"}}

// executorShutdown is ex:shutdown([wait]) or ex:shutdown{wait=,
// cancel_futures=}: take no more work; cancel_futures cancels the
// futures no worker has started; wait (the default) waits until every
// pending future is done and the workers have exited.
func executorShutdown(L *lua.LState) int {
	ex := checkExecutor(L, 1)
	var given [2]lua.LValue
	shutdownParams.read(L, 2, "ProcessPoolExecutor.shutdown", given[:])
	wait := toBool(L, given[0], "ProcessPoolExecutor.shutdown: wait", true)
	cancel := toBool(L, given[1], "ProcessPoolExecutor.shutdown: cancel_futures", false)
	ex.close(L, cancel)
	if wait {
		ex.join(L)
	}
	return 0
}

// close takes no more work; with cancel, the queued tasks are dropped
// and their futures (and map items) cancelled, their callbacks run.
func (ex *executor) close(L *lua.LState, cancel bool) {
	ex.shut = true
	p := ex.p
	if cancel && p.state != stateTerminate {
		// Stop drops the queued tasks; the workers quit once their
		// running task is done, as Close would have them.
		for _, t := range p.sched.Stop() {
			cancelTask(L, t.Value.(*poolTask))
		}
	}
	if p.state == stateRun {
		p.state = stateClose
		p.sched.Close()
	}
	p.pump(L)
}

// join waits until every pending future is done and the workers have
// exited; Ctrl-C interrupts it.
func (ex *executor) join(L *lua.LState) {
	p := ex.p
	p.waitFor(func() bool { return len(p.pending) == 0 && len(p.live) == 0 && len(p.callbacks) == 0 }, -1, false)
	p.terminate(true)
	ex.forget()
}

// enter and exit make mp.with(ex, fn) Python's `with executor:`: the
// way out is shutdown(wait=true).
func (ex *executor) enter(L *lua.LState) {}
func (ex *executor) exit(L *lua.LState) {
	ex.close(L, false)
	ex.join(L)
}

// shutdown is the end of the program. As Python does, it waits for the
// pending futures (Ctrl-C gives up), runs the done callbacks of those
// that finished, then ends the workers.
func (ex *executor) shutdown() {
	p := ex.p
	w := p.w
	if p.state == stateRun {
		p.state = stateClose
		p.sched.Close()
	}
	p.waitFor(func() bool { return len(p.pending) == 0 }, -1, true)
	if len(p.callbacks) > 0 && w.ctx.Err() == nil {
		w.Call(w.L.NewFunction(func(L *lua.LState) int {
			p.runCallbacks(L)
			return 0
		}), 0)
	}
	p.terminate(false)
	ex.forget()
}

// forget drops the executor from what the end of the program shuts down.
func (ex *executor) forget() {
	w := ex.p.w
	for i, c := range w.pools {
		if c == closer(ex) {
			w.pools = append(w.pools[:i], w.pools[i+1:]...)
			return
		}
	}
}

func executorString(L *lua.LState) int {
	ex := checkExecutor(L, 1)
	state := "running"
	if ex.shut {
		state = "shutdown"
	}
	L.Push(lua.LString(fmt.Sprintf("<concurrent.futures.ProcessPoolExecutor max_workers=%d state=%s pending=%d>", ex.p.n, state, len(ex.p.pending))))
	return 1
}

// executorMeta makes the metatable of ProcessPoolExecutor objects.
func executorMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), executorMethods))
	L.SetField(mt, "__tostring", L.NewFunction(executorString))
	return mt
}
