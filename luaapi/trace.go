// Tracing (procsh --trace): mp.trace.mark and mp.trace.span, and what
// processes and pools tell this process's trace.Recorder.

package luaapi

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"procsh/runtime"
	"procsh/trace"

	lua "github.com/yuin/gopher-lua"
)

// traceFunctions is mp.trace, also require("multiprocessing.trace"). Both
// check their arguments whether or not the run is traced.
var traceFunctions = map[string]lua.LGFunction{
	"mark": traceMark,
	"span": traceSpan,
}

// traceMark is mp.trace.mark(name [, args]): an instant event on this
// process's track, args (a table) shown with it.
func traceMark(L *lua.LState) int {
	name := L.CheckString(1)
	args := L.OptTable(2, nil)
	if r := trace.Active(); r != nil {
		r.Mark(name, argsJSON(args))
	}
	return 0
}

// traceSpan is mp.trace.span(name, fn): calls fn() and gives its values;
// traced, a slice named name covers the call, however it ends.
func traceSpan(L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.Get(2)
	if !isCallable(L, fn) {
		argTypeError(L, 2, "function")
	}
	top := L.GetTop()
	r := trace.Active()
	if r == nil {
		L.Push(fn)
		L.Call(0, lua.MultRet)
		return L.GetTop() - top
	}
	id := r.SpanBegin(name)
	L.Push(fn)
	err := L.PCall(0, lua.MultRet, nil)
	r.SpanEnd(id)
	if err != nil {
		if ae, ok := err.(*lua.ApiError); ok {
			L.Error(ae.Object, 0)
		}
		L.Error(lua.LString(err.Error()), 0)
	}
	return L.GetTop() - top
}

// argsJSON writes a mark's arguments as a JSON object: string and
// number keys, values that are strings, numbers, booleans or tables
// (a list becomes an array), anything else as its type name. Tables
// nest at most 8 deep.
func argsJSON(t *lua.LTable) string {
	if t == nil {
		return ""
	}
	var sb strings.Builder
	writeJSONObject(&sb, t, 0)
	return sb.String()
}

func writeJSONValue(sb *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		b, _ := json.Marshal(string(v))
		sb.Write(b)
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			sb.WriteString(strconv.Quote(v.String()))
			return
		}
		sb.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case lua.LBool:
		sb.WriteString(strconv.FormatBool(bool(v)))
	case *lua.LTable:
		if depth >= 8 {
			sb.WriteString(`"table"`)
			return
		}
		if n := v.Len(); n > 0 && isList(v, n) {
			sb.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					sb.WriteByte(',')
				}
				writeJSONValue(sb, v.RawGetInt(i), depth+1)
			}
			sb.WriteByte(']')
			return
		}
		writeJSONObject(sb, v, depth+1)
	case *lua.LNilType:
		sb.WriteString("null")
	default:
		sb.WriteString(strconv.Quote(v.Type().String()))
	}
}

// isList says whether t's keys are 1 … n and nothing else.
func isList(t *lua.LTable, n int) bool {
	keys := 0
	t.ForEach(func(lua.LValue, lua.LValue) { keys++ })
	return keys == n
}

// writeJSONObject writes a table's string and number keys, sorted.
func writeJSONObject(sb *strings.Builder, t *lua.LTable, depth int) {
	fields := map[string]lua.LValue{}
	t.ForEach(func(k, v lua.LValue) {
		switch k.(type) {
		case lua.LString, lua.LNumber:
			fields[k.String()] = v
		}
	})
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sb.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		b, _ := json.Marshal(k)
		sb.Write(b)
		sb.WriteByte(':')
		writeJSONValue(sb, fields[k], depth)
	}
	sb.WriteByte('}')
}

// traceNow is the trace clock, or 0 when the run is not traced.
func traceNow() int64 {
	if r := trace.Active(); r != nil {
		return r.Now()
	}
	return 0
}

// Processes. A child's life is recorded by the child (its start and, when
// it ends by itself, its end) and by its parent (start(), join, and how it
// ended, which the child cannot say when a signal killed it).

// attachTrace gives this child process its trace buffer when the tree is
// traced.
func attachTrace(arena *runtime.Arena) {
	if arena != nil {
		_, err := trace.Attach(arena)
		traceNotice(err)
	}
}

// traceStarted records this process's first instruction.
func traceStarted(m StartMessage) {
	if r := trace.Active(); r != nil {
		r.Started(m.Self.Name, m.Parent.Pid)
	}
}

