// The worker side of Pool: run the initializer, then serve task frames
// until told to quit.

package luaapi

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// Task modes: how a task's function is called with each item.
const (
	modeMap  byte = 0 // f(item)
	modeStar byte = 1 // f(unpack(item))
)

// fnCacheSize is how many calls' functions a worker keeps. The parent
// mirrors the cache (first in, first out) to know which it must resend.
const fnCacheSize = 16

// fnCache holds the functions of the most recent calls, by call id.
type fnCache struct {
	ids [fnCacheSize]uint64
	fns [fnCacheSize]lua.LValue
	n   int // insertions so far
}

func (c *fnCache) get(id uint64) (lua.LValue, bool) {
	for i := 0; i < fnCacheSize && i < c.n; i++ {
		if c.ids[i] == id {
			return c.fns[i], true
		}
	}
	return nil, false
}

func (c *fnCache) put(id uint64, fn lua.LValue) {
	i := c.n % fnCacheSize
	c.ids[i], c.fns[i] = id, fn
	c.n++
}

// ballast is heap that is allocated and never touched (so it costs no
// resident memory): it raises the garbage collector's heap goal. Lua
// numbers are boxed, so tasks allocate fast; with Go's small default
// goal a busy worker collects all the time, and the collector's idle
// workers take the CPU that the pool's other workers need. With the
// ballast, a worker doing Python's cpu benchmark collects a few times a
// second instead of hundreds, and Pool(n) gets its n-fold speedup.
//
// The size is a trade: until its first collection a worker's heap grows
// into fresh pages, as many as the ballast is large, and each page's
// first touch is a page fault (about 3 µs here, in a virtual machine).
// With 64 MiB that was some 16,000 faults, about 50 ms of CPU, in every
// new worker: Pool(2) paid it twice where Pool(1) paid it once, and its
// speedup fell short of 2. With 32 MiB a worker doing the cpu benchmark
// collects about every 50 ms (half a millisecond each), and Pool(2) of
// that benchmark takes about 13% less CPU.
var ballast []byte

const ballastSize = 32 << 20

// outcome is how an item of a task failed: the error and traceback.
type outcome struct {
	v  lua.LValue
	tb string
}

// driverSource is the loop that calls a task's function on its items.
// Each result takes its item's place in the list (the list is the
// worker's own, and an item is not looked at again once its function
// was called): one table per task instead of two, and each store
// replaces a value, which gopher-lua does without looking for a
// __newindex as it must for a new key. cur, its upvalue, is the index
// of the item running, so that after an error the loop resumes with the
// next one.
const driverSource = `local cur = 0
local unpack = unpack
return function(f, items, n, star)
  if star then
    for i = cur + 1, n do
      cur = i
      local a = items[i]
      items[i] = f(unpack(a, 1, a.n or #a))
    end
  else
    for i = cur + 1, n do
      cur = i
      items[i] = f(items[i])
    end
  end
end`

// poolWorker is a worker's loop state.
type poolWorker struct {
	w       *World
	fns     fnCache
	handler *lua.LFunction
	driver  *lua.LFunction
	cur     *lua.Upvalue // the driver's cur
	tb      string
	frames  uint64 // task frames got, counted when traced (trace.go)

	guard taskGuard // the running task's limits (limits_pool.go)

	// list is the last task's list and listLen how many of its slots
	// were used; out holds the last result frame of numbers. Both serve
	// the next task again: a worker's memory is fresh pages until its
	// collector first runs (the ballast puts that off), and a page's
	// first touch costs about as much as a few of gopher-lua's calls.
	list    *lua.LTable
	listLen int
	out     []byte
}

// maxKeptList bounds the list a worker keeps for its next task.
const maxKeptList = 1 << 18

