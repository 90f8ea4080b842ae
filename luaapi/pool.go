// multiprocessing.Pool and AsyncResult: the parent side of a pool.
//
// A pool's workers are daemon children (PoolWorker-N) started when the
// pool is made, each with a task pipe and a result pipe. runtime's
// Scheduler hands tasks to idle workers from its own goroutines; the
// results, worker exits and readiness it reports are taken here, on the
// Lua goroutine, whenever the script calls into the pool (get, wait,
// map, an imap step, close, join…): results are decoded then, callbacks
// run then, dead workers are replaced then. So callbacks never run
// concurrently with the script's code.
//
// A call (map, apply_async…) is split into tasks of chunksize items. Its
// function is encoded once per call and sent to a worker with the first
// of the call's tasks that worker gets; the worker keeps the functions of
// its recent calls (fnCache). Chunk sources a worker already has are not
// resent (Encoder.Known).

package luaapi

import (
	"fmt"
	goruntime "runtime"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	poolTypeName        = "multiprocessing.Pool"
	asyncResultTypeName = "multiprocessing.AsyncResult"
)

type poolState int

const (
	stateRun poolState = iota
	stateClose
	stateTerminate
)

var poolStateNames = [...]string{"RUN", "CLOSE", "TERMINATE"}

// maxStartFailures is how many workers in a row may exit before they are
// ready (an initializer that fails) before the pool gives up.
const maxStartFailures = 3

// pool is the Go side of a Pool object. Only the Lua goroutine uses it.
type pool struct {
	w            *World
	n            int
	state        poolState
	sched        poolScheduler
	startPayload []byte
	startChunks  []ChunkID
	startRefs    *Encoder // holds the references of startPayload's handles
	maxTasks     int
	nextCall     uint64
	live         map[*runtime.PoolWorker]*process
	startFails   int
	lastFail     string // how the last worker that failed to start ended
	broken       string // why the pool gave up starting workers
	pending      map[*poolCall]struct{}
	callbacks    []*poolCall // finished calls whose callbacks have not run
	finished     uint64      // calls finished so far (poolCall.seq)
	sources      []*poolCall // imap calls still pulling items (pool_pull.go)
	ud           *lua.LUserData
	// cluster is a cluster pool's part in the cluster, nil for a local
	// pool (pool_cluster.go).
	cluster *clusterPool

	// lim is the pool's limits, nil for none (limits_pool.go).
	lim *limitSet

	// deferred holds results not decoded yet (pool_results.go).
	deferred []runtime.PoolEvent
}

// poolScheduler is what the pool asks of its scheduler: a
// runtime.Scheduler for a local pool's workers, a clusterScheduler for a
// cluster's (pool_cluster_sched.go). See runtime.Scheduler for what each
// method does.
type poolScheduler interface {
	Submit(tasks ...*runtime.PoolTask)
	Cancel(tasks ...*runtime.PoolTask) []*runtime.PoolTask
	Queued() int
	Workers() int
	Close()
	Stop() []*runtime.PoolTask
	Events() []runtime.PoolEvent
	Notify() <-chan struct{}
}

// poolCall is one map, starmap, imap or apply: its results so far.
type poolCall struct {
	p         *pool
	id        uint64
	what      string
	mode      byte
	fn        *Encoder
	n         int
	single    bool         // apply: the result is the value, not a list
	whole     bool         // map, starmap and their async forms: taken only whole
	settled   []bool       // item i has its result or error
	results   []lua.LValue // imap and apply: the results
	list      *lua.LTable  // map: the result list, filled as results come
	errs      map[int]lua.LValue
	firstErr  lua.LValue
	order     []int // indices in the order they finished (imap_unordered)
	remaining int
	// deferredItems counts the items of results kept undecoded (pool_results.go's deferResult).
	deferredItems int
	done          bool
	seq           uint64 // the pool's count of finished calls when this one finished
	callback      lua.LValue
	errback       lua.LValue
	cbPending     bool
	src           *pullSource // an imap whose items come from a function (pool_pull.go)
	lim           *limitSet   // its tasks' limits, nil for none (limits_pool.go)
	// traceStart is when the script made the call, traced (trace.go).
	traceStart int64
}

