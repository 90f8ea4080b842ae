// Pool: submitting work (map, starmap, imap, apply and the async forms).

package luaapi

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

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
	e.keepRefs() // every worker decodes it: each takes references of its own
	p.nextCall++
	c := &poolCall{p: p, id: p.nextCall, what: what, mode: mode, fn: e, n: n, remaining: n, settled: make([]bool, n)}
	c.traceStart = traceNow()
	if strings.HasPrefix(what, "imap") || n == 1 {
		c.results = make([]lua.LValue, n)
	} else {
		c.list = L.CreateTable(n, 0)
	}
	p.pending[c] = struct{}{}
	return c
}

// submitItems splits items into tasks of chunksize, queues them and
// returns them. All are encoded first: an item that cannot be sent fails
// the call before anything runs, and the encoding does not compete with
// the workers.
func (p *pool) submitItems(L *lua.LState, c *poolCall, items []lua.LValue, chunksize int) []*runtime.PoolTask {
	if c.n == 0 {
		c.finish()
		return nil
	}
	tasks := make([]*runtime.PoolTask, 0, (len(items)+chunksize-1)/chunksize)
	for first := 0; first < len(items); first += chunksize {
		count := min(chunksize, len(items)-first)
		if c.mode == modeStar {
			for i := first; i < first+count; i++ {
				if _, ok := items[i].(*lua.LTable); !ok {
					delete(p.pending, c)
					Raise(L, "TypeError", "%s: item %d is a %s, want a table of arguments", c.what, i+1, items[i].Type().String())
				}
			}
		}
		t, bad, err := c.chunkTask(items[first:first+count], first)
		if err != nil {
			delete(p.pending, c)
			e := p.w.NewEncoder()
			raiseSend(L, e.Encode(items[first+bad], fmt.Sprintf("list[%d]", first+bad+1)))
		}
		tasks = append(tasks, t)
	}
	p.sched.Submit(tasks...)
	return tasks
}

// frame makes the task's frame for worker pw: the call's function if pw
// has not got it, then the items.
func (t *poolTask) frame(pw *runtime.PoolWorker) []byte {
	wl := pw.Local.(*workerLocal)
	t.traceDispatch(pw, wl)
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
	b := wl.newFrame(25 + len(fb) + len(ib) + len(t.packed))
	b = binary.AppendUvarint(b, c.id)
	b = binary.AppendUvarint(b, uint64(t.count))
	if hasFn {
		b = append(b, c.frameMode(), 1)
		b = c.appendTaskLimits(b)
		b = binary.AppendUvarint(b, uint64(len(fb)))
		b = append(b, fb...)
	} else {
		b = append(b, c.frameMode(), 0)
		b = c.appendTaskLimits(b)
	}
	if t.items != nil {
		b = append(b, valuesCodec)
		b = append(b, ib...)
	} else {
		b = append(b, valuesPacked)
		b = append(b, t.packed...)
	}
	wl.buf = b
	return runtime.SealFrame(b)
}

// newFrame starts a task frame for the worker in its buffer, which the
// frame of its last task used: a worker gets its next task only after it
// took this one, and the scheduler copies a frame into the worker's
// mailbox or pipe as soon as it is made. A new frame per task was a
// task's size in fresh pages.
func (wl *workerLocal) newFrame(capacity int) []byte {
	if cap(wl.buf) < 5+capacity {
		wl.buf = make([]byte, 0, 5+capacity)
	}
	return append(wl.buf[:0], 0, 0, 0, 0, runtime.FrameTask)
}

