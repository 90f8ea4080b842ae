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
	"encoding/binary"
	"fmt"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
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
	sched        *runtime.Scheduler
	startPayload []byte
	startChunks  []ChunkID
	maxTasks     int
	nextCall     uint64
	live         map[*runtime.PoolWorker]*process
	startFails   int
	lastFail     string // how the last worker that failed to start ended
	broken       string // why the pool gave up starting workers
	pending      map[*poolCall]struct{}
	callbacks    []*poolCall // finished calls whose callbacks have not run
	ud           *lua.LUserData
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
	settled   []bool       // item i has its result or error
	results   []lua.LValue // imap and apply: the results
	list      *lua.LTable  // map: the result list, filled as results come
	errs      map[int]lua.LValue
	firstErr  lua.LValue
	order     []int // indices in the order they finished (imap_unordered)
	remaining int
	done      bool
	callback  lua.LValue
	errback   lua.LValue
	cbPending bool
}

// poolTask is a chunk of a call: items first … first+count-1 (0-based),
// encoded by the codec, or packed when they are all numbers.
type poolTask struct {
	call   *poolCall
	first  int
	count  int
	items  *Encoder
	packed []byte
}

// workerLocal is what the parent knows a worker has: chunk sources and
// the functions of recent calls (mirroring the worker's fnCache).
type workerLocal struct {
	chunks map[ChunkID]bool
	fns    [fnCacheSize]uint64
	nfns   int
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

func init() {
	onSetup(func(w *World) {
		w.lazyType(poolTypeName, func(L *lua.LState) *lua.LTable {
			mt := L.NewTable()
			L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), poolMethods))
			L.SetField(mt, "__tostring", L.NewFunction(poolString))
			return mt
		})
		w.lazyType(asyncResultTypeName, func(L *lua.LState) *lua.LTable {
			mt := L.NewTable()
			L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), asyncResultMethods))
			L.SetField(mt, "__tostring", L.NewFunction(asyncResultString))
			return mt
		})
		w.addModule("multiprocessing", map[string]lua.LGFunction{"Pool": newPool})
	})
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
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if p, ok := ud.Value.(*pool); ok {
			return p
		}
	}
	L.ArgError(n, "Pool expected")
	return nil
}

// checkAsyncResult returns the AsyncResult at n.
func checkAsyncResult(L *lua.LState, n int) *poolCall {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*poolCall); ok {
			return c
		}
	}
	L.ArgError(n, "AsyncResult expected")
	return nil
}

