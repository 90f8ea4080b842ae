// Pipe and Connection: mp.Pipe([duplex]) returns two connections joined
// by message rings in the arena.

package luaapi

import (
	"errors"
	"fmt"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const connTypeName = "multiprocessing.Connection"

// connObj is the Go side of one end of a Pipe: the ring it receives from
// and the ring it sends to (either nil for an end of a one-way pipe).
//
// The rings are tracked: each records which processes hold its receiving
// and sending ends, so recv reports EOFError once every process holding
// the other end has closed it or exited. A process holds an end from the
// moment it makes the pipe or decodes a handle to it, until close() or its
// exit. A handle being sent counts as a holder until it is received
// (runtime.Ring.Send), so closing this process's copy right after
// starting a child that was given it does not end the pipe.
type connObj struct {
	arenaBase
	w      *World
	rd, wr *runtime.Ring
}

func (c *connObj) HandleType() string { return "Connection" }

// parts are the rings, which each open handle keeps alive (the holders of
// each end are tracked apart, in the rings themselves).
func (c *connObj) parts() []uint64 {
	if c.closed {
		return nil
	}
	var offs []uint64
	if c.rd != nil {
		offs = append(offs, c.rd.Offset())
	}
	if c.wr != nil && c.wr != c.rd {
		offs = append(offs, c.wr.Offset())
	}
	return offs
}

// HandleData records the handle as in flight, so the end stays open until
// the receiver holds it. A closed connection travels as closed.
func (c *connObj) HandleData() []byte {
	var rd, wr, closed uint64
	if c.rd != nil {
		rd = c.rd.Offset()
	}
	if c.wr != nil {
		wr = c.wr.Offset()
	}
	if c.closed {
		closed = 1
	} else {
		if c.rd != nil {
			c.rd.Send(runtime.RingReader)
		}
		if c.wr != nil {
			c.wr.Send(runtime.RingWriter)
		}
	}
	return appendHandleInts(nil, rd, wr, closed)
}

var connMethods = map[string]lua.LGFunction{
	"send":  connSend,
	"recv":  connRecv,
	"poll":  connPoll,
	"close": connClose,
}

// connMeta makes the Connection metatable.
func connMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), connMethods)
	L.SetField(mt, "methods", methods)
	L.SetField(mt, "__index", L.NewFunction(func(L *lua.LState) int {
		c := checkConn(L, 1)
		key, _ := L.Get(2).(lua.LString)
		switch key {
		case "readable":
			L.Push(lua.LBool(c.rd != nil))
		case "writable":
			L.Push(lua.LBool(c.wr != nil))
		case "closed":
			L.Push(lua.LBool(c.closed))
		default:
			L.Push(methods.RawGet(L.Get(2)))
		}
		return 1
	}))
	L.SetField(mt, "__eq", L.NewFunction(connEq))
	L.SetField(mt, "__tostring", L.NewFunction(connString))
	return mt
}