// chunksizeArg reads a chunksize: nil gives def.
func chunksizeArg(L *lua.LState, v lua.LValue, def int) int {
	if v == lua.LNil {
		return def
	}
	f, ok := v.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "Pool: chunksize is a %s, want a number", v.Type().String())
	}
	if f < 1 || float64(f) != float64(int(f)) {
		Raise(L, "ValueError", "Pool: got chunksize %s, want a whole number, 1 or more", f.String())
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

// itemsArg reads the items at n: a list, or a function called with no
// arguments until it returns nil.
func itemsArg(L *lua.LState, n int, what string) []lua.LValue {
	v := L.Get(n)
	switch v.(type) {
	case *lua.LTable:
	case *lua.LFunction:
		checkNotTriple(L, n+1, what, false)
		return pullAll(L, v)
	default:
		Raise(L, "TypeError", "%s: got a %s, want a list or a function that gives the items", what, v.Type().String())
	}
	return argList(L, v, what)
}

// callbackArg reads an optional callback.
func callbackArg(L *lua.LState, v lua.LValue, what string) lua.LValue {
	if v != lua.LNil && !isCallable(L, v) {
		Raise(L, "TypeError", "%s is a %s, want a function", what, v.Type().String())
	}
	return v
}

// The optional parameters of the pool's calls, after the function and
// the list (map) or the function (apply), as Python orders them; an
// options table can stand for them (see args.go).
var (
	mapParams      = params{pos: []string{"chunksize"}, extra: []string{"limits"}}
	mapAsyncParams = params{pos: []string{"chunksize", "callback", "error_callback"}, extra: []string{"limits"}}
	// apply's args is a list: a table there is an options table only
	// when it has a named key ({args = {1}, callback = cb}); one after
	// args is an options table too (pool:apply_async(f, {1},
	// {callback = cb})), and as Python's kwds have no counterpart, a key
	// that is not an option says so.
	applyParams      = params{pos: []string{"args"}, extra: []string{"limits"}, list: "args", kwargs: applyKwargs}
	applyAsyncParams = params{pos: []string{"args", "callback", "error_callback"}, extra: []string{"limits"}, list: "args", kwargs: applyKwargs}
)

const applyKwargs = "pass a table as an argument, as in pool:apply(f, {1, {key = value}})"

// startMap is map/starmap/map_async/starmap_async/imap: f, list,
// chunksize, then (async forms) callback and error_callback.
func startMap(L *lua.LState, what string, mode byte, async bool, defChunk int) *poolCall {
	p := checkPool(L, 1)
	fn := L.Get(2)
	if src, ok := L.Get(3).(*lua.LFunction); ok && strings.HasPrefix(what, "imap") {
		return startPulledMap(L, p, what, fn, src)
	}
	var items []lua.LValue
	packed, n := packedList(L.Get(3), mode)
	if packed == nil {
		items = itemsArg(L, 3, what)
		n = len(items)
	}
	var given [4]lua.LValue // chunksize, callback, error_callback, limits
	if async {
		mapAsyncParams.read(L, 4, "Pool."+what, given[:])
	} else {
		mapParams.read(L, 4, "Pool."+what, given[:2])
		given[1], given[2], given[3] = lua.LNil, lua.LNil, given[1] // callbacks stay nil
	}
	lim := p.callLimits(L, given[3], "Pool."+what)
	def := defChunk
	if def == 0 {
		def = p.defaultChunksize(n)
	}
	if lim != nil {
		def = 1 // each item its own budget (limits_pool.go)
	}
	chunksize := chunksizeArg(L, given[0], def)
	cb := callbackArg(L, given[1], what+": callback")
	eb := callbackArg(L, given[2], what+": error_callback")
	p.pump(L)
	c := p.newCall(L, what, fn, n, mode)
	c.callback, c.errback, c.lim = cb, eb, lim
	c.whole = !strings.HasPrefix(what, "imap")
	if packed != nil {
		p.submitPacked(c, packed, chunksize)
	} else {
		p.submitItems(L, c, items, chunksize)
	}
	return c
}

// packedList packs the items of a map over a list of numbers (no n
// field, no holes), 8 bytes each, and counts them; it gives nil for any
// other list, to be read as values. The common map skips making a list
// of its values, and each task's items are a slice of the one buffer.
func packedList(v lua.LValue, mode byte) ([]byte, int) {
	t, ok := v.(*lua.LTable)
	if !ok || mode != modeMap || t.RawGetString("n") != lua.LNil {
		return nil, 0
	}
	n := t.Len()
	if n == 0 {
		return nil, 0
	}
	b := make([]byte, 0, 8*n)
	for i := 1; i <= n; i++ {
		x, ok := t.RawGetInt(i).(lua.LNumber)
		if !ok {
			return nil, 0
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(x)))
	}
	return b, n
}

// submitPacked is submitItems for items packedList packed.
func (p *pool) submitPacked(c *poolCall, packed []byte, chunksize int) {
	tasks := make([]*runtime.PoolTask, 0, (c.n+chunksize-1)/chunksize)
	for first := 0; first < c.n; first += chunksize {
		count := min(chunksize, c.n-first)
		end := 8 * (first + count)
		t := &poolTask{call: c, first: first, count: count, packed: packed[8*first : end : end]}
		tasks = append(tasks, c.runtimeTask(t))
	}
	p.sched.Submit(tasks...)
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
	var given [4]lua.LValue // args, callback, error_callback, limits
	if async {
		applyAsyncParams.read(L, 3, "Pool."+what, given[:])
	} else {
		applyParams.read(L, 3, "Pool."+what, given[:2])
		given[1], given[2], given[3] = lua.LNil, lua.LNil, given[1] // callbacks stay nil
	}
	args := given[0]
	switch args.(type) {
	case *lua.LNilType:
		args = L.NewTable()
	case *lua.LTable:
		checkArgList(L, args, "Pool."+what+": args", applyKwargs)
	default:
		Raise(L, "TypeError", "%s: args is a %s, want a table of arguments", what, args.Type().String())
	}
	cb := callbackArg(L, given[1], what+": callback")
	eb := callbackArg(L, given[2], what+": error_callback")
	c, _ := p.applyLimited(L, what, fn, args, p.callLimits(L, given[3], "Pool."+what))
	c.callback, c.errback = cb, eb
	return c
}

// apply queues the call fn(table.unpack(args)) as one task and returns
// the call and its task. what names the caller in errors ("apply").
func (p *pool) apply(L *lua.LState, what string, fn, args lua.LValue) (*poolCall, *runtime.PoolTask) {
	return p.applyLimited(L, what, fn, args, nil)
}

// applyLimited is apply for a task with limits (nil: none).
func (p *pool) applyLimited(L *lua.LState, what string, fn, args lua.LValue, lim *limitSet) (*poolCall, *runtime.PoolTask) {
	p.pump(L)
	c := p.newCall(L, what, fn, 1, modeStar)
	c.single, c.lim = true, lim
	e := p.w.NewEncoder()
	if err := e.Encode(args, "args"); err != nil {
		delete(p.pending, c)
		raiseSend(L, err)
	}
	t := &poolTask{call: c, count: 1, items: e}
	rt := c.runtimeTask(t)
	p.sched.Submit(rt)
	return c, rt
}

func poolApply(L *lua.LState) int {
	return startApply(L, "apply", false).get(L, -1)
}

func poolApplyAsync(L *lua.LState) int {
	L.Push(startApply(L, "apply_async", true).userdata(L))
	return 1
}