// newPool is mp.Pool([n]) or mp.Pool{processes=, initializer=, initargs=,
// maxtasksperchild=}; the positional form takes them in that order.
func newPool(L *lua.LState) int {
	w := worldOf(L)
	var procs, init, initargs, maxTasks lua.LValue
	if opts, ok := L.Get(1).(*lua.LTable); ok && L.GetTop() == 1 {
		procs, init = opts.RawGetString("processes"), opts.RawGetString("initializer")
		initargs, maxTasks = opts.RawGetString("initargs"), opts.RawGetString("maxtasksperchild")
	} else {
		procs, init, initargs, maxTasks = L.Get(1), L.Get(2), L.Get(3), L.Get(4)
	}
	p := &pool{w: w, live: map[*runtime.PoolWorker]*process{}, pending: map[*poolCall]struct{}{}}
	switch n := procs.(type) {
	case *lua.LNilType:
		p.n = goruntime.NumCPU()
	case lua.LNumber:
		if float64(n) != float64(int(n)) || n < 1 {
			Raise(L, "ValueError", "Pool: got %s processes, want at least 1", n.String())
		}
		p.n = int(n)
	default:
		Raise(L, "TypeError", "Pool: processes is a %s, want a number", procs.Type().String())
	}
	if init != lua.LNil && !isCallable(L, init) {
		Raise(L, "TypeError", "Pool: initializer is a %s, want a function", init.Type().String())
	}
	switch m := maxTasks.(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if float64(m) != float64(int(m)) || m < 1 {
			Raise(L, "ValueError", "Pool: maxtasksperchild is %s, want a positive integer or nil", m.String())
		}
		p.maxTasks = int(m)
	default:
		Raise(L, "TypeError", "Pool: maxtasksperchild is a %s, want a number", maxTasks.Type().String())
	}
	if w.Self.Daemon {
		Raise(L, "AssertionError", "daemonic processes are not allowed to have children")
	}
	args := argList(L, initargs, "Pool: initargs")
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
	if err := e.EncodeLenient(L.G.Global, "globals"); err != nil {
		raiseSend(L, err)
	}
	p.startPayload = e.Bytes()
	for _, c := range e.Chunks() {
		p.startChunks = append(p.startChunks, c.ID)
	}
	if parentBallast == nil {
		parentBallast = make([]byte, parentBallastSize)
	}
	p.sched = runtime.NewScheduler(p.maxTasks)
	for i := 0; i < p.n; i++ {
		if err := p.spawnWorker(); err != nil {
			p.shutdown()
			Raise(L, "OSError", "Pool: %v", err)
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
	L.Push(p.ud)
	return 1
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
	proc := &process{w: w, kind: kindChild, daemon: true, fields: w.L.NewTable(), poolName: "PoolWorker"}
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
	pw := p.sched.AddWorker(proc.child, pp, proc, wl)
	p.live[pw] = proc
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

// ---- submitting work ----

// newCall starts a call of fn over n items, raising if fn cannot be
// sent.
func (p *pool) newCall(L *lua.LState, what string, fn lua.LValue, n int, mode byte) *poolCall {
	p.checkRunning(L)
	if !isCallable(L, fn) {
		Raise(L, "TypeError", "%s: got a %s, want a function", what, fn.Type().String())
	}
	if p.broken != "" {
		Raise(L, "WorkerLostError", "%s: %s", what, p.broken)
	}
	e := p.w.NewEncoder()
	if err := e.Encode(fn, "function"); err != nil {
		raiseSend(L, err)
	}
	p.nextCall++
	c := &poolCall{p: p, id: p.nextCall, what: what, mode: mode, fn: e, n: n, remaining: n, settled: make([]bool, n)}
	if strings.HasPrefix(what, "imap") || n == 1 {
		c.results = make([]lua.LValue, n)
	} else {
		c.list = L.CreateTable(n, 0)
	}
	p.pending[c] = struct{}{}
	return c
}

// submitItems splits items into tasks of chunksize and queues them. All
// are encoded first: an item that cannot be sent fails the call before
// anything runs, and the encoding does not compete with the workers.
func (p *pool) submitItems(L *lua.LState, c *poolCall, items []lua.LValue, chunksize int) {
	if c.n == 0 {
		c.finish()
		return
	}
	tasks := make([]*runtime.PoolTask, 0, (len(items)+chunksize-1)/chunksize)
	for first := 0; first < len(items); first += chunksize {
		count := min(chunksize, len(items)-first)
		if c.mode == modeMap {
			if packed, ok := packNumbers(items[first : first+count]); ok {
				t := &poolTask{call: c, first: first, count: count, packed: packed}
				tasks = append(tasks, &runtime.PoolTask{Frame: t.frame, Value: t})
				continue
			}
		}
		e := p.w.NewEncoder()
		for i := first; i < first+count; i++ {
			if c.mode == modeStar {
				if _, ok := items[i].(*lua.LTable); !ok {
					delete(p.pending, c)
					Raise(L, "TypeError", "%s: item %d is a %s, want a table of arguments", c.what, i+1, items[i].Type().String())
				}
			}
			if err := e.Encode(items[i], "item"); err != nil {
				delete(p.pending, c)
				e = p.w.NewEncoder()
				raiseSend(L, e.Encode(items[i], fmt.Sprintf("list[%d]", i+1)))
			}
		}
		t := &poolTask{call: c, first: first, count: count, items: e}
		tasks = append(tasks, &runtime.PoolTask{Frame: t.frame, Value: t})
	}
	p.sched.Submit(tasks...)
}

// frame makes the task's frame for worker pw: the call's function if pw
// has not got it, then the items.
func (t *poolTask) frame(pw *runtime.PoolWorker) []byte {
	wl := pw.Local.(*workerLocal)
	c := t.call
	var fb []byte
	hasFn := !wl.hasFn(c.id)
	if hasFn {
		fe := *c.fn
		fe.Known = wl.knows
		fb = fe.Bytes()
		wl.learn(c.fn.Chunks())
		wl.addFn(c.id)
	}
	var ib []byte
	if t.items != nil {
		ie := *t.items
		ie.Known = wl.knows
		ib = ie.Bytes()
		wl.learn(t.items.Chunks())
	}
	b := runtime.NewFrame(runtime.FrameTask, 25+len(fb)+len(ib)+len(t.packed))
	b = binary.AppendUvarint(b, c.id)
	b = binary.AppendUvarint(b, uint64(t.count))
	if hasFn {
		b = append(b, c.mode, 1)
		b = binary.AppendUvarint(b, uint64(len(fb)))
		b = append(b, fb...)
	} else {
		b = append(b, c.mode, 0)
	}
	if t.items != nil {
		b = append(b, valuesCodec)
		b = append(b, ib...)
	} else {
		b = append(b, valuesPacked)
		b = append(b, t.packed...)
	}
	return runtime.SealFrame(b)
}

// chunksizeArg reads a chunksize: nil gives def.
func chunksizeArg(L *lua.LState, n int, def int) int {
	v := L.Get(n)
	if v == lua.LNil {
		return def
	}
	f, ok := v.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "chunksize is a %s, want a number", v.Type().String())
	}
	if f < 1 || float64(f) != float64(int(f)) {
		Raise(L, "ValueError", "Chunksize must be 1+, not %s", f.String())
	}
	return int(f)
}

// defaultChunksize is Python's rule: about four chunks per worker.
func (p *pool) defaultChunksize(n int) int {
	if n == 0 {
		return 1
	}
	c, extra := n/(p.n*4), n%(p.n*4)
	if extra != 0 {
		c++
	}
	return c
}

// itemsArg reads the list of items at n.
func itemsArg(L *lua.LState, n int, what string) []lua.LValue {
	v := L.Get(n)
	if _, ok := v.(*lua.LTable); !ok {
		Raise(L, "TypeError", "%s: got a %s, want a list", what, v.Type().String())
	}
	return argList(L, v, what)
}

// callbackArg reads an optional callback.
func callbackArg(L *lua.LState, n int, what string) lua.LValue {
	v := L.Get(n)
	if v != lua.LNil && !isCallable(L, v) {
		Raise(L, "TypeError", "%s is a %s, want a function", what, v.Type().String())
	}
	return v
}

// startMap is map/starmap/map_async/starmap_async/imap: f, list,
// chunksize, then (async forms) callback and error_callback.
func startMap(L *lua.LState, what string, mode byte, async bool, defChunk int) *poolCall {
	p := checkPool(L, 1)
	fn := L.Get(2)
	items := itemsArg(L, 3, what)
	def := defChunk
	if def == 0 {
		def = p.defaultChunksize(len(items))
	}
	chunksize := chunksizeArg(L, 4, def)
	var cb, eb lua.LValue = lua.LNil, lua.LNil
	if async {
		cb = callbackArg(L, 5, what+": callback")
		eb = callbackArg(L, 6, what+": error_callback")
	}
	p.pump(L)
	c := p.newCall(L, what, fn, len(items), mode)
	c.callback, c.errback = cb, eb
	p.submitItems(L, c, items, chunksize)
	return c
}

func poolMap(L *lua.LState) int {
	c := startMap(L, "map", modeMap, false, 0)
	return c.get(L, -1)
}

func poolStarmap(L *lua.LState) int {
	c := startMap(L, "starmap", modeStar, false, 0)
	return c.get(L, -1)
}

func poolMapAsync(L *lua.LState) int {
	L.Push(startMap(L, "map_async", modeMap, true, 0).userdata(L))
	return 1
}

func poolStarmapAsync(L *lua.LState) int {
	L.Push(startMap(L, "starmap_async", modeStar, true, 0).userdata(L))
	return 1
}

func poolImap(L *lua.LState) int {
	c := startMap(L, "imap", modeMap, false, 1)
	L.Push(c.iterator(L, false))
	return 1
}

func poolImapUnordered(L *lua.LState) int {
	c := startMap(L, "imap_unordered", modeMap, false, 1)
	L.Push(c.iterator(L, true))
	return 1
}

// startApply is apply/apply_async: f, args, then (async) callback and
// error_callback.
func startApply(L *lua.LState, what string, async bool) *poolCall {
	p := checkPool(L, 1)
	fn := L.Get(2)
	args := L.Get(3)
	switch args.(type) {
	case *lua.LNilType:
		args = L.NewTable()
	case *lua.LTable:
	default:
		Raise(L, "TypeError", "%s: args is a %s, want a table of arguments", what, args.Type().String())
	}
	var cb, eb lua.LValue = lua.LNil, lua.LNil
	if async {
		cb = callbackArg(L, 4, what+": callback")
		eb = callbackArg(L, 5, what+": error_callback")
	}
	p.pump(L)
	c := p.newCall(L, what, fn, 1, modeStar)
	c.single = true
	c.callback, c.errback = cb, eb
	e := p.w.NewEncoder()
	if err := e.Encode(args, "args"); err != nil {
		delete(p.pending, c)
		raiseSend(L, err)
	}
	t := &poolTask{call: c, count: 1, items: e}
	p.sched.Submit(&runtime.PoolTask{Frame: t.frame, Value: t})
	return c
}

func poolApply(L *lua.LState) int {
	return startApply(L, "apply", false).get(L, -1)
}

func poolApplyAsync(L *lua.LState) int {
	L.Push(startApply(L, "apply_async", true).userdata(L))
	return 1
}

// ---- results ----

func (c *poolCall) setResult(i int, v lua.LValue) {
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

func (c *poolCall) setError(i int, err lua.LValue) {
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
			p.onResult(ev.Task.Value.(*poolTask), ev.Frame)
		case runtime.EventExit:
			p.onExit(ev)
		case runtime.EventReady:
			p.startFails = 0
		}
	}
	p.maintain()
	if L != nil {
		p.runCallbacks(L)
	}
}