// tracedChild is a child whose end this process records once.
type tracedChild struct {
	c    *runtime.Child
	once sync.Once
}

// reaped records how the child ended, once.
func (tc *tracedChild) reaped(r *trace.Recorder) {
	tc.once.Do(func() {
		code, _ := tc.c.ExitCode()
		r.Reaped(tc.c.Pid, code)
	})
}

// The children whose end is not recorded yet.
var (
	tracedMu       sync.Mutex
	tracedChildren = map[*tracedChild]bool{}
	traceEnded     bool
)

// traceSpawned records a start() that began at start (traceNow) and
// made child c, and has c's end recorded when it comes.
func traceSpawned(p *process, c *runtime.Child, start int64) {
	r := trace.Active()
	if r == nil {
		return
	}
	r.Spawned(c.Pid, p.name, start)
	tc := &tracedChild{c: c}
	tracedMu.Lock()
	tracedChildren[tc] = true
	tracedMu.Unlock()
	go func() {
		<-c.Done()
		tc.reaped(r)
		tracedMu.Lock()
		delete(tracedChildren, tc)
		tracedMu.Unlock()
	}()
}

// traceJoinStart is when a join of p begins to wait: 0 when the run is
// not traced or p has ended already (a join that does not wait).
func traceJoinStart(p *process) int64 {
	r := trace.Active()
	if r == nil {
		return 0
	}
	if _, ended := p.child.ExitCode(); ended {
		return 0
	}
	return r.Now()
}

// traceJoined records a join of p that waited since start.
func traceJoined(p *process, start int64, ended bool) {
	if r := trace.Active(); r != nil && start != 0 {
		r.Joined(p.pid, start, ended)
	}
}

// TraceEnd records that this process ends with code, with the end of
// every child it saw end. It records once; later calls do nothing.
func TraceEnd(code int) {
	r := trace.Active()
	if r == nil {
		return
	}
	tracedMu.Lock()
	defer tracedMu.Unlock()
	if traceEnded {
		return
	}
	traceEnded = true
	for tc := range tracedChildren {
		if _, ended := tc.c.ExitCode(); ended {
			tc.reaped(r)
		}
	}
	r.Ended(code)
}

// BeforeExit, when set, runs in World.Exit (os.exit) after the cleanup,
// as the process ends: the root writes its trace there. Set it once,
// before any script runs.
var BeforeExit func(code int)

// exitTrace is what World.Exit does for the trace before the process
// ends.
func exitTrace(code int) {
	TraceEnd(code)
	if BeforeExit != nil {
		BeforeExit(code)
	}
}

// Pools. The parent records each task as it sends it to a worker, with
// the time the script made its call; the worker records the task's run;
// the parent records when it takes the result, or learns the worker
// died. Tasks are matched by the number of the frame on the worker's
// pipe, which both sides count.

// tracePoolWait records that the script waited for a pool's workers
// since start (0: it did not wait, or the run is not traced).
func tracePoolWait(start int64) {
	if r := trace.Active(); r != nil && start != 0 {
		r.PoolWait(start)
	}
}

// traceDispatch records that t goes to worker pw. The caller is the
// goroutine making t's frame.
func (t *poolTask) traceDispatch(pw *runtime.PoolWorker, wl *workerLocal) {
	if r := trace.Active(); r != nil {
		wl.frames++
		t.traceID = r.Dispatch(t.call.what, t.call.traceStart, t.first, t.count, pw.Child.Pid, wl.frames)
	}
}

// traceResult records that this process took t's result.
func (t *poolTask) traceResult() {
	if r := trace.Active(); r != nil && t.traceID != 0 {
		r.Result(t.traceID)
	}
}

// traceLost records that the worker running t died.
func (t *poolTask) traceLost(pid int) {
	if r := trace.Active(); r != nil && t.traceID != 0 {
		r.Lost(t.traceID, pid)
	}
}

// runTask runs a task frame as run does, between the records of its
// begin and end when traced.
func (pw *poolWorker) runTask(b []byte) []byte {
	r := trace.Active()
	if r == nil {
		return pw.run(b)
	}
	pw.frames++
	h, _, err := readTaskHeader(b)
	if err == nil {
		r.TaskBegin(pw.frames, h.call, h.count)
	}
	out := pw.run(b)
	if err == nil {
		r.TaskEnd(pw.frames)
	}
	return out
}

// traceNotice says, on standard error, that tracing could not start in
// this process; the run goes on untraced there.
func traceNotice(err error) {
	if err != nil {
		os.Stderr.WriteString("procsh: " + err.Error() + "\n")
	}
}
