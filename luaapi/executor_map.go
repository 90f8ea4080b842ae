// ProcessPoolExecutor.map: every item submitted at once, results given
// in order by an iterator.

package luaapi

import (
	"time"

	lua "github.com/yuin/gopher-lua"
)

// executorMapOptions are the keys of map's options table: Python's
// keyword-only timeout and chunksize.
var executorMapOptions = []string{"timeout", "chunksize"}

// executorMap is ex:map(fn, list [, list2 …] [, {timeout=, chunksize=}]):
// fn(x) for each x of list (fn(x, y) for each pair of list and list2,
// up to the shorter, as Python's map zips its iterables), run in the
// workers, all submitted now. It returns an iterator for a generic for:
// each step waits for the next item in order and gives its index and
// value (the index first, so that a nil result does not end the loop).
// The timeout counts from the map call: a step that would end after it
// raises TimeoutError. A failed item raises its error when reached. Either
// way the items no worker has started are cancelled and the iterator
// ends.
func executorMap(L *lua.LState) int {
	const what = "ProcessPoolExecutor.map"
	ex := checkExecutor(L, 1)
	ex.checkOpen(L)
	fn := L.Get(2)
	top := L.GetTop()
	timeout, chunksize := time.Duration(-1), 1
	if t := plainTable(L.Get(top)); top >= 4 && t != nil && len(namedKeys(t)) > 0 {
		checkOptions(L, t, what, executorMapOptions, "")
		timeout = toTimeout(L, t.RawGetString("timeout"), what+": timeout")
		if v := t.RawGetString("chunksize"); v != lua.LNil {
			chunksize = positiveInt(L, v, what, "chunksize")
		}
		top--
	}
	if top < 3 {
		Raise(L, "TypeError", "%s: got no list, want fn and at least one list", what)
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	items, mode := zipLists(L, what, top)
	p := ex.p
	p.pump(L)
	c := p.newCall(L, "map", fn, len(items), mode)
	tasks := p.submitItems(L, c, items, chunksize)
	next := 0
	// stop ends the iteration early: the items not started are cancelled.
	stop := func() {
		next = c.n
		for _, t := range p.sched.Cancel(tasks...) {
			cancelTask(L, t.Value.(*poolTask))
		}
		tasks = nil
	}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if next >= c.n {
			return 0
		}
		i := next
		wait := time.Duration(-1)
		if !deadline.IsZero() {
			wait = max(time.Until(deadline), 0)
		}
		if !p.waitFor(func() bool { return c.isSettled(i) }, wait, false) {
			stop()
			Raise(L, "TimeoutError", "%s: item %d of %d was not done within %g seconds of the call", what, i+1, c.n, timeout.Seconds())
		}
		next++
		if e, ok := c.errs[i]; ok {
			stop()
			L.Error(e, 0)
		}
		L.Push(lua.LNumber(i + 1))
		if c.list != nil {
			L.Push(c.list.RawGetInt(i + 1))
		} else {
			L.Push(c.results[i])
		}
		return 2
	}))
	return 1
}

// zipLists reads the lists at 3…top: one list is the items themselves
// (fn(x)); several are zipped, up to the shortest, into argument lists
// (fn(x, y)).
func zipLists(L *lua.LState, what string, top int) ([]lua.LValue, byte) {
	if top == 3 {
		return itemsArg(L, 3, what), modeMap
	}
	lists := make([][]lua.LValue, 0, top-2)
	n := -1
	for i := 3; i <= top; i++ {
		l := itemsArg(L, i, what)
		lists = append(lists, l)
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	items := make([]lua.LValue, n)
	for k := range items {
		t := L.CreateTable(len(lists), 1)
		for j, l := range lists {
			t.RawSetInt(j+1, l[k])
		}
		t.RawSetString("n", lua.LNumber(len(lists)))
		items[k] = t
	}
	return items, modeStar
}