// onResult decodes a result frame (see encodeResults).
func (p *pool) onResult(t *poolTask, frame []byte) {
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
		vals, ok := unpackNumbers(frame[2:], t.count)
		if !ok {
			fail(fmt.Errorf("%d bytes of packed numbers, want %d", len(frame)-2, 8*t.count))
			return
		}
		for i, v := range vals {
			c.setResult(t.first+i, v)
		}
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
	e := NewError(L, "RemoteError", "%s", ErrorText(L, v))
	e.RawSetString("value", v)
	e.RawSetString("traceback", lua.LString(tb))
	return e
}

// onExit handles a worker that ended: the task it held fails.
func (p *pool) onExit(ev runtime.PoolEvent) {
	proc := p.live[ev.Worker]
	delete(p.live, ev.Worker)
	if ev.Served == 0 && ev.Code != 0 && p.state != stateTerminate && !ev.Worker.Ready() {
		p.startFails++
		p.lastFail = fmt.Sprintf("%s (pid %d) %s", proc.name, proc.pid, exitDescription(ev.Code))
	}
	if ev.Task == nil {
		return
	}
	t := ev.Task.Value.(*poolTask)
	var e *lua.LTable
	if p.state == stateTerminate {
		e = NewError(p.w.L, "ProcessError", "%s: the pool was terminated before %s finished", t.call.what, t.describe())
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

// exitDescription says how a process ended: "exited with code 3", "was
// killed by SIGKILL".
func exitDescription(code int) string {
	if code >= 0 {
		return fmt.Sprintf("exited with code %d", code)
	}
	name := unix.SignalName(syscall.Signal(-code))
	if name == "" {
		name = fmt.Sprintf("signal %d", -code)
	}
	return "was killed by " + name
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
	if p.state == stateClose && p.sched.Queued() == 0 {
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

// waitFor pumps events until cond holds, timeout passes (negative: no
// limit) or Ctrl-C; it reports cond. Callbacks run unless quiet.
func (p *pool) waitFor(cond func() bool, timeout time.Duration, quiet bool) bool {
	w := p.w
	var L *lua.LState
	if !quiet {
		L = w.L
	}
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		p.pump(L)
		if cond() {
			return true
		}
		if timeout == 0 {
			return false
		}
		select {
		case <-p.sched.Notify():
		case <-expire:
			p.pump(L)
			return cond()
		case <-w.ctx.Done():
			if quiet {
				return cond()
			}
			w.interrupted()
		}
	}
}

// ---- AsyncResult ----

func (c *poolCall) userdata(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = c
	ud.Metatable = worldOf(L).typeMeta(asyncResultTypeName)
	return ud
}

// ready says whether the call is done and its callback has run.
func (c *poolCall) ready() bool { return c.done && !c.cbPending }

// get waits for the call (timeout: negative for no limit) and returns
// its value, or raises its error.
func (c *poolCall) get(L *lua.LState, timeout time.Duration) int {
	if !c.p.waitFor(c.ready, timeout, false) {
		Raise(L, "TimeoutError", "%s: no result within %g seconds", c.what, timeout.Seconds())
	}
	if c.firstErr != nil {
		L.Error(c.firstErr, 0)
	}
	L.Push(c.value(L))
	return 1
}

func asyncResultGet(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	timeout := toTimeout(L, argOrOption(L, optionsAt(L, 2), 2, "timeout"), "get: timeout")
	return c.get(L, timeout)
}

func asyncResultWait(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	timeout := toTimeout(L, argOrOption(L, optionsAt(L, 2), 2, "timeout"), "wait: timeout")
	c.p.waitFor(c.ready, timeout, false)
	return 0
}

func asyncResultReady(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	c.p.pump(L)
	L.Push(lua.LBool(c.ready()))
	return 1
}

func asyncResultSuccessful(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	c.p.pump(L)
	if !c.ready() {
		Raise(L, "ValueError", "AsyncResult of %s is not ready", c.what)
	}
	L.Push(lua.LBool(c.firstErr == nil))
	return 1
}

func asyncResultString(L *lua.LState) int {
	c := checkAsyncResult(L, 1)
	state := "pending"
	if c.ready() {
		state = "ready successful"
		if c.firstErr != nil {
			state = "ready failed"
		}
	}
	L.Push(lua.LString(fmt.Sprintf("<AsyncResult %s %s>", c.what, state)))
	return 1
}

// iterator is imap's: each step waits for the next result (in input
// order, or in the order they finish) and returns its index and value,
// raising the item's error if it failed.
func (c *poolCall) iterator(L *lua.LState, unordered bool) *lua.LFunction {
	next := 0
	return L.NewFunction(func(L *lua.LState) int {
		if next >= c.n {
			c.p.pump(L)
			return 0
		}
		var i int
		if unordered {
			c.p.waitFor(func() bool { return len(c.order) > next }, -1, false)
			i = c.order[next]
		} else {
			i = next
			c.p.waitFor(func() bool { return c.isSettled(i) }, -1, false)
		}
		next++
		if e, ok := c.errs[i]; ok {
			L.Error(e, 0)
		}
		L.Push(lua.LNumber(i + 1))
		L.Push(c.results[i])
		return 2
	})
}

// isSettled says whether item i has its result or error.
func (c *poolCall) isSettled(i int) bool { return c.settled[i] }

// ---- close, join, terminate ----

func poolClose(L *lua.LState) int {
	p := checkPool(L, 1)
	if p.state == stateRun {
		p.state = stateClose
		p.sched.Close()
	}
	p.pump(L)
	return 0
}

func poolJoin(L *lua.LState) int {
	p := checkPool(L, 1)
	timeout := toTimeout(L, argOrOption(L, optionsAt(L, 2), 2, "timeout"), "join: timeout")
	if p.state == stateRun {
		Raise(L, "ValueError", "Pool is still running: call close() or terminate() first")
	}
	done := p.waitFor(func() bool { return len(p.live) == 0 && len(p.callbacks) == 0 }, timeout, false)
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
	for i, c := range w.pools {
		if c == closer(p) {
			w.pools = append(w.pools[:i], w.pools[i+1:]...)
			return
		}
	}
}

// shutdown is the end of the program: terminate, without running Lua.
func (p *pool) shutdown() { p.terminate(false) }