// runPoolWorker is the pool worker's main: the start message holds the
// initializer, its arguments and the globals snapshot.
func runPoolWorker(w *World, d *Decoder) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d) could not read its start message: %v\n", w.Self.Name, w.Self.Pid, err)
		return 1
	}
	vals := make([]lua.LValue, 3)
	w.keepDecoded++ // every worker decodes the same start message
	for i := range vals {
		var err error
		if vals[i], err = d.Decode(); err != nil {
			return fail(err)
		}
	}
	w.keepDecoded--
	w.applyLuaLimits() // after the globals, before any code (limits_child.go)
	if !w.memoryLimited() {
		ballast = make([]byte, ballastSize) // which would count against the limit
	}
	ch := runtime.NewWorkerChannel(w.Arena)
	pw, err := newPoolWorker(w)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d): %v\n", w.Self.Name, w.Self.Pid, err)
		return 1
	}
	if err := ch.Send(runtime.SealFrame(runtime.NewFrame(runtime.FrameBooted, 0))); err != nil {
		return 0
	}
	if init := vals[0]; init != lua.LNil {
		if err := w.Call(init, 0, argList(w.L, vals[1], "initargs")...); err != nil {
			w.ReportUncaught(err)
			return 1
		}
	}
	if err := ch.Send(runtime.SealFrame(runtime.NewFrame(runtime.FrameReady, 0))); err != nil {
		return 0
	}
	for done := 0; ; done++ {
		b, err := ch.Next()
		if err != nil || b[0] != runtime.FrameTask {
			// The parent said quit, or is gone.
			w.logf(logDebug, "worker exiting after %d tasks", done)
			return 0
		}
		if err := ch.Reply(pw.runTask(b[1:])); err != nil {
			return 0
		}
	}
}

// newPoolWorker makes w's loop state: the error handler that keeps a
// failing item's traceback, and the driver loop.
func newPoolWorker(w *World) (*poolWorker, error) {
	pw := &poolWorker{w: w}
	pw.handler = w.L.NewFunction(func(L *lua.LState) int {
		pw.tb = w.traceback()
		L.Push(L.Get(1))
		return 1
	})
	return pw, pw.loadDriver()
}

// loadDriver compiles the driver loop.
func (pw *poolWorker) loadDriver() error {
	L := pw.w.L
	chunk, err := L.Load(strings.NewReader(driverSource), "(pool worker)")
	if err != nil {
		return err
	}
	L.Push(chunk)
	L.Call(0, 1)
	pw.driver = L.Get(-1).(*lua.LFunction)
	L.Pop(1)
	pw.cur = pw.driver.Upvalues[0]
	return nil
}

// taskHeader is what a task frame says before its values.
type taskHeader struct {
	call   uint64
	count  int
	mode   byte
	hasFn  bool
	cpu    time.Duration // the task's limits, 0 for none (limits_pool.go)
	memory int64
}

// readTaskHeader reads uvarint call, uvarint count, mode, hasFn.
func readTaskHeader(b []byte) (taskHeader, int, error) {
	var h taskHeader
	pos := 0
	call, n := binary.Uvarint(b)
	if n <= 0 {
		return h, 0, errTruncated
	}
	pos += n
	count, n := binary.Uvarint(b[pos:])
	if n <= 0 || count > uint64(len(b)) {
		return h, 0, errTruncated
	}
	pos += n
	if pos+2 > len(b) {
		return h, 0, errTruncated
	}
	h.call, h.count, h.mode, h.hasFn = call, int(count), b[pos], b[pos+1] == 1
	pos, err := readTaskLimits(b, pos+2, &h)
	return h, pos, err
}

