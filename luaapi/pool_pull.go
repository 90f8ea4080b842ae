// Pool: imap over items pulled from a Lua function as the workers need
// them, so that an imap over ten million items holds a few chunks of
// them at a time, never the ten million.

package luaapi

import (
	"fmt"
	"sort"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// pulledChunksPerWorker bounds how far a pulled imap runs ahead: its
// function is called for at most this many chunks per worker beyond the
// results the iterator has given. Enough for every worker to have a
// chunk running and more queued while the script takes results.
const pulledChunksPerWorker = 4

// pullSource is where a pulled imap's items come from: fn, called with
// no arguments until it returns nil (or raises).
//
// Items are pulled a chunk at a time, and each chunk is encoded and
// queued at once; a chunk is pulled only while fewer than limit items
// have been pulled and not yet taken through the iterator. While the
// pool is closing, join must see every item run although nobody takes
// them: then the bound is on items pulled and not yet settled. Pulling
// runs Lua, so it happens only on the Lua goroutine, in the pool's wait
// paths: an iterator step, and pump (p.feed).
//
// Nothing is kept per item once the iterator has taken it: the results
// wait in slots (imap: slots[k] is item taken+k) or ready (imap_unordered,
// in the order they settled), and which pulled items are still out is
// known by chunk (flights). The call's n counts the items pulled so far
// (with the position of an error that ended the pulling), and its
// remaining counts those not settled, plus one while the source is
// pulled, so the call finishes only after the last chunk.
type pullSource struct {
	fn        lua.LValue
	chunksize int
	limit     int
	unordered bool
	taken     int  // items the iterator has given
	settled   int  // items settled
	pulling   bool // fn is running: pulling must not re-enter
	done      bool // fn returned nil or raised, or the pool stopped
	flights   []*flight
	slots     []slot
	ready     []readyItem
}

// flight is a chunk of pulled items not all settled: the items first …
// first+len(done)-1.
type flight struct {
	first int
	left  int
	done  []bool
}

// slot is an item's result or error, once set.
type slot struct {
	v, err lua.LValue
	set    bool
}

// readyItem is a settled item of imap_unordered, waiting to be taken.
type readyItem struct {
	i      int
	v, err lua.LValue
}

// startPulledMap is imap or imap_unordered over a function: f, the
// function, then chunksize (default 1).
func startPulledMap(L *lua.LState, p *pool, what string, fn, src lua.LValue) *poolCall {
	checkNotTriple(L, 4, what, true)
	var given [2]lua.LValue // chunksize, limits
	mapParams.read(L, 4, "Pool."+what, given[:])
	chunksize := chunksizeArg(L, given[0], 1)
	lim := p.callLimits(L, given[1], "Pool."+what)
	p.pump(L)
	c := p.newCall(L, what, fn, 0, modeMap)
	c.lim = lim
	p.startPull(L, c, src, chunksize, what == "imap_unordered")
	return c
}

// startPull makes c, an imap call with no items yet, pull them from fn,
// and pulls the first chunks.
func (p *pool) startPull(L *lua.LState, c *poolCall, fn lua.LValue, chunksize int, unordered bool) {
	c.src = &pullSource{fn: fn, chunksize: chunksize, limit: pulledChunksPerWorker * p.n * chunksize, unordered: unordered}
	c.remaining = 1 // the source itself, until it ends
	p.sources = append(p.sources, c)
	c.feed(L)
}

// feed pulls chunks for every pulled call that may run further ahead.
func (p *pool) feed(L *lua.LState) {
	for k := 0; k < len(p.sources); {
		c := p.sources[k]
		c.feed(L)
		if k < len(p.sources) && p.sources[k] == c {
			k++ // still pulling; else endPull took it out
		}
	}
}

// feed pulls chunks of c's items while it may run further ahead. A pool
// that was terminated, or gave up starting workers, ends the pulling with
// an error at the place of the next item.
func (c *poolCall) feed(L *lua.LState) {
	s, p := c.src, c.p
	if s.done || s.pulling {
		return
	}
	switch {
	case p.state == stateTerminate:
		c.endPull(NewError(L, "ProcessError", "%s: the pool was terminated before the items after item %d were taken from the function", c.what, c.n))
		return
	case p.broken != "":
		c.endPull(NewError(L, "WorkerLostError", "%s: %s", c.what, p.broken))
		return
	}
	for !s.done && s.limit-s.ahead(c, p.state == stateClose) >= s.chunksize {
		c.pullChunk(L)
	}
}

// ahead is how many items count against the limit.
func (s *pullSource) ahead(c *poolCall, closing bool) int {
	if closing {
		return c.n - s.settled
	}
	return c.n - s.taken
}

// pullChunk calls the function for up to a chunk of items and queues
// them. nil ends the items; an error ends them too, and is the result at
// its place. Ctrl-C while the function runs is raised, after the items
// already pulled are queued.
func (c *poolCall) pullChunk(L *lua.LState) {
	s := c.src
	items := make([]lua.LValue, 0, s.chunksize)
	var failed lua.LValue
	end := false
	s.pulling = true
	for len(items) < s.chunksize {
		L.Push(s.fn)
		if err := L.PCall(0, 1, nil); err != nil {
			var v lua.LValue = lua.LString(err.Error())
			if ae, ok := err.(*lua.ApiError); ok {
				v = ae.Object
			}
			if ErrorType(v) == "KeyboardInterrupt" {
				s.pulling = false
				c.queuePulled(L, items)
				L.Error(v, 0)
			}
			failed, end = v, true
			break
		}
		v := L.Get(-1)
		L.Pop(1)
		if v == lua.LNil {
			end = true
			break
		}
		items = append(items, v)
	}
	s.pulling = false
	c.queuePulled(L, items)
	if end {
		c.endPull(failed)
	}
}

// queuePulled queues items as the call's next items, one task. An item
// that cannot be sent fails alone, with a SerializationError at its
// place; the items around it are queued.
func (c *poolCall) queuePulled(L *lua.LState, items []lua.LValue) {
	for len(items) > 0 {
		first := c.n
		t, bad, err := c.chunkTask(items, first)
		if err == nil {
			c.src.addFlight(c, first, len(items))
			c.p.sched.Submit(t)
			return
		}
		if bad > 0 {
			t, _, _ = c.chunkTask(items[:bad], first)
			c.src.addFlight(c, first, bad)
			c.p.sched.Submit(t)
		}
		e := c.p.w.NewEncoder()
		err = e.Encode(items[bad], fmt.Sprintf("items[%d]", first+bad+1))
		c.src.failAt(c, first+bad, NewError(L, "SerializationError", "%v", err))
		items = items[bad+1:]
	}
}

// endPull ends the pulling, with err at the place of the next item
// unless it is nil. A pool closing while this was pulled tells its
// workers to quit now, once the queue is empty.
func (c *poolCall) endPull(err lua.LValue) {
	s, p := c.src, c.p
	if s.done {
		return
	}
	s.done = true
	if err != nil {
		s.failAt(c, c.n, err)
	}
	for k, o := range p.sources {
		if o == c {
			p.sources = append(p.sources[:k], p.sources[k+1:]...)
			break
		}
	}
	c.remaining--
	if c.remaining == 0 {
		c.finish()
	}
	if p.state == stateClose && len(p.sources) == 0 {
		p.sched.Close()
	}
}

// closeScheduler is close()'s word to the scheduler: the workers quit
// once the queue is empty, or, while pulled calls have items to come,
// once the last of them has ended (endPull).
func (p *pool) closeScheduler() {
	if len(p.sources) == 0 {
		p.sched.Close()
	}
}

// addFlight counts items first … first+count-1 as pulled and running.
func (s *pullSource) addFlight(c *poolCall, first, count int) {
	s.flights = append(s.flights, &flight{first: first, left: count, done: make([]bool, count)})
	c.n = first + count
	c.remaining += count
}

// failAt settles item i, the next place, with err without running it.
func (s *pullSource) failAt(c *poolCall, i int, err lua.LValue) {
	c.n = i + 1
	c.remaining++
	s.record(c, i, nil, err)
}

// flightOf finds the flight holding item i: its index in flights, or -1.
func (s *pullSource) flightOf(i int) int {
	k := sort.Search(len(s.flights), func(k int) bool {
		f := s.flights[k]
		return f.first+len(f.done) > i
	})
	if k < len(s.flights) && s.flights[k].first <= i {
		return k
	}
	return -1
}

// isSettled says whether pulled item i has its result or error.
func (s *pullSource) isSettled(c *poolCall, i int) bool {
	if i >= c.n {
		return false
	}
	k := s.flightOf(i)
	return k < 0 || s.flights[k].done[i-s.flights[k].first]
}

// settle records the result (err nil) or error of item i, once.
func (s *pullSource) settle(c *poolCall, i int, v, err lua.LValue) {
	k := s.flightOf(i)
	if k < 0 {
		return
	}
	f := s.flights[k]
	if f.done[i-f.first] {
		return
	}
	f.done[i-f.first] = true
	f.left--
	if f.left == 0 {
		s.flights = append(s.flights[:k], s.flights[k+1:]...)
	}
	s.record(c, i, v, err)
}

// record keeps a settled item until the iterator takes it.
func (s *pullSource) record(c *poolCall, i int, v, err lua.LValue) {
	s.settled++
	if s.unordered {
		s.ready = append(s.ready, readyItem{i: i, v: v, err: err})
	} else {
		k := i - s.taken
		for len(s.slots) <= k {
			s.slots = append(s.slots, slot{})
		}
		s.slots[k] = slot{v: v, err: err, set: true}
	}
	c.remaining--
	if c.remaining == 0 {
		c.finish()
	}
}

// next is ready to give an item, or to say there are no more.
func (s *pullSource) next(c *poolCall) bool {
	if s.unordered {
		return len(s.ready) > 0 || s.done && s.taken >= c.n
	}
	return len(s.slots) > 0 && s.slots[0].set || s.done && s.taken >= c.n
}

// take takes the next item (ok false: there are no more).
func (s *pullSource) take() (i int, v, err lua.LValue, ok bool) {
	if s.unordered {
		if len(s.ready) == 0 {
			return 0, nil, nil, false
		}
		r := s.ready[0]
		s.ready[0] = readyItem{}
		s.ready = s.ready[1:]
		s.taken++
		return r.i, r.v, r.err, true
	}
	if len(s.slots) == 0 || !s.slots[0].set {
		return 0, nil, nil, false
	}
	sl := s.slots[0]
	s.slots[0] = slot{}
	s.slots = s.slots[1:]
	i = s.taken
	s.taken++
	return i, sl.v, sl.err, true
}

// chunkTask makes the task of items, the call's items first, first+1, …:
// packed when they are all numbers (map mode), else encoded. When one
// cannot be sent it returns that item's index in items and the error.
func (c *poolCall) chunkTask(items []lua.LValue, first int) (*runtime.PoolTask, int, error) {
	if c.mode == modeMap {
		if packed, ok := packNumbers(items); ok {
			t := &poolTask{call: c, first: first, count: len(items), packed: packed}
			return c.runtimeTask(t), 0, nil
		}
	}
	e := c.p.w.NewEncoder()
	for i, v := range items {
		if err := e.Encode(v, "item"); err != nil {
			return nil, i, err
		}
	}
	t := &poolTask{call: c, first: first, count: len(items), items: e}
	return c.runtimeTask(t), 0, nil
}

// checkNotTriple raises TypeError when the items function at n-1 comes
// with the state a generic for would pass it (string.gmatch, ipairs and
// pairs give one): items come from a function called with no arguments.
// What stands at n may be a chunksize or an options table; last says no
// positional parameter follows it.
func checkNotTriple(L *lua.LState, n int, what string, last bool) {
	triple := last && L.GetTop() > n
	switch v := L.Get(n).(type) {
	case *lua.LNilType, lua.LNumber:
	case *lua.LTable:
		triple = triple || v.RawGetInt(1) != lua.LNil
	default:
		triple = true
	}
	if triple {
		Raise(L, "TypeError", "%s: got a function with the state a generic for passes it (as ipairs and string.gmatch give), want a function called with no arguments that gives the next item, nil after the last (coroutine.wrap makes one of any loop)", what)
	}
}

// pullAll calls fn until it returns nil and gives what it returned: map
// and starmap take a function too, but hold every result anyway.
func pullAll(L *lua.LState, fn lua.LValue) []lua.LValue {
	var items []lua.LValue
	for {
		L.Push(fn)
		L.Call(0, 1)
		v := L.Get(-1)
		L.Pop(1)
		if v == lua.LNil {
			return items
		}
		items = append(items, v)
	}
}
