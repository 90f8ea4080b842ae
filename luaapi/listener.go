// mp.connection.Listener and mp.connection.Client: connections between
// programs that share nothing, over a Unix socket or TCP, as Python's
// multiprocessing.connection makes them (runtime/socket.go has the
// sockets, sockconn.go the connections).

package luaapi

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const listenerTypeName = "multiprocessing.Listener"

// listenerObj is the Go side of a Listener. Until closed it is one of the
// World's closers, so the end of the program closes it and removes its
// socket file, as Python's finalizer does.
type listenerObj struct {
	w       *World
	ln      *runtime.SocketListener
	authkey []byte
	last    lua.LValue // last_accepted: nil until a connection is accepted
	tempDir string     // the private directory of a path procsh chose, if any
	closed  bool
}

var listenerMethods = map[string]lua.LGFunction{
	"accept": listenerAccept,
	"close":  listenerClose,
}

// listenerMeta makes the Listener metatable.
func listenerMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), listenerMethods)
	L.SetField(mt, "methods", methods)
	L.SetField(mt, "__index", L.NewFunction(func(L *lua.LState) int {
		l := checkListener(L, 1)
		switch key, _ := L.Get(2).(lua.LString); key {
		case "address":
			L.Push(lua.LString(l.ln.Address()))
		case "last_accepted":
			L.Push(l.last)
		default:
			L.Push(methods.RawGet(L.Get(2)))
		}
		return 1
	}))
	L.SetField(mt, "__tostring", L.NewFunction(listenerString))
	return mt
}

var listenerParams = params{pos: []string{"address", "family", "backlog", "authkey"}}

// mpListener is mp.connection.Listener([address [, family [, backlog [,
// authkey]]]]), or with an options table: a socket listening at address,
// a path (AF_UNIX) or "host:port" (AF_INET, port 0 for any). With no
// address, a fresh path in a private directory. TCP needs an authkey.
func mpListener(L *lua.LState) int {
	w := worldOf(L)
	var a [4]lua.LValue
	listenerParams.read(L, 1, "Listener", a[:])
	address := optStringArg(L, a[0], "Listener: address")
	family := familyArg(L, a[1], address, "Listener")
	backlog := 0 // the system's maximum: Python's 1 would make a Go client's connect fail, not wait
	if a[2] != lua.LNil {
		n, ok := a[2].(lua.LNumber)
		if !ok || n < 1 || float64(n) != math.Trunc(float64(n)) || n > math.MaxInt32 {
			Raise(L, "ValueError", "Listener: got backlog %s, want a whole number, 1 or more", lua.LVAsString(a[2]))
		}
		backlog = int(n)
	}
	authkey := authkeyArg(L, a[3], "Listener")
	if family == runtime.FamilyInet && authkey == nil {
		Raise(L, "ValueError", "Listener: a TCP listener needs an authkey: without one, any program that reaches the port could send functions for this one to run; want Listener(%q, {authkey = \"a long random secret\"}), or a Unix socket path", address)
	}
	l := &listenerObj{w: w, authkey: authkey, last: lua.LNil}
	if address == "" {
		if family == runtime.FamilyInet {
			address = "127.0.0.1:0"
		} else {
			dir, err := os.MkdirTemp("", "procsh-")
			if err != nil {
				Raise(L, "OSError", "Listener: cannot make a directory for the socket: %v", err)
			}
			l.tempDir = dir
			address = filepath.Join(dir, "listener.sock")
		}
	}
	ln, err := runtime.ListenSocket(family, address, backlog)
	if err != nil {
		l.removeTempDir()
		raiseSocket(L, w, err, fmt.Sprintf("Listener: cannot listen at %q", address), "")
	}
	l.ln = ln
	w.pools = append(w.pools, l)
	ud := L.NewUserData()
	ud.Value = l
	ud.Metatable = w.typeMeta(listenerTypeName)
	L.Push(ud)
	return 1
}

var clientParams = params{pos: []string{"address", "family", "authkey"}, extra: []string{"timeout"}}

