// require("concurrent.futures"), also mp.futures: ProcessPoolExecutor
// (executor.go), and the functions that wait on many futures at once,
// as_completed and wait, with wait's return_when constants.
//
// A list of futures may hold futures of several executors. Waiting on
// them pumps each executor's pool, so their results are taken and their
// done callbacks run while the script waits, as in any call into a pool.

package luaapi

import (
	"math"
	"reflect"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// wait's return_when values, also the module's constants of the same
// names, as in Python.
const (
	firstCompleted = "FIRST_COMPLETED"
	firstException = "FIRST_EXCEPTION"
	allCompleted   = "ALL_COMPLETED"
)

// setFuturesConstants adds wait's return_when constants to the module,
// and the error types Python's module has, each holding its name as
// mp's do (errors.go): err.type == futures.CancelledError.
func setFuturesConstants(L *lua.LState, mod *lua.LTable) {
	for _, name := range []string{firstCompleted, firstException, allCompleted, "CancelledError", "TimeoutError"} {
		L.SetField(mod, name, lua.LString(name))
	}
}

// asFuture returns the future v is, or nil.
func asFuture(v lua.LValue) *future {
	if ud, ok := v.(*lua.LUserData); ok {
		f, _ := ud.Value.(*future)
		return f
	}
	return nil
}

// futureList reads the futures at n, each once, in order: a list of
// futures, or a table keyed by futures (Python's {ex.submit(f, x): x}
// idiom), whose keys are taken.
func futureList(L *lua.LState, n int, what string) []*future {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		Raise(L, "TypeError", "%s: got a %s, want a list of futures", what, L.Get(n).Type().String())
	}
	seen := map[*future]bool{}
	var out []*future
	add := func(f *future) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	items := tableArgs(t)
	for i, v := range items {
		f := asFuture(v)
		if f == nil {
			Raise(L, "TypeError", "%s: fs[%d] is a %s, want a concurrent.futures.Future", what, i+1, v.Type().String())
		}
		add(f)
	}
	t.ForEach(func(k, v lua.LValue) {
		if f := asFuture(k); f != nil {
			add(f)
			return
		}
		if x, ok := k.(lua.LNumber); ok && x >= 1 && float64(x) <= float64(len(items)) && float64(x) == math.Trunc(float64(x)) {
			return
		}
		if k == lua.LString("n") {
			return
		}
		Raise(L, "TypeError", "%s: got the key %s, want a list of futures or a table keyed by futures", what, keyText(k))
	})
	return out
}

// poolsOf are the pools of fs, each once.
func poolsOf(fs []*future) []*pool {
	var out []*pool
	for _, f := range fs {
		p := f.c.p
		if len(out) == 0 || out[len(out)-1] != p && !containsPool(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func containsPool(ps []*pool, p *pool) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// waitFutures pumps the pools of fs until cond holds, timeout passes
// (negative: no limit) or Ctrl-C (KeyboardInterrupt), and reports cond.
// Callbacks run as it pumps.
func waitFutures(w *World, fs []*future, cond func() bool, timeout time.Duration) bool {
	pools := poolsOf(fs)
	switch len(pools) {
	case 0:
		return cond()
	case 1:
		return pools[0].waitFor(cond, timeout, false)
	}
	// Several pools: wait on all their notifications at once.
	cases := make([]reflect.SelectCase, len(pools)+2)
	for i, p := range pools {
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(p.sched.Notify())}
	}
	expired, interrupted := len(pools), len(pools)+1
	cases[expired] = reflect.SelectCase{Dir: reflect.SelectRecv} // a nil channel: never
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		cases[expired].Chan = reflect.ValueOf(t.C)
	}
	pumpAll := func() {
		for _, p := range pools {
			p.pump(w.L)
		}
	}
	for {
		pumpAll()
		if cond() {
			return true
		}
		if timeout == 0 {
			return false
		}
		cases[interrupted] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.ctx.Done())}
		switch chosen, _, _ := reflect.Select(cases); chosen {
		case expired:
			pumpAll()
			return cond()
		case interrupted:
			w.interrupted()
		}
	}
}

// futuresAsCompleted is futures.as_completed(fs [, timeout]): an iterator
// for a generic for that gives each future of fs once it is done
// (finished or cancelled): those done already first, in the order of fs,
// then the others in the order they finish. When timeout seconds have
// passed since the call with futures still unfinished, the step raises
// TimeoutError ("2 (of 5) futures unfinished").
func futuresAsCompleted(L *lua.LState) int {
	const what = "as_completed"
	w := worldOf(L)
	fs := futureList(L, 1, what)
	timeout := timeoutArg(L, 2, what, -1)
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for _, p := range poolsOf(fs) {
		p.pump(L)
	}
	var ready, pending []*future
	for _, f := range fs {
		if f.done() {
			ready = append(ready, f)
		} else {
			pending = append(pending, f)
		}
	}
	total := len(fs)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if len(ready) == 0 && len(pending) > 0 {
			wait := time.Duration(-1)
			if !deadline.IsZero() {
				wait = max(time.Until(deadline), 0)
			}
			anyDone := func() bool {
				for _, f := range pending {
					if f.done() {
						return true
					}
				}
				return false
			}
			if !waitFutures(w, pending, anyDone, wait) {
				Raise(L, "TimeoutError", "%d (of %d) futures unfinished", len(pending), total)
			}
			left := pending[:0]
			for _, f := range pending {
				if f.done() {
					ready = append(ready, f)
				} else {
					left = append(left, f)
				}
			}
			pending = left
			sort.SliceStable(ready, func(i, j int) bool { return ready[i].c.seq < ready[j].c.seq })
		}
		if len(ready) == 0 {
			return 0
		}
		f := ready[0]
		ready = ready[1:]
		L.Push(f.ud)
		return 1
	}))
	return 1
}

var waitParams = params{pos: []string{"timeout", "return_when"}}

// futuresWait is futures.wait(fs [, timeout [, return_when]]) or
// futures.wait(fs, {timeout=, return_when=}): wait until return_when
// holds (ALL_COMPLETED by default; FIRST_COMPLETED: any is done;
// FIRST_EXCEPTION: any failed, else all done) or timeout passes, and
// return two lists, the futures done and those not, each in the order of
// fs. Python returns two sets; a list is what a Lua loop takes.
func futuresWait(L *lua.LState) int {
	const what = "futures.wait"
	fs := futureList(L, 1, "wait")
	var given [2]lua.LValue
	waitParams.read(L, 2, what, given[:])
	timeout := toTimeout(L, given[0], what+": timeout")
	when := allCompleted
	switch v := given[1].(type) {
	case *lua.LNilType:
	case lua.LString:
		when = string(v)
		if when != firstCompleted && when != firstException && when != allCompleted {
			Raise(L, "ValueError", "%s: got return_when %q, want FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED", what, when)
		}
	default:
		Raise(L, "TypeError", "%s: return_when is a %s, want FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED", what, v.Type().String())
	}
	cond := func() bool {
		all := true
		for _, f := range fs {
			switch {
			case !f.done():
				all = false
			case when == firstCompleted, when == firstException && f.failed():
				return true
			}
		}
		return all
	}
	waitFutures(worldOf(L), fs, cond, timeout)
	done, notDone := L.NewTable(), L.NewTable()
	for _, f := range fs {
		if f.done() {
			done.Append(f.ud)
		} else {
			notDone.Append(f.ud)
		}
	}
	L.Push(done)
	L.Push(notDone)
	return 2
}