// run runs one task and returns the sealed result frame: for each item,
// true and its value, or false, the error value, the traceback and
// whether the error was a procsh error table. The frame may be the
// worker's buffer, which the next run overwrites.
func (pw *poolWorker) run(b []byte) []byte {
	w, L := pw.w, pw.w.L
	h, pos, err := readTaskHeader(b)
	if err != nil {
		return pw.failAll(0, err)
	}
	fn, ok := pw.fns.get(h.call)
	if h.hasFn {
		flen, n := binary.Uvarint(b[pos:])
		if n <= 0 || flen > uint64(len(b)-pos-n) {
			return pw.failAll(h.count, errTruncated)
		}
		pos += n
		d, err := w.NewDecoder(b[pos : pos+int(flen)])
		if err == nil {
			w.keepDecoded++ // every worker decodes the same function
			fn, err = d.Decode()
			w.keepDecoded--
		}
		pos += int(flen)
		if err != nil {
			// Keep the cache as the parent mirrors it.
			pw.fns.put(h.call, lua.LNil)
			return pw.failAll(h.count, err)
		}
		pw.fns.put(h.call, fn)
	} else if !ok {
		return pw.failAll(h.count, fmt.Errorf("pool: task of call %d came without its function", h.call))
	}
	if pos >= len(b) {
		return pw.failAll(h.count, errTruncated)
	}
	items := pw.taskList(h.count)
	if b[pos] == valuesPacked {
		nums, ok := unpackNumbers(b[pos+1:], h.count)
		if !ok {
			return pw.failAll(h.count, errTruncated)
		}
		for i := range nums {
			items.RawSetInt(i+1, numberAt(&nums[i]))
		}
	} else {
		d, err := w.NewDecoder(b[pos+1:])
		if err != nil {
			return pw.failAll(h.count, err)
		}
		for i := 1; i <= h.count; i++ {
			item, err := d.Decode()
			if err != nil {
				return pw.failAll(h.count, err)
			}
			items.RawSetInt(i, item)
		}
	}
	errs := map[int]outcome{}
	// The driver runs the items in a Lua loop (much cheaper than a
	// protected call from Go per item); an error stops it at the item
	// whose index it left in its upvalue, and it resumes after that one.
	pw.cur.SetValue(lua.LNumber(0))
	endLimits := pw.startTaskLimits(h)
	for {
		L.Push(pw.driver)
		L.Push(fn)
		L.Push(items)
		L.Push(lua.LNumber(h.count))
		L.Push(lua.LBool(h.mode == modeStar))
		err := L.PCall(4, 0, pw.handler)
		if err == nil {
			break
		}
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		at, _ := pw.cur.Value().(lua.LNumber)
		errs[int(at)] = outcome{v: v, tb: pw.tb}
		pw.tb = ""
		if int(at) >= h.count || at < 1 {
			break
		}
		if isCPUExhausted(v) { // the task's other items have no CPU time left either
			for i := int(at) + 1; i <= h.count; i++ {
				errs[i] = outcome{v: v}
			}
			break
		}
	}
	endLimits()
	results := items
	if len(errs) == 0 {
		if f, ok := packedResults(pw.out[:0], results, h.count); ok {
			pw.out = f
			return f
		}
	}
	for i := range errs {
		if i >= 1 && i <= h.count {
			results.RawSetInt(i, lua.LNil) // still its item: it has no result
		}
	}
	msg, err := pw.encodeResults(errs, results, h.count)
	if err != nil {
		// Some result cannot be sent: it fails with the error that says
		// why, and the others go.
		for i := 1; i <= h.count; i++ {
			if _, failed := errs[i]; failed {
				continue
			}
			trial := w.NewEncoder()
			err := trial.Encode(results.RawGetInt(i), "result")
			trial.dropRefs() // only a test: the message is made below
			if err != nil {
				errs[i] = outcome{v: NewError(L, "SerializationError", "%v", err)}
				results.RawSetInt(i, lua.LNil)
			}
		}
		if msg, err = pw.encodeResults(errs, results, h.count); err != nil {
			return pw.failAll(h.count, err)
		}
	}
	return pw.frame(valuesCodec, msg)
}

// encodeResults makes a result message: the number of failed items; for
// each, its index in the task, the error value, the traceback and
// whether the value is a procsh error table; then every item's result
// (nil for the failed ones).
func (pw *poolWorker) encodeResults(errs map[int]outcome, results *lua.LTable, count int) ([]byte, error) {
	e := pw.w.NewEncoder()
	e.Encode(lua.LNumber(len(errs)), "errors")
	for i, o := range errs {
		e.Encode(lua.LNumber(i), "errors")
		v, isErr := pw.bareError(o.v)
		if err := e.Encode(v, "error"); err != nil {
			return nil, err
		}
		e.Encode(lua.LString(o.tb), "traceback")
		e.Encode(lua.LBool(isErr), "errors")
	}
	for i := 1; i <= count; i++ {
		if err := e.Encode(results.RawGetInt(i), "result"); err != nil {
			return nil, err
		}
	}
	return e.Bytes(), nil
}

// bareError strips the metatable of a procsh error table (its __tostring
// cannot travel): the parent puts its own back.
func (pw *poolWorker) bareError(v lua.LValue) (lua.LValue, bool) {
	t, ok := v.(*lua.LTable)
	if !ok || ErrorType(t) == "" || t.Metatable != errorMeta(pw.w.L) {
		return v, false
	}
	c := pw.w.L.NewTable()
	t.ForEach(func(k, v lua.LValue) { c.RawSet(k, v) })
	return c, true
}