// poolTask is a chunk of a call: items first … first+count-1 (0-based),
// encoded by the codec, or packed when they are all numbers.
type poolTask struct {
	call   *poolCall
	first  int
	count  int
	items  *Encoder
	packed []byte
	// traceID names the task in the trace once sent (trace.go).
	traceID uint64
}

// workerLocal is what the parent knows a worker has: chunk sources and
// the functions of recent calls (mirroring the worker's fnCache).
type workerLocal struct {
	chunks map[ChunkID]bool
	fns    [fnCacheSize]uint64
	nfns   int
	frames uint64 // task frames sent, counted when traced (trace.go)
	buf    []byte // the last task frame made for the worker (newFrame)
}

func (wl *workerLocal) knows(id ChunkID) bool { return wl.chunks[id] }

func (wl *workerLocal) learn(cs []*Chunk) {
	for _, c := range cs {
		wl.chunks[c.ID] = true
	}
}

func (wl *workerLocal) hasFn(id uint64) bool {
	for i := 0; i < fnCacheSize && i < wl.nfns; i++ {
		if wl.fns[i] == id {
			return true
		}
	}
	return false
}

func (wl *workerLocal) addFn(id uint64) {
	wl.fns[wl.nfns%fnCacheSize] = id
	wl.nfns++
}

// poolMethods are Pool's methods (a cluster build looks at what the
// sending ones send first: pool_cluster_values.go).
var poolMethods = map[string]lua.LGFunction{
	"map":            poolMap,
	"starmap":        poolStarmap,
	"map_async":      poolMapAsync,
	"starmap_async":  poolStarmapAsync,
	"imap":           poolImap,
	"imap_unordered": poolImapUnordered,
	"apply":          poolApply,
	"apply_async":    poolApplyAsync,
	"close":          poolClose,
	"join":           poolJoin,
	"terminate":      poolTerminate,
}

var asyncResultMethods = map[string]lua.LGFunction{
	"get":        asyncResultGet,
	"wait":       asyncResultWait,
	"ready":      asyncResultReady,
	"successful": asyncResultSuccessful,
}

// parentBallast is the pool parent's share of what poolworker.go's
// ballast does for workers: the parent decodes every result (boxed
// numbers, result lists), and with Go's small default heap goal it would
// collect several times per large map, its collector's workers taking
// CPU the pool's workers need. Allocated, never touched: no resident
// memory. Made by the first Pool.
var parentBallast []byte

const parentBallastSize = 16 << 20

// checkPool returns the pool at n.
func checkPool(L *lua.LState, n int) *pool {
	return checkObject[*pool](L, n, poolTypeName)
}

var poolParams = params{
	pos:    []string{"processes", "initializer", "initargs", "maxtasksperchild"},
	extra:  []string{"cluster", "listen", "retries", "token", "limits"}, // a cluster pool's (pool_cluster.go), then limits (limits_pool.go)
	list:   "initargs",
	kwargs: "pass a table as an argument, initargs = {{key = value}}",
}

// newPool is mp.Pool([n]) or mp.Pool{processes=, initializer=, initargs=,
// maxtasksperchild=}; the positional form takes them in that order. The
// options cluster, listen, retries and token make a cluster pool.
func newPool(L *lua.LState) int {
	var given [9]lua.LValue
	poolParams.read(L, 1, "Pool", given[:])
	procs, init, initargs, maxTasksArg := given[0], given[1], given[2], given[3]
	checkArgList(L, initargs, "Pool: initargs", poolParams.kwargs)
	var n int
	switch x := procs.(type) {
	case *lua.LNilType:
		n = goruntime.NumCPU()
	case lua.LNumber:
		if float64(x) != float64(int(x)) || x < 1 && (x < 0 || given[4] == lua.LNil) { // a cluster's may all be elsewhere
			Raise(L, "ValueError", "Pool: got %s processes, want at least 1", x.String())
		}
		n = int(x)
	default:
		Raise(L, "TypeError", "Pool: processes is a %s, want a number", procs.Type().String())
	}
	if init != lua.LNil && !isCallable(L, init) {
		Raise(L, "TypeError", "Pool: initializer is a %s, want a function", init.Type().String())
	}
	maxTasks := 0
	switch m := maxTasksArg.(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if float64(m) != float64(int(m)) || m < 1 {
			Raise(L, "ValueError", "Pool: maxtasksperchild is %s, want a positive integer or nil", m.String())
		}
		maxTasks = int(m)
	default:
		Raise(L, "TypeError", "Pool: maxtasksperchild is a %s, want a number", maxTasksArg.Type().String())
	}
	var p *pool
	if cl := given[4:]; cl[0] != lua.LNil || cl[1] != lua.LNil || cl[2] != lua.LNil || cl[3] != lua.LNil {
		p = startClusterPool(L, n, procs != lua.LNil, init, argList(L, initargs, "Pool: initargs"), maxTasks, cl)
	} else {
		p = startPoolLimited(L, "Pool", n, init, argList(L, initargs, "Pool: initargs"), maxTasks, readPoolLimits(L, given[8], "Pool"))
	}
	L.Push(p.ud)
	return 1
}

