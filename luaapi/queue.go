// Queue, JoinableQueue and SimpleQueue: mp.Queue([maxsize]) and its
// relatives on the arena's message ring.

package luaapi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	queueTypeName         = "multiprocessing.Queue"
	joinableQueueTypeName = "multiprocessing.JoinableQueue"
	simpleQueueTypeName   = "multiprocessing.SimpleQueue"
)

// queueKind says which of the three queues a queueObj is.
type queueKind uint8

const (
	kindQueue queueKind = iota
	kindJoinableQueue
	kindSimpleQueue
)

var queueKindNames = [...]string{"Queue", "JoinableQueue", "SimpleQueue"}
var queueTypeNames = [...]string{queueTypeName, joinableQueueTypeName, simpleQueueTypeName}

// queueObj is the Go side of a Queue, JoinableQueue or SimpleQueue: a ring
// in the arena, and whether this handle was closed.
type queueObj struct {
	arenaBase
	w    *World
	ring *runtime.Ring
	kind queueKind
	feed *feeder // this process's feeder for the ring, once looked up
}

func (q *queueObj) HandleType() string { return queueKindNames[q.kind] }
func (q *queueObj) HandleData() []byte { return appendHandleInts(nil, q.ring.Offset()) }
func (q *queueObj) offset() uint64     { return q.ring.Offset() }
func (q *queueObj) parts() []uint64    { return []uint64{q.ring.Offset()} }

var queueMethods = map[string]lua.LGFunction{
	"put":                queuePut,
	"get":                queueGet,
	"put_nowait":         queuePutNowait,
	"get_nowait":         queueGetNowait,
	"qsize":              queueQsize,
	"empty":              queueEmpty,
	"full":               queueFull,
	"close":              queueClose,
	"join_thread":        queueJoinThread,
	"cancel_join_thread": queueCancelJoinThread,
}

var joinableQueueMethods = map[string]lua.LGFunction{
	"task_done": queueTaskDone,
	"join":      queueJoin,
}

var simpleQueueMethods = map[string]lua.LGFunction{
	"put":   simpleQueuePut,
	"get":   simpleQueueGet,
	"empty": queueEmpty,
	"close": queueClose,
}

func decodeQueue(L *lua.LState, data []byte, kind queueKind) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: queueKindNames[kind]}
	off := r.uint()
	r.checkOffset(w, off, 0)
	if r.err != nil {
		return nil, r.err
	}
	ring, err := w.Arena.RingAt(off)
	if err != nil {
		return nil, fmt.Errorf("decode: bad %s handle: %v", queueKindNames[kind], err)
	}
	return newArenaUserdata(L, queueTypeNames[kind], &queueObj{w: w, ring: ring, kind: kind}), nil
}

var (
	queueParams       = params{pos: []string{"maxsize"}, extra: []string{"ring_size"}}
	simpleQueueParams = params{extra: []string{"ring_size"}}
)

// newQueue is mp.Queue([maxsize]), mp.JoinableQueue([maxsize]) and
// mp.SimpleQueue(), with the options forms {maxsize=, ring_size=} (the
// ring's buffer in bytes; when left out, runtime.UnboundedRingSize for a
// queue with no maxsize, runtime.DefaultRingSize otherwise).
func newQueue(L *lua.LState, kind queueKind) int {
	what := queueKindNames[kind]
	a := checkArena(L, what)
	args := [2]lua.LValue{lua.LNil, lua.LNil} // maxsize, ring_size
	if kind == kindSimpleQueue {
		simpleQueueParams.read(L, 1, what, args[1:])
	} else {
		queueParams.read(L, 1, what, args[:])
	}
	maxsize := queueIntArg(L, args[0], what+": maxsize", 0)
	if maxsize < 0 {
		maxsize = 0 // Python: maxsize <= 0 means no limit
	}
	size := queueIntArg(L, args[1], what+": ring_size", 0)
	if size != 0 && (size < runtime.MinRingSize || size > runtime.MaxRingSize) {
		Raise(L, "ValueError", "%s: got ring_size %d, want %d to %d bytes", what, size, runtime.MinRingSize, runtime.MaxRingSize)
	}
	if size == 0 && maxsize == 0 {
		size = runtime.UnboundedRingSize
	}
	ring, err := whenFull(func() (*runtime.Ring, error) {
		return a.NewRing(runtime.RingOptions{Size: size, Maxsize: maxsize, Joinable: kind == kindJoinableQueue})
	})
	if err != nil {
		raiseSync(L, err, what)
	}
	q := &queueObj{w: worldOf(L), ring: ring, kind: kind}
	holdNew(L, q, what)
	L.Push(newArenaUserdata(L, queueTypeNames[kind], q))
	return 1
}

