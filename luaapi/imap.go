// The iterators of Pool.imap and Pool.imap_unordered.

package luaapi

import (
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const imapTypeName = "multiprocessing.IMapIterator"

// imapIter is an imap or imap_unordered iterator: a userdata called by a
// generic for (`for i, v in pool:imap(f, xs) do … end`), or directly, or
// through its next method. Each step waits for the next result (in input
// order, or in the order they finish) and returns its 1-based index in
// the input and its value, raising the item's error if it failed; after
// the last item it returns nothing. Its repr says what it is and how to
// use it, which a bare function could not.
type imapIter struct {
	c         *poolCall
	unordered bool
	next      int // items taken so far
}

var imapMethods = map[string]lua.LGFunction{
	"next": imapNext,
}

// iterator makes the call's iterator.
func (c *poolCall) iterator(L *lua.LState, unordered bool) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = &imapIter{c: c, unordered: unordered}
	ud.Metatable = worldOf(L).typeMeta(imapTypeName)
	return ud
}

// checkIMap returns the iterator at n.
func checkIMap(L *lua.LState, n int) *imapIter {
	return checkObject[*imapIter](L, n, imapTypeName)
}

// imapCall is it(…), as a generic for calls it: the arguments the for
// passes (state and control) are ignored.
func imapCall(L *lua.LState) int {
	return checkIMap(L, 1).step(L, -1)
}

// imapNext is it:next([timeout]), Python's IMapIterator.next: the next
// index and value, TimeoutError when none comes within timeout seconds.
func imapNext(L *lua.LState) int {
	it := checkIMap(L, 1)
	return it.step(L, timeoutArg(L, 2, "IMapIterator.next", -1))
}

// step waits (timeout: negative for no limit) for the next item, pushes
// its index and value and returns 2; it returns 0 after the last item.
func (it *imapIter) step(L *lua.LState, timeout time.Duration) int {
	c := it.c
	if c.src != nil {
		return it.stepPulled(L, timeout)
	}
	if it.next >= c.n {
		c.p.pump(L)
		return 0
	}
	next := it.next
	var i int
	var ok bool
	if it.unordered {
		ok = c.p.waitFor(func() bool { return len(c.order) > next }, timeout, false)
		if ok {
			i = c.order[next]
		}
	} else {
		i = next
		ok = c.p.waitFor(func() bool { return c.isSettled(i) }, timeout, false)
	}
	if !ok {
		Raise(L, "TimeoutError", "%s: no result within %g seconds", c.what, timeout.Seconds())
	}
	it.next++
	if e, ok := c.errs[i]; ok {
		L.Error(e, 0)
	}
	L.Push(lua.LNumber(i + 1))
	L.Push(c.results[i])
	return 2
}

// stepPulled is step for an imap over a function: it first pulls more
// items if the iterator has taken enough to make room (see pullSource).
// An error the function raised is given at its place, after the items
// it gave before; then the iterator ends.
func (it *imapIter) stepPulled(L *lua.LState, timeout time.Duration) int {
	c := it.c
	s := c.src
	if s.pulling {
		Raise(L, "ValueError", "%s: the iterator was called by the function that gives its items", c.what)
	}
	c.feed(L)
	if !c.p.waitFor(func() bool { return s.next(c) }, timeout, false) {
		Raise(L, "TimeoutError", "%s: no result within %g seconds", c.what, timeout.Seconds())
	}
	i, v, err, ok := s.take()
	if !ok {
		return 0
	}
	it.next++
	if err != nil {
		L.Error(err, 0)
	}
	L.Push(lua.LNumber(i + 1))
	L.Push(v)
	return 2
}

// imapString is the iterator's repr: what it iterates over, how far it
// got, and how to use it.
func imapString(L *lua.LState) int {
	it := checkIMap(L, 1)
	over := fmt.Sprintf("%d items", it.c.n)
	if it.c.n == 1 {
		over = "1 item"
	}
	end := it.next >= it.c.n
	if s := it.c.src; s != nil {
		over = "a function"
		end = s.done && end
	}
	taken := ""
	switch {
	case it.next > 0 && end:
		taken = ", all taken"
	case it.next > 0:
		taken = fmt.Sprintf(", %d taken", it.next)
	}
	L.Push(lua.LString(fmt.Sprintf("<%s iterator over %s%s: use in a for loop: for i, v in it do ... end>", it.c.what, over, taken)))
	return 1
}

// isSettled says whether item i has its result or error.
func (c *poolCall) isSettled(i int) bool {
	if c.src != nil {
		return c.src.isSettled(c, i)
	}
	return c.settled[i]
}

// imapMeta makes the metatable of imap iterators: methods, and a call
// that is next() for a generic for.
func imapMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), imapMethods)
	L.SetField(mt, "methods", methods)
	L.SetField(mt, "__index", methods)
	L.SetField(mt, "__call", L.NewFunction(imapCall))
	L.SetField(mt, "__tostring", L.NewFunction(imapString))
	return mt
}