// startPool starts a pool of n workers, each running init(args...)
// first, each serving at most maxTasks tasks (0: no limit), and waits
// until they have started. what names the caller in errors ("Pool").
func startPool(L *lua.LState, what string, n int, init lua.LValue, args []lua.LValue, maxTasks int) *pool {
	return startPoolLimited(L, what, n, init, args, maxTasks, nil)
}

// startPoolLimited is startPool for a pool with limits (nil: none).
func startPoolLimited(L *lua.LState, what string, n int, init lua.LValue, args []lua.LValue, maxTasks int, lim *limitSet) *pool {
	w := worldOf(L)
	p := &pool{w: w, n: n, maxTasks: maxTasks, lim: lim, live: map[*runtime.PoolWorker]*process{}, pending: map[*poolCall]struct{}{}}
	if w.Self.Daemon {
		Raise(L, "AssertionError", "daemonic processes are not allowed to have children")
	}
	e := encodeInitializer(L, w, init, args)
	if err := e.EncodeLenient(L.G.Global, "globals"); err != nil {
		raiseSend(L, err)
	}
	p.startPayload = e.Bytes()
	e.keepRefs() // every worker decodes it: each takes references of its own
	p.startRefs = e
	for _, c := range e.Chunks() {
		p.startChunks = append(p.startChunks, c.ID)
	}
	if parentBallast == nil && !w.memoryLimited() { // a ballast would count against a memory limit
		parentBallast = make([]byte, parentBallastSize)
	}
	sched := runtime.NewScheduler(p.maxTasks)
	if w.Arena != nil {
		// Tasks and results through the arena; without room there, the
		// pipes carry them.
		sched.UseMailboxes(w.Arena)
	}
	p.sched = sched
	for i := 0; i < p.n; i++ {
		if err := p.spawnWorker(); err != nil {
			p.shutdown()
			Raise(L, "OSError", "%s: %v", what, err)
		}
	}
	w.pools = append(w.pools, p)
	p.ud = L.NewUserData()
	p.ud.Value = p
	p.ud.Metatable = worldOf(L).typeMeta(poolTypeName)
	// The workers are started when the pool is made: wait (boundedly)
	// until each has read its start message, as a forked one would have
	// it. Their initializers may still run.
	p.waitFor(func() bool { return p.bootedCount() == len(p.live) }, 10*time.Second, false)
	return p
}

// bootedCount counts the live workers that have started.
func (p *pool) bootedCount() int {
	n := 0
	for pw := range p.live {
		if pw.Booted() {
			n++
		}
	}
	return n
}

// spawnWorker starts one worker, through the same path as Process, so it
// is among the active children.
func (p *pool) spawnWorker() error {
	w := p.w
	proc := &process{w: w, kind: kindChild, daemon: true, fields: w.L.NewTable(), poolName: "PoolWorker", lim: p.workerLimits()}
	proc.ident, proc.name = w.nextIdentity("PoolWorker")
	pp, err := runtime.NewPoolPipes()
	if err != nil {
		return err
	}
	msg := StartMessage{Kind: startPoolWorker, Self: Identity{Name: proc.name, Ident: proc.ident, Daemon: true}, Parent: w.Self, Payload: p.startPayload}
	if err := proc.spawn(msg, pp.ChildFiles()...); err != nil {
		pp.Close()
		return err
	}
	wl := &workerLocal{chunks: make(map[ChunkID]bool, len(p.startChunks))}
	for _, id := range p.startChunks {
		wl.chunks[id] = true
	}
	pw := p.sched.(*runtime.Scheduler).AddWorker(proc.child, pp, proc, wl)
	p.live[pw] = proc
	w.logf(logDebug, "added worker %s (pid %d)", proc.name, proc.pid)
	return nil
}