// queueIntArg reads an optional integer argument: nil gives def.
func queueIntArg(L *lua.LState, v lua.LValue, what string, def int) int {
	switch x := v.(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		f := float64(x)
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			Raise(L, "ValueError", "%s: got %v, want an integer", what, x)
		}
		return int(f)
	}
	Raise(L, "TypeError", "%s: got a %s, want an integer", what, v.Type().String())
	return 0
}

// checkQueue returns the queue of any kind at n.
func checkQueue(L *lua.LState, n int) *queueObj {
	return checkObject[*queueObj](L, n, "multiprocessing.Queue")
}

// openQueue returns the queue at 1, raising ValueError when this process
// closed it.
func openQueue(L *lua.LState, method string) *queueObj {
	q := checkQueue(L, 1)
	if q.closed {
		Raise(L, "ValueError", "%s.%s: the %s is closed", q.HandleType(), method, q.HandleType())
	}
	return q
}

// encodeMessage turns the value at n into a message for a ring, head then
// body (runtime.Ring.PutParts), raising SerializationError when it cannot
// be sent. Numbers and strings, the common case, are written as the codec
// writes them without its general machinery: a number in buf, a string's
// bytes where they are, unjoined and uncopied. Otherwise it returns the
// encoder too, whose references (see refObject) must be dropped if the
// message is not put.
func encodeMessage(L *lua.LState, w *World, n int, buf *[16]byte) (head, body []byte, e *Encoder) {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		buf[0] = 0 // no chunks
		e := Encoder{body: buf[:1]}
		e.number(float64(v))
		return e.body, nil, nil
	case lua.LString:
		head = append(buf[:0], 0, tagStr)
		head = binary.AppendUvarint(head, uint64(len(v)))
		return head, unsafe.Slice(unsafe.StringData(string(v)), len(v)), nil
	}
	e = w.NewEncoder()
	if err := e.Encode(L.Get(n), "item"); err != nil {
		raiseSend(L, err)
	}
	return nil, e.Bytes(), e
}

// decodeMessage pushes the value a message holds. keep says the message's
// buffer is the caller's for good, so a string can be made from it in
// place.
func decodeMessage(L *lua.LState, w *World, msg []byte, keep bool, what string) {
	var v lua.LValue
	var err error
	if len(msg) >= 2 && msg[0] == 0 {
		// No chunks: read the value directly.
		if n, k := binary.Uvarint(msg[2:]); keep && msg[1] == tagStr && k > 0 && n > 0 && uint64(len(msg)-2-k) == n {
			L.Push(lua.LString(unsafe.String(&msg[2+k], int(n))))
			return
		}
		d := Decoder{w: w, buf: msg, pos: 1}
		v, err = d.value()
	} else {
		var d *Decoder
		d, err = w.NewDecoder(msg)
		if err == nil {
			v, err = d.Decode()
		}
	}
	if err != nil {
		Raise(L, "SerializationError", "%s: cannot read the message received: %v", what, err)
	}
	L.Push(v)
}