// mpClient is mp.connection.Client(address [, family [, authkey]]) or
// with an options table, which may add timeout (seconds for the connect
// and the challenge together; Python waits as long as it takes): a
// SocketConnection to the Listener at address.
func mpClient(L *lua.LState) int {
	w := worldOf(L)
	var a [4]lua.LValue
	clientParams.read(L, 1, "Client", a[:])
	address := optStringArg(L, a[0], "Client: address")
	if address == "" {
		Raise(L, "TypeError", "Client: got no address, want a socket path or \"host:port\"")
	}
	family := familyArg(L, a[1], address, "Client")
	authkey := authkeyArg(L, a[2], "Client")
	if family == runtime.FamilyInet && authkey == nil {
		Raise(L, "ValueError", "Client: connecting over TCP needs an authkey (a procsh Listener on TCP always has one); want Client(%q, {authkey = ...})", address)
	}
	timeout := toTimeout(L, a[3], "Client: timeout")
	sc, err := runtime.DialSocket(w.Context(), family, address, timeout, authkey)
	if err != nil {
		raiseSocket(L, w, err, fmt.Sprintf("Client: cannot connect to %q", address), fmt.Sprintf("not connected and authenticated within %g seconds", timeout.Seconds()))
	}
	L.Push(newSockConn(w, sc, family, address))
	return 1
}

// optStringArg reads an optional string argument ("" for nil).
func optStringArg(L *lua.LState, v lua.LValue, what string) string {
	switch s := v.(type) {
	case *lua.LNilType:
		return ""
	case lua.LString:
		return string(s)
	}
	Raise(L, "TypeError", "%s: got a %s, want a string", what, v.Type().String())
	return ""
}

// familyArg reads family, or guesses it from address.
func familyArg(L *lua.LState, v lua.LValue, address, what string) string {
	family := optStringArg(L, v, what+": family")
	switch family {
	case "":
		return runtime.AddressFamily(address)
	case runtime.FamilyUnix, runtime.FamilyInet:
		return family
	}
	Raise(L, "ValueError", "%s: got family %q, want \"AF_UNIX\" or \"AF_INET\"", what, family)
	return ""
}

// authkeyArg reads an authkey: nil for none, else a non-empty string.
func authkeyArg(L *lua.LState, v lua.LValue, what string) []byte {
	key := optStringArg(L, v, what+": authkey")
	if key == "" {
		if v != lua.LNil {
			Raise(L, "ValueError", "%s: got an empty authkey, want a secret string (or none, on a Unix socket)", what)
		}
		return nil
	}
	return []byte(key)
}

// checkListener returns the listener at n.
func checkListener(L *lua.LState, n int) *listenerObj {
	return checkObject[*listenerObj](L, n, listenerTypeName)
}

// listenerAccept is listener:accept([timeout]) or
// listener:accept{timeout=}: the next connection, authenticated when the
// listener has an authkey (AuthenticationError when it fails; the
// listener goes on). TimeoutError when none came in time (Python's
// accept has no timeout).
func listenerAccept(L *lua.LState) int {
	l := checkListener(L, 1)
	if l.closed {
		Raise(L, "OSError", "Listener.accept: the listener is closed")
	}
	timeout := timeoutArg(L, 2, "Listener.accept", -1)
	sc, from, err := l.ln.Accept(l.w.Context(), timeout, l.authkey)
	if err != nil {
		raiseSocket(L, l.w, err, "Listener.accept", fmt.Sprintf("no connection within %g seconds", timeout.Seconds()))
	}
	l.last = lua.LString(from)
	peer := from
	if peer == "" {
		peer = l.ln.Address()
	}
	L.Push(newSockConn(l.w, sc, l.ln.Family(), peer))
	return 1
}

// listenerClose is listener:close(): stop listening, remove the socket
// file. A second close does nothing.
func listenerClose(L *lua.LState) int {
	checkListener(L, 1).close()
	return 0
}

func (l *listenerObj) close() {
	if l.closed {
		return
	}
	l.closed = true
	l.ln.Close()
	l.removeTempDir()
	for i, c := range l.w.pools {
		if c == closer(l) {
			l.w.pools = append(l.w.pools[:i], l.w.pools[i+1:]...)
			break
		}
	}
}

func (l *listenerObj) removeTempDir() {
	if l.tempDir != "" {
		os.Remove(l.tempDir)
	}
}

// shutdown closes the listener at the end of the program.
func (l *listenerObj) shutdown() { l.close() }

// enter and exit make mp.with close the listener, as Python's with does.
func (l *listenerObj) enter(L *lua.LState) {}
func (l *listenerObj) exit(L *lua.LState)  { l.close() }

// listenerString is the repr: <Listener AF_INET "127.0.0.1:5000">, with
// " closed" once closed.
func listenerString(L *lua.LState) int {
	l := checkListener(L, 1)
	s := fmt.Sprintf("<Listener %s %q", l.ln.Family(), l.ln.Address())
	if l.closed {
		s += " closed"
	}
	L.Push(lua.LString(s + ">"))
	return 1
}