func poolString(L *lua.LState) int {
	p := checkPool(L, 1)
	L.Push(lua.LString(fmt.Sprintf("<Pool processes=%d state=%s>", p.n, poolStateNames[p.state])))
	return 1
}

// checkRunning raises ValueError unless the pool takes new tasks.
func (p *pool) checkRunning(L *lua.LState) {
	if p.state != stateRun {
		Raise(L, "ValueError", "Pool not running")
	}
}

// enter and exit make mp.with(pool, fn) Python's `with pool:`.
func (p *pool) enter(L *lua.LState) { p.checkRunning(L) }
func (p *pool) exit(L *lua.LState)  { p.terminate(true) }

func poolClose(L *lua.LState) int {
	p := checkPool(L, 1)
	if p.state == stateRun {
		p.state = stateClose
		p.closeScheduler()
	}
	p.pump(L)
	return 0
}

func poolJoin(L *lua.LState) int {
	p := checkPool(L, 1)
	timeout := timeoutArg(L, 2, "Pool.join", -1)
	if p.state == stateRun {
		Raise(L, "ValueError", "Pool is still running: call close() or terminate() first")
	}
	done := p.waitFor(func() bool { return len(p.live) == 0 && len(p.callbacks) == 0 && p.cluster.done() }, timeout, false)
	if done {
		p.forget()
	}
	L.Push(lua.LBool(done))
	return 1
}

func poolTerminate(L *lua.LState) int {
	checkPool(L, 1).terminate(true)
	return 0
}

// terminate ends the workers now: the tasks not finished fail. It waits
// (boundedly) until every worker has exited.
func (p *pool) terminate(callbacks bool) {
	if p.state != stateTerminate {
		p.state = stateTerminate
		L := p.w.L
		e := NewError(L, "ProcessError", "the pool was terminated before the task was sent")
		for _, pt := range p.sched.Stop() {
			t := pt.Value.(*poolTask)
			for i := t.first; i < t.first+t.count; i++ {
				t.call.setError(i, e)
			}
		}
		for _, proc := range p.live {
			proc.child.Terminate()
		}
		for _, proc := range p.live {
			proc.child.Stop(500 * time.Millisecond)
		}
	}
	p.waitFor(func() bool { return len(p.live) == 0 }, 5*time.Second, true)
	// A task in flight on a worker that has not reported its exit yet.
	for c := range p.pending {
		for i := 0; i < c.n; i++ {
			if !c.isSettled(i) {
				c.setError(i, NewError(p.w.L, "ProcessError", "%s: the pool was terminated before item %d finished", c.what, i+1))
			}
		}
	}
	p.forget()
	if callbacks {
		p.runCallbacks(p.w.L)
	}
}

// forget drops the pool from the ones the end of the program shuts down.
func (p *pool) forget() {
	w := p.w
	if p.startRefs != nil {
		p.startRefs.unkeepRefs() // no worker is left to decode the start message
	}
	if s, ok := any(p.sched).(interface{ ReleaseMailboxes() }); ok {
		s.ReleaseMailboxes()
	}
	for i, c := range w.pools {
		if c == closer(p) {
			w.pools = append(w.pools[:i], w.pools[i+1:]...)
			return
		}
	}
}

// shutdown is the end of the program: terminate, without running Lua.
func (p *pool) shutdown() { p.terminate(false) }

// poolMeta makes the metatable of Pool objects.
func poolMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), poolMethods))
	L.SetField(mt, "__tostring", L.NewFunction(poolString))
	return mt
}

// encodeInitializer starts a pool's start payload: its initializer and
// initargs.
func encodeInitializer(L *lua.LState, w *World, init lua.LValue, args []lua.LValue) *Encoder {
	e := w.NewEncoder()
	if err := e.Encode(init, "initializer"); err != nil {
		raiseSend(L, err)
	}
	at := L.CreateTable(len(args), 1)
	for i, a := range args {
		at.RawSetInt(i+1, a)
	}
	at.RawSetString("n", lua.LNumber(len(args)))
	if err := e.Encode(at, "initargs"); err != nil {
		raiseSend(L, err)
	}
	return e
}