// raiseRing raises the Lua error a ring's error means: timeoutType (Empty,
// Full) for a timeout, KeyboardInterrupt for Ctrl-C.
func raiseRing(L *lua.LState, w *World, err error, what, timeoutType string) {
	switch {
	case errors.Is(err, runtime.ErrTimeout):
		Raise(L, timeoutType, "%s: %s", what, timeoutText(timeoutType))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		w.interrupted()
	case errors.Is(err, runtime.ErrEOF):
		Raise(L, "EOFError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrBrokenPipe):
		Raise(L, "OSError", "%s: %v", what, err)
	case errors.Is(err, runtime.ErrTaskDone):
		Raise(L, "ValueError", "%s: %v", what, err)
	}
	raiseSync(L, err, what)
}

func timeoutText(typ string) string {
	if typ == "Full" {
		return "the queue is full"
	}
	return "the queue is empty"
}

// queuePut is q:put(v [, block [, timeout]]); Full when it cannot.
func queuePut(L *lua.LState) int {
	q := openQueue(L, "put")
	checkPutValue(L)
	block, timeout := blockArgs(L, 3, q.HandleType()+".put")
	q.put(L, q.HandleType()+".put", block, timeout)
	return 0
}

// checkPutValue raises unless a value to put stands at 2.
func checkPutValue(L *lua.LState) {
	if L.GetTop() < 2 {
		argError(L, 2, "value expected")
	}
}

// put encodes the value at 2 and puts it in the ring; what names the call
// in errors. On an unbounded Queue a put never waits: what the ring cannot
// take yet goes to this process's feeder (see feeder.go), made ready
// first, so that a message the arena has no room for raises here.
func (q *queueObj) put(L *lua.LState, what string, block bool, timeout time.Duration) {
	var buf [16]byte
	head, body, e := encodeMessage(L, q.w, 2, &buf)
	fail := func(err error) {
		if e != nil {
			e.dropRefs()
		}
		raiseRing(L, q.w, err, what, "Full")
	}
	if q.fed() {
		if q.feed == nil {
			q.feed = q.w.feederFor(q.ring)
		}
		if !q.feed.busy() {
			err := q.ring.PutParts(q.w.Context(), head, body, false, 0)
			if err == nil {
				return
			}
			if !errors.Is(err, runtime.ErrTimeout) {
				fail(err)
			}
		}
		m, err := q.ring.Prepare(head, body)
		if err != nil {
			fail(err)
		}
		q.feed.add(m)
		return
	}
	if err := q.ring.PutParts(q.w.Context(), head, body, block, timeout); err != nil {
		fail(err)
	}
}

// fed says whether puts to q go through a feeder: a plain Queue with no
// maxsize.
func (q *queueObj) fed() bool { return q.kind == kindQueue && q.ring.Maxsize() == 0 }

// pending is how many of this process's puts to q its feeder still holds.
func (q *queueObj) pending() int {
	if f := q.w.feederOf(q.ring); f != nil {
		return f.count()
	}
	return 0
}

// queuePutNowait is q:put_nowait(v): Full when a bounded queue has no
// room (an unbounded one takes it, as Python's does).
func queuePutNowait(L *lua.LState) int {
	q := openQueue(L, "put_nowait")
	checkPutValue(L)
	q.put(L, q.HandleType()+".put_nowait", false, 0)
	return 0
}

// queueGet is q:get([block [, timeout]]) or q:get{block=, timeout=};
// Empty when nothing came.
func queueGet(L *lua.LState) int {
	q := openQueue(L, "get")
	block, timeout := blockArgs(L, 2, q.HandleType()+".get")
	msg, err := q.ring.Get(q.w.Context(), block, timeout)
	if err != nil {
		raiseRing(L, q.w, err, q.HandleType()+".get", "Empty")
	}
	decodeMessage(L, q.w, msg, !q.ring.Reused(msg), q.HandleType()+".get")
	return 1
}

// queueGetNowait is q:get_nowait().
func queueGetNowait(L *lua.LState) int {
	q := openQueue(L, "get_nowait")
	msg, err := q.ring.Get(q.w.Context(), false, 0)
	if err != nil {
		raiseRing(L, q.w, err, q.HandleType()+".get_nowait", "Empty")
	}
	decodeMessage(L, q.w, msg, !q.ring.Reused(msg), q.HandleType()+".get_nowait")
	return 1
}

func queueQsize(L *lua.LState) int {
	q := openQueue(L, "qsize")
	L.Push(lua.LNumber(q.ring.Len() + q.pending()))
	return 1
}

func queueEmpty(L *lua.LState) int {
	q := openQueue(L, "empty")
	L.Push(lua.LBool(q.ring.Empty() && q.pending() == 0))
	return 1
}

func queueFull(L *lua.LState) int {
	q := openQueue(L, "full")
	L.Push(lua.LBool(q.ring.Full()))
	return 1
}

// queueClose is q:close(): this handle puts and gets no more; the queue
// lives on for the other handles and is freed once none in any process
// holds it (items this process's feeder still holds go first). A second
// close does nothing.
func queueClose(L *lua.LState) int {
	closeArenaObject(checkQueue(L, 1))
	return 0
}

// queueJoinThread is q:join_thread(): wait until this process's feeder has
// placed every item put (see feeder.go).
func queueJoinThread(L *lua.LState) int {
	q := checkQueue(L, 1)
	if f := q.w.feederOf(q.ring); f != nil {
		if err := f.flush(q.w.Context()); err != nil {
			q.w.interrupted()
		}
	}
	return 0
}

// queueCancelJoinThread is q:cancel_join_thread(): at exit, this process
// does not wait for its feeder; what it still holds is dropped.
func queueCancelJoinThread(L *lua.LState) int {
	q := checkQueue(L, 1)
	f := q.w.feederFor(q.ring)
	f.mu.Lock()
	f.cancel = true
	f.mu.Unlock()
	return 0
}

// queueTaskDone is q:task_done(); ValueError when called more times than
// items were put.
func queueTaskDone(L *lua.LState) int {
	q := openQueue(L, "task_done")
	if err := q.ring.TaskDone(); err != nil {
		raiseRing(L, q.w, err, "JoinableQueue.task_done", "ValueError")
	}
	return 0
}

// queueJoin is q:join([timeout]) or q:join{timeout=} → true once every
// item put has been marked done, false on timeout.
func queueJoin(L *lua.LState) int {
	q := openQueue(L, "join")
	timeout := timeoutArg(L, 2, "JoinableQueue.join", -1)
	ok, err := q.ring.Join(q.w.Context(), timeout)
	if err != nil {
		raiseRing(L, q.w, err, "JoinableQueue.join", "TimeoutError")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// simpleQueuePut is sq:put(v): waits for room as long as it takes.
func simpleQueuePut(L *lua.LState) int {
	q := openQueue(L, "put")
	checkPutValue(L)
	q.put(L, "SimpleQueue.put", true, -1)
	return 0
}

// simpleQueueGet is sq:get([timeout]) or sq:get{timeout=}; Empty on
// timeout.
func simpleQueueGet(L *lua.LState) int {
	q := openQueue(L, "get")
	timeout := timeoutArg(L, 2, "SimpleQueue.get", -1)
	msg, err := q.ring.Get(q.w.Context(), true, timeout)
	if err != nil {
		raiseRing(L, q.w, err, "SimpleQueue.get", "Empty")
	}
	decodeMessage(L, q.w, msg, !q.ring.Reused(msg), "SimpleQueue.get")
	return 1
}

// queueString is the repr: <Queue maxsize=0 qsize=3>.
func queueString(L *lua.LState) int {
	q := checkQueue(L, 1)
	name := q.HandleType()
	var s string
	switch {
	case q.closed:
		s = fmt.Sprintf("<%s closed>", name)
	case q.kind == kindSimpleQueue:
		s = fmt.Sprintf("<%s qsize=%d>", name, q.ring.Len())
	case q.kind == kindJoinableQueue:
		s = fmt.Sprintf("<%s maxsize=%d qsize=%d unfinished=%d>", name, q.ring.Maxsize(), q.ring.Len(), q.ring.Unfinished())
	default:
		s = fmt.Sprintf("<%s maxsize=%d qsize=%d>", name, q.ring.Maxsize(), q.ring.Len())
	}
	L.Push(lua.LString(s))
	return 1
}