func decodeConn(L *lua.LState, data []byte) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Connection"}
	rdOff, wrOff, closed := r.uint(), r.uint(), r.uint()
	if r.err != nil {
		return nil, r.err
	}
	c := &connObj{w: w}
	c.closed = closed != 0
	var err error
	if rdOff != 0 {
		r.checkOffset(w, rdOff, 0)
		if r.err == nil {
			c.rd, err = w.Arena.RingAt(rdOff)
		}
	}
	if wrOff != 0 && err == nil {
		r.checkOffset(w, wrOff, 0)
		if r.err == nil {
			c.wr, err = w.Arena.RingAt(wrOff)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if err != nil {
		return nil, fmt.Errorf("decode: bad Connection handle: %v", err)
	}
	if !c.closed {
		if err := c.hold(); err != nil {
			return nil, fmt.Errorf("decode: Connection: %w", err)
		}
	}
	return c.userdata(), nil
}

// hold records this process as a holder of the connection's ends. It
// fails only when an end must grow its table of holders and the arena has
// no room: then this process must not use the end, or the other side
// could see it gone while it is held.
func (c *connObj) hold() error {
	if c.rd != nil {
		if err := c.rd.Hold(runtime.RingReader); err != nil {
			return err
		}
	}
	if c.wr != nil {
		if err := c.wr.Hold(runtime.RingWriter); err != nil {
			return err
		}
	}
	return nil
}

func (c *connObj) userdata() *lua.LUserData {
	ud := c.w.L.NewUserData()
	ud.Value = c
	ud.Metatable = c.w.typeMeta(connTypeName)
	return ud
}

var pipeParams = params{pos: []string{"duplex"}, extra: []string{"ring_size"}}

// mpPipe is mp.Pipe([duplex]) or mp.Pipe{duplex=, ring_size=}: two
// connections. With duplex false the first only receives and the second
// only sends.
func mpPipe(L *lua.LState) int {
	a := checkArena(L, "Pipe")
	w := worldOf(L)
	var args [2]lua.LValue
	pipeParams.read(L, 1, "Pipe", args[:])
	duplex := toBool(L, args[0], "Pipe: duplex", true)
	size := queueIntArg(L, args[1], "Pipe: ring_size", 0)
	if size != 0 && (size < runtime.MinRingSize || size > runtime.MaxRingSize) {
		Raise(L, "ValueError", "Pipe: got ring_size %d, want %d to %d bytes", size, runtime.MinRingSize, runtime.MaxRingSize)
	}
	o := runtime.RingOptions{Size: size, Track: true}
	newRing := func() (*runtime.Ring, error) { return a.NewRing(o) }
	r1, err := whenFull(newRing)
	if err != nil {
		raiseSync(L, err, "Pipe")
	}
	c1 := &connObj{w: w, rd: r1}
	c2 := &connObj{w: w, wr: r1}
	if duplex {
		r2, err := whenFull(newRing)
		if err != nil {
			r1.Free()
			raiseSync(L, err, "Pipe")
		}
		c1.wr, c2.rd = r2, r2
	}
	holdNew(L, c1, "Pipe")
	holdNew(L, c2, "Pipe")
	if err := c1.hold(); err != nil {
		raiseSync(L, err, "Pipe")
	}
	if err := c2.hold(); err != nil {
		raiseSync(L, err, "Pipe")
	}
	L.Push(c1.userdata())
	L.Push(c2.userdata())
	return 2
}

// checkConn returns the connection at n.
func checkConn(L *lua.LState, n int) *connObj {
	return checkObject[*connObj](L, n, "multiprocessing.Connection")
}

// openConn returns the connection at 1, raising OSError when this process
// closed it.
func openConn(L *lua.LState, method string) *connObj {
	c := checkConn(L, 1)
	if c.closed {
		Raise(L, "OSError", "Connection.%s: the connection is closed", method)
	}
	return c
}

// connSend is conn:send(v).
func connSend(L *lua.LState) int {
	c := openConn(L, "send")
	if c.wr == nil {
		Raise(L, "OSError", "Connection.send: this end of a one-way pipe only receives, want the other end")
	}
	if L.GetTop() < 2 {
		argError(L, 2, "value expected")
	}
	var buf [16]byte
	head, body, e := encodeMessage(L, c.w, 2, &buf)
	if err := c.wr.PutParts(c.w.Context(), head, body, true, -1); err != nil {
		if e != nil {
			e.dropRefs()
		}
		raiseRing(L, c.w, err, "Connection.send", "TimeoutError")
	}
	return 0
}

// connRecv is conn:recv([timeout]) or conn:recv{timeout=}: the next
// value sent from the other end; EOFError when nothing is left and every
// holder of the other end has closed it or exited, TimeoutError when
// nothing came within the timeout (Python's recv has none: there
// conn.poll(t) comes first).
func connRecv(L *lua.LState) int {
	c := openConn(L, "recv")
	if c.rd == nil {
		Raise(L, "OSError", "Connection.recv: this end of a one-way pipe only sends, want the other end")
	}
	timeout := timeoutArg(L, 2, "Connection.recv", -1)
	msg, err := c.rd.Get(c.w.Context(), true, timeout)
	if err != nil {
		if errors.Is(err, runtime.ErrTimeout) {
			Raise(L, "TimeoutError", "Connection.recv: nothing received within %g seconds", timeout.Seconds())
		}
		raiseRing(L, c.w, err, "Connection.recv", "TimeoutError")
	}
	decodeMessage(L, c.w, msg, !c.rd.Reused(msg), "Connection.recv")
	return 1
}

// connPoll is conn:poll([timeout]) or conn:poll{timeout=} → whether recv
// would not wait. No argument: look without waiting; nil or math.huge:
// wait as long as it takes.
func connPoll(L *lua.LState) int {
	c := openConn(L, "poll")
	if c.rd == nil {
		Raise(L, "OSError", "Connection.poll: this end of a one-way pipe only sends, want the other end")
	}
	var timeout time.Duration // no argument: do not wait
	if L.GetTop() >= 2 {
		timeout = timeoutArg(L, 2, "Connection.poll", -1)
	}
	ok, err := c.rd.Poll(c.w.Context(), timeout)
	if err != nil {
		raiseRing(L, c.w, err, "Connection.poll", "TimeoutError")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// connClose is conn:close(): this process's use of the end ends. A second
// close does nothing.
func connClose(L *lua.LState) int {
	c := checkConn(L, 1)
	if c.closed {
		return 0
	}
	if c.rd != nil {
		c.rd.Drop(runtime.RingReader)
	}
	if c.wr != nil {
		c.wr.Drop(runtime.RingWriter)
	}
	closeArenaObject(c)
	return 0
}

// connEq: two connections are equal when they are the same end of the
// same pipe.
func connEq(L *lua.LState) int {
	a, b := checkConn(L, 1), checkConn(L, 2)
	L.Push(lua.LBool(ringOffset(a.rd) == ringOffset(b.rd) && ringOffset(a.wr) == ringOffset(b.wr)))
	return 1
}

func ringOffset(r *runtime.Ring) uint64 {
	if r == nil {
		return 0
	}
	return r.Offset()
}

// connString is the repr: <Connection duplex>, <Connection read-only>,
// <Connection write-only>, <Connection closed>.
func connString(L *lua.LState) int {
	c := checkConn(L, 1)
	s := "<Connection duplex>"
	switch {
	case c.closed:
		s = "<Connection closed>"
	case c.wr == nil:
		s = "<Connection read-only>"
	case c.rd == nil:
		s = "<Connection write-only>"
	}
	L.Push(lua.LString(s))
	return 1
}
