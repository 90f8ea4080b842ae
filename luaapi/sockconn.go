// SocketConnection: a Connection over a socket, to a program that shares
// nothing with this one, as Listener:accept and mp.connection.Client
// return it.

package luaapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const sockConnTypeName = "multiprocessing.SocketConnection"

// sockConn is the Go side of a SocketConnection. Values cross it through
// the codec as they cross a Pipe, functions by value, but not procsh's
// shared objects (sockconn_values.go): the program at the other end has
// an arena of its own, or none. It stays in the process that made it.
type sockConn struct {
	w      *World
	sc     *runtime.SocketConn
	family string
	peer   string // the listener's address, or where an accepted one came from
	closed bool
}

var sockConnMethods = map[string]lua.LGFunction{
	"send":       sockConnSend,
	"recv":       sockConnRecv,
	"poll":       sockConnPoll,
	"send_bytes": sockConnSendBytes,
	"recv_bytes": sockConnRecvBytes,
	"close":      sockConnClose,
}

// sockConnMeta makes the SocketConnection metatable.
func sockConnMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), sockConnMethods)
	L.SetField(mt, "methods", methods)
	L.SetField(mt, "__index", L.NewFunction(func(L *lua.LState) int {
		c := checkSockConn(L, 1)
		switch key, _ := L.Get(2).(lua.LString); key {
		case "closed":
			L.Push(lua.LBool(c.isClosed()))
		case "readable", "writable":
			L.Push(lua.LTrue)
		default:
			L.Push(methods.RawGet(L.Get(2)))
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(sockConnString))
	return mt
}

func newSockConn(w *World, sc *runtime.SocketConn, family, peer string) *lua.LUserData {
	ud := w.L.NewUserData()
	ud.Value = &sockConn{w: w, sc: sc, family: family, peer: peer}
	ud.Metatable = w.typeMeta(sockConnTypeName)
	return ud
}

// isClosed: closed here, or by a send that Ctrl-C cut short half-way.
func (c *sockConn) isClosed() bool { return c.closed || c.sc.Closed() }

// enter and exit make mp.with close the connection, as Python's with does.
func (c *sockConn) enter(L *lua.LState) {}
func (c *sockConn) exit(L *lua.LState)  { c.close() }

func (c *sockConn) close() {
	if !c.closed {
		c.closed = true
		c.sc.Close()
	}
}

// checkSockConn returns the socket connection at n.
func checkSockConn(L *lua.LState, n int) *sockConn {
	return checkObject[*sockConn](L, n, sockConnTypeName)
}

// openSockConn returns the connection at 1, raising OSError when it is
// closed.
func openSockConn(L *lua.LState, method string) *sockConn {
	c := checkSockConn(L, 1)
	if c.isClosed() {
		Raise(L, "OSError", "Connection.%s: the connection is closed", method)
	}
	return c
}

// sockConnSend is conn:send(v): v through the codec, as a Pipe sends it;
// a procsh shared object anywhere in v is a SerializationError.
func sockConnSend(L *lua.LState) int {
	c := openSockConn(L, "send")
	if L.GetTop() < 2 {
		argError(L, 2, "value expected")
	}
	if err := checkForeign(c.w, L.Get(2), "item"); err != nil {
		Raise(L, "SerializationError", "Connection.send: %v", err)
	}
	var buf [16]byte
	head, body, _ := encodeMessage(L, c.w, 2, &buf)
	c.send(L, "send", head, body)
	return 0
}

// sockConnSendBytes is conn:send_bytes(s): the bytes of s as one
// message, which Python's recv_bytes reads too.
func sockConnSendBytes(L *lua.LState) int {
	c := openSockConn(L, "send_bytes")
	s := checkStringArg(L, 2)
	if L.GetTop() > 2 {
		Raise(L, "TypeError", "Connection.send_bytes: got %d arguments, want the string alone (for a part of it, string.sub)", L.GetTop()-1)
	}
	c.send(L, "send_bytes", []byte(s))
	return 0
}

func (c *sockConn) send(L *lua.LState, method string, parts ...[]byte) {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if size > runtime.MaxSocketMessage {
		Raise(L, "ValueError", "Connection.%s: got a message of %d bytes, want at most %d (what a peer accepts)", method, size, runtime.MaxSocketMessage)
	}
	if err := c.sc.Send(c.w.Context(), parts...); err != nil {
		raiseSocket(L, c.w, err, "Connection."+method, "")
	}
}

// sockConnRecv is conn:recv([timeout]) or conn:recv{timeout=}: the next
// value sent; EOFError once the peer has closed or exited and everything
// it sent was received, TimeoutError when nothing came in time.
func sockConnRecv(L *lua.LState) int {
	c := openSockConn(L, "recv")
	timeout := timeoutArg(L, 2, "Connection.recv", -1)
	msg, err := c.sc.Recv(c.w.Context(), timeout, runtime.MaxSocketMessage)
	if err != nil {
		raiseSocket(L, c.w, err, "Connection.recv", fmt.Sprintf("nothing received within %g seconds", timeout.Seconds()))
	}
	decodeForeign(L, c.w, msg, "Connection.recv")
	return 1
}

var recvBytesParams = params{pos: []string{"maxlength"}, extra: []string{"timeout"}}

// sockConnRecvBytes is conn:recv_bytes([maxlength]) or
// conn:recv_bytes{maxlength=, timeout=}: the next message as a string. A
// longer one than maxlength is an OSError, after which nothing more can
// be received (sending still works), as in Python.
func sockConnRecvBytes(L *lua.LState) int {
	c := openSockConn(L, "recv_bytes")
	var a [2]lua.LValue
	recvBytesParams.read(L, 2, "Connection.recv_bytes", a[:])
	limit := uint64(runtime.MaxSocketMessage)
	switch n := a[0].(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if n < 0 || float64(n) != math.Trunc(float64(n)) {
			Raise(L, "ValueError", "Connection.recv_bytes: got maxlength %v, want a whole number of bytes, 0 or more", n)
		}
		limit = uint64(min(float64(n), runtime.MaxSocketMessage))
	default:
		Raise(L, "TypeError", "Connection.recv_bytes: got a %s as maxlength, want a number of bytes", a[0].Type().String())
	}
	timeout := toTimeout(L, a[1], "Connection.recv_bytes: timeout")
	msg, err := c.sc.Recv(c.w.Context(), timeout, limit)
	if err != nil {
		raiseSocket(L, c.w, err, "Connection.recv_bytes", fmt.Sprintf("nothing received within %g seconds", timeout.Seconds()))
	}
	L.Push(lua.LString(msg))
	return 1
}

// sockConnPoll is conn:poll([timeout]) → whether recv would not wait: a
// whole message is here, or the peer has gone. No argument: look without
// waiting; nil or math.huge: wait as long as it takes.
func sockConnPoll(L *lua.LState) int {
	c := openSockConn(L, "poll")
	var timeout time.Duration
	if L.GetTop() >= 2 {
		timeout = timeoutArg(L, 2, "Connection.poll", -1)
	}
	ok, err := c.sc.Poll(c.w.Context(), timeout)
	if err != nil {
		raiseSocket(L, c.w, err, "Connection.poll", "")
	}
	L.Push(lua.LBool(ok))
	return 1
}

// sockConnClose is conn:close(): the peer's recv then raises EOFError. A
// second close does nothing.
func sockConnClose(L *lua.LState) int {
	checkSockConn(L, 1).close()
	return 0
}

// sockConnString is the repr: <SocketConnection AF_UNIX "/tmp/x.sock">,
// with " closed" once closed.
func sockConnString(L *lua.LState) int {
	c := checkSockConn(L, 1)
	s := fmt.Sprintf("<SocketConnection %s %q", c.family, c.peer)
	if c.isClosed() {
		s += " closed"
	}
	L.Push(lua.LString(s + ">"))
	return 1
}

// sockWaiter is what mp.connection.wait watches on a SocketConnection
// (wait.go): ready when recv would not wait, for a whole message or for
// the end of file. Both read what has arrived into the connection's
// buffer; wait never runs them at once, nor while the Lua goroutine uses
// the connection.
type sockWaiter struct{ sc *runtime.SocketConn }

func (x sockWaiter) ready() bool {
	ok, err := x.sc.Poll(context.Background(), 0)
	return ok || err != nil
}

func (x sockWaiter) await(ctx context.Context) { x.sc.Poll(ctx, -1) }

// raiseSocket raises the Lua error a socket's error means. what leads
// the message ("Connection.recv", "Client: cannot connect to \"x\"");
// timeoutText says what a timeout means to the call ("" when it has
// none).
func raiseSocket(L *lua.LState, w *World, err error, what, timeoutText string) {
	var auth *runtime.AuthenticationError
	var errno syscall.Errno
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		w.interrupted()
	case errors.Is(err, runtime.ErrTimeout):
		if timeoutText == "" {
			timeoutText = "timed out"
		}
		Raise(L, "TimeoutError", "%s: %s", what, timeoutText)
	case errors.As(err, &auth):
		Raise(L, "AuthenticationError", "%s: %s", what, auth.Msg)
	case errors.Is(err, runtime.ErrPeerClosed):
		Raise(L, "EOFError", "%s: %v", what, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		Raise(L, "ConnectionRefusedError", "%s: connection refused (nothing listens there)", what)
	case errors.Is(err, syscall.ENOENT):
		Raise(L, "FileNotFoundError", "%s: no such file or directory", what)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		raiseSocketDenied(L, w, what, err) // limits.net = false, or the system's (limits.go)
	case errors.As(err, &errno):
		Raise(L, "OSError", "%s: %v", what, errno)
	}
	Raise(L, "OSError", "%s: %v", what, err)
}