// failAll answers a task that could not be run: each of its count
// items fails with the same error (the parent fails them all when count
// is 0).
func (pw *poolWorker) failAll(count int, err error) []byte {
	msg, _ := pw.bareError(NewError(pw.w.L, "SerializationError", "pool worker could not run its task: %v", err))
	errs := map[int]outcome{}
	for i := 1; i <= count; i++ {
		errs[i] = outcome{v: msg}
	}
	b, err := pw.encodeResults(errs, pw.w.L.NewTable(), count)
	if err != nil {
		b = nil
	}
	return pw.frame(valuesCodec, b)
}

// taskList is the list for a task of count items: the last task's when
// it is large enough, its slots past count emptied (a slot is set
// before the driver reads it), else a new one.
func (pw *poolWorker) taskList(count int) *lua.LTable {
	if pw.list == nil || pw.listLen < count {
		pw.list, pw.listLen = nil, 0
		t := pw.w.L.CreateTable(count, 0)
		if count <= maxKeptList {
			pw.list, pw.listLen = t, count
		}
		return t
	}
	for i := count + 1; i <= pw.listLen; i++ {
		pw.list.RawSetInt(i, lua.LNil)
	}
	pw.listLen = count
	return pw.list
}

// packedResults makes, in buf, the result frame of count results that
// are all numbers, packed straight from the list; it reports false when
// one is not a number.
func packedResults(buf []byte, results *lua.LTable, count int) ([]byte, bool) {
	f := append(buf, 0, 0, 0, 0, runtime.FrameResult)
	f = slices.Grow(f, 1+8*count)
	f = append(f, valuesPacked)
	for i := 1; i <= count; i++ {
		n, ok := results.RawGetInt(i).(lua.LNumber)
		if !ok {
			return nil, false
		}
		f = binary.LittleEndian.AppendUint64(f, math.Float64bits(float64(n)))
	}
	return runtime.SealFrame(f), true
}

// frame makes a result frame: the form of the values, then the values.
func (pw *poolWorker) frame(form byte, msg []byte) []byte {
	f := runtime.NewFrame(runtime.FrameResult, 1+len(msg))
	f = append(f, form)
	return runtime.SealFrame(append(f, msg...))
}

// Forms of a task's items or results.
const (
	valuesCodec  byte = 0 // a codec message
	valuesPacked byte = 1 // numbers only: 8 bytes each, IEEE 754 bits
)

// packNumbers packs vals when they are all numbers: the common case of a
// map over numbers skips the codec both ways.
func packNumbers(vals []lua.LValue) ([]byte, bool) {
	b := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		n, ok := v.(lua.LNumber)
		if !ok {
			return nil, false
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(n)))
	}
	return b, true
}

// unpackNumbers reads count packed numbers. Their Lua values are boxes
// pointing into the slice (numberAt): one allocation for them all.
func unpackNumbers(b []byte, count int) ([]float64, bool) {
	if len(b) != 8*count {
		return nil, false
	}
	nums := make([]float64, count)
	for i := range nums {
		nums[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return nums, true
}

// numberAt is the Lua number *f, boxed in place. Go boxes each number
// put in an interface apart (8 bytes, an object for the collector to
// track: a map over a million numbers made two million of them, in the
// worker and in the parent); pointing the interface's data word at a
// number in a slice boxes a whole task's with the slice's one
// allocation. It is how gopher-lua boxes the numbers its own arithmetic
// makes (allocator.LNumber2I). *f must never change afterwards, as the
// slices unpackNumbers returns never do, and keeps the whole slice
// alive while any of its boxes lives.
func numberAt(f *float64) lua.LValue {
	v := lua.LValue(lua.LNumber(0)) // the type word; 0 is boxed without an allocation
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(f)
	return v
}

// argListSafe is argList for a starmap item: a table's items up to its n
// field or length; any other value is the only argument.
func argListSafe(v lua.LValue) []lua.LValue {
	t, ok := v.(*lua.LTable)
	if !ok {
		return []lua.LValue{v}
	}
	return tableArgs(t)
}
