// Sockets between programs that share nothing, under mp.connection's
// Listener and Client: listening on and connecting to a Unix socket path
// or a TCP host:port, and length-prefixed messages on the connection.
//
// The wire format is Python's multiprocessing.connection (3.11): each
// message is a 4-byte big-endian signed length and the bytes, or, for
// a message of 2 GiB or more, the length -1 and then an 8-byte length.
// With the HMAC challenge of socket_auth.go, a procsh program and a
// Python one can exchange bytes (send_bytes/recv_bytes); values are
// procsh's codec, which Python does not read.

package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The address families, named as Python names them.
const (
	FamilyUnix = "AF_UNIX" // a socket file path, or "\x00name" in the abstract namespace
	FamilyInet = "AF_INET" // host:port over TCP, IPv4 or IPv6 ("[::1]:5000")
)

// MaxSocketMessage is the largest message a SocketConn receives unless
// told a smaller limit: a peer that announces more gets an error, not a
// gigabyte allocation. Memory grows only as bytes really arrive, so even
// under the limit a peer cannot make this process allocate much more than
// it sent.
const MaxSocketMessage = 1 << 30

// Errors of sockets. A wait that ran out of time is ErrTimeout; one that
// the context ended returns the context's error.
var (
	// ErrPeerClosed: the peer closed its end or exited, and every message
	// it sent before has been received.
	ErrPeerClosed = errors.New("end of file: the peer closed the connection or exited")
	// ErrPeerGone: a send found the peer's end closed.
	ErrPeerGone = errors.New("broken pipe: the peer closed the connection or exited")
	// ErrSocketClosed: the connection or listener was closed here.
	ErrSocketClosed = errors.New("the connection is closed")
)

// MessageTooLargeError is a message longer than the receiver accepts.
// Nothing more can be received on the connection (the rest of that
// message is still on its way, and what follows could not be told apart
// from it); sending still works, as in Python.
type MessageTooLargeError struct {
	Size, Limit uint64
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("bad message length: the peer sent a message of %d bytes, more than the %d accepted; nothing more can be received on this connection", e.Size, e.Limit)
}

// hostPort is an address read as TCP: a host (a name, an IPv4 address or
// a bracketed IPv6 one) and a port number, with no slash.
var hostPort = regexp.MustCompile(`^([^/\[\]:]+|\[[0-9A-Fa-f:.%a-zA-Z0-9]+\]):[0-9]+$`)

// AddressFamily says which family an address is, as procsh reads one
// given without a family: "host:port" (a port of digits, a host with no
// slash) is AF_INET; anything else, a path or "\x00name", is AF_UNIX. A
// file named like "a:1" is "./a:1".
func AddressFamily(address string) string {
	if hostPort.MatchString(address) {
		return FamilyInet
	}
	return FamilyUnix
}

// goNetwork maps a family to Go's network name and the address to Go's
// form: Go reads a leading '@' as the abstract namespace, Python a NUL,
// so a path that starts with '@' is made relative to stay a file.
func goNetwork(family, address string) (network, addr string, err error) {
	switch family {
	case FamilyUnix:
		if address == "" {
			return "", "", errors.New("got an empty path, want a socket file path or \"\\0name\"")
		}
		if strings.HasPrefix(address, "@") {
			address = "./" + address
		}
		return "unix", address, nil
	case FamilyInet:
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("got %q, want host:port for AF_INET", address)
		}
		return "tcp", address, nil
	}
	return "", "", fmt.Errorf("got family %q, want AF_UNIX or AF_INET", family)
}

// SocketListener is a bound, listening socket. Only one goroutine may
// use it at a time, except Close, which may be called from any.
type SocketListener struct {
	ln      net.Listener
	family  string
	address string
}

// ListenSocket binds address in family and listens, with backlog pending
// connections at most (0: the system's maximum). A Unix socket file is
// made by the listen and removed by Close.
func ListenSocket(family, address string, backlog int) (*SocketListener, error) {
	network, addr, err := goNetwork(family, address)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	if backlog > 0 {
		// Linux takes a second listen() on a listening socket as a new
		// backlog; Go's own listen asked for the system's maximum.
		if err := setBacklog(ln, backlog); err != nil {
			ln.Close()
			return nil, err
		}
	}
	l := &SocketListener{ln: ln, family: family, address: address}
	if family == FamilyInet {
		l.address = ln.Addr().String() // the port the system chose for :0
	}
	return l, nil
}

func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	if lerr != nil {
		return os.NewSyscallError("listen", lerr)
	}
	return nil
}

// Address is the address the listener is bound to: the path as given, or
// host:port with the port the system chose when asked for port 0.
func (l *SocketListener) Address() string { return l.address }

// Family is FamilyUnix or FamilyInet.
func (l *SocketListener) Family() string { return l.family }

// Close stops listening and removes a Unix socket file. Safe to call more
// than once and from any goroutine.
func (l *SocketListener) Close() error {
	err := l.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// deadlineSetter is what a listener or connection sets a wait's deadline
// with.
type deadlineSetter func(time.Time) error

// watch makes the context's end cut short the wait that set's deadline
// bounds, by moving that deadline into the past. The returned function
// ends the watch; once it returns, the watch no longer touches the
// deadline.
func watch(ctx context.Context, set deadlineSetter) (stop func()) {
	fired := make(chan struct{})
	unwatch := context.AfterFunc(ctx, func() {
		set(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !unwatch() {
			<-fired
		}
	}
}

// waitError says why a wait failed: the context's end, the deadline, or
// err itself.
func waitError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// Accept waits for the next connection, for timeout at most (-1: no
// limit, 0: only one already pending), and returns it with the address it
// came from ("" for an unnamed Unix socket). With a non-empty authkey the
// connection must then pass Python's challenge both ways
// (socket_auth.go), within the same time (handshakeGrace after a timeout
// of 0); one that fails is closed and the error is an
// *AuthenticationError.
func (l *SocketListener) Accept(ctx context.Context, timeout time.Duration, authkey []byte) (*SocketConn, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	dl := makeDeadline(timeout)
	type deadliner interface{ SetDeadline(time.Time) error }
	dln, _ := l.ln.(deadliner)
	if dln == nil {
		return nil, "", errors.New("runtime: listener has no deadlines")
	}
	at := dl.at
	if dl.now {
		// A deadline already past would make Accept fail before it looks.
		at = time.Now().Add(time.Millisecond)
	}
	dln.SetDeadline(at)
	stop := watch(ctx, dln.SetDeadline)
	nc, err := l.ln.Accept()
	stop()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil, "", ErrSocketClosed
		}
		return nil, "", waitError(ctx, err)
	}
	c, err := newSocketConn(nc)
	if err != nil {
		return nil, "", err
	}
	from := ""
	switch a := nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		from = a.String()
	case *net.UnixAddr:
		if a != nil && a.Name != "@" { // Go's name for an unnamed socket
			from = a.Name
		}
	}
	if len(authkey) > 0 {
		hs := handshakeDeadline(dl)
		err := c.deliverChallenge(ctx, hs, authkey)
		if err == nil {
			err = c.answerChallenge(ctx, hs, authkey)
		}
		if err != nil {
			c.Close()
			return nil, "", err
		}
	}
	return c, from, nil
}

// handshakeGrace is how long the challenge may take when the call's
// timeout was 0: a connection already waiting is taken at once, but its
// challenge needs the peer's answers.
const handshakeGrace = 5 * time.Second

// handshakeDeadline is the deadline of a connection's challenge: the
// call's own, or handshakeGrace when the call was not to wait.
func handshakeDeadline(dl deadline) deadline {
	if dl.now {
		return makeDeadline(handshakeGrace)
	}
	return dl
}

// DialSocket connects to a listener at address, for timeout at most (-1:
// no limit) including, with a non-empty authkey, Python's challenge both
// ways. A Unix listener whose backlog is full is tried again until the
// time runs out.
func DialSocket(ctx context.Context, family, address string, timeout time.Duration, authkey []byte) (*SocketConn, error) {
	network, addr, err := goNetwork(family, address)
	if err != nil {
		return nil, err
	}
	dl := makeDeadline(timeout)
	dctx := ctx
	if !dl.forever {
		var cancel context.CancelFunc
		at := dl.at
		if dl.now {
			at = time.Now().Add(time.Millisecond)
		}
		dctx, cancel = context.WithDeadline(ctx, at)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(dctx, network, addr)
	for pause := time.Millisecond; err != nil && errors.Is(err, syscall.EAGAIN); pause = min(2*pause, 50*time.Millisecond) {
		// A Unix listener's backlog is full: it has not accepted yet.
		t := time.NewTimer(pause)
		select {
		case <-dctx.Done():
			t.Stop()
			err = dctx.Err()
			continue
		case <-t.C:
		}
		nc, err = d.DialContext(dctx, network, addr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if dctx.Err() != nil {
			return nil, ErrTimeout
		}
		return nil, err
	}
	c, err := newSocketConn(nc)
	if err != nil {
		return nil, err
	}
	if len(authkey) > 0 {
		hs := handshakeDeadline(dl)
		err := c.answerChallenge(ctx, hs, authkey)
		if err == nil {
			err = c.deliverChallenge(ctx, hs, authkey)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// SocketConn is one end of a connection made by Accept or DialSocket.
// Only one goroutine may use it at a time, except Close, which may be
// called from any.
//
// Received bytes wait in a buffer until they make a whole message, so a
// Recv or Poll that runs out of time loses nothing: the next one goes on
// where it stopped. The buffer grows at most by what is already in it (64
// KiB at least) each time it fills, so its size follows the bytes that
// really arrived, never the length a peer announced.
type SocketConn struct {
	nc   net.Conn
	raw  syscall.RawConn
	in   []byte // received bytes; in[off:] are not yet taken
	off  int
	rerr error // why reading ended for good (ErrPeerClosed…), once it did
	rbad error // why what is buffered cannot be read (a bad length), once so
	werr error // why sending ended for good, once it did
	shut atomic.Bool
}

func newSocketConn(nc net.Conn) (*SocketConn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		nc.Close()
		return nil, errors.New("runtime: connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &SocketConn{nc: nc, raw: raw}, nil
}

// Close closes the connection; the peer's reads then reach end of file.
// Safe to call more than once, and from any goroutine.
func (c *SocketConn) Close() error {
	c.shut.Store(true)
	err := c.nc.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Closed says whether Close was called, here or by a Send that the
// context cut short half-way.
func (c *SocketConn) Closed() bool { return c.shut.Load() }

// Send sends one message made of parts, whole: a send the context cuts
// short after part of the message went out leaves the peer's stream
// unreadable, so the connection is closed then. A message longer than
// MaxSocketMessage is refused before anything is sent.
func (c *SocketConn) Send(ctx context.Context, parts ...[]byte) error {
	if c.werr != nil {
		return c.werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var size uint64
	for _, p := range parts {
		size += uint64(len(p))
	}
	if size > MaxSocketMessage {
		return fmt.Errorf("got a message of %d bytes, want at most %d (what a peer accepts)", size, MaxSocketMessage)
	}
	var head [12]byte
	bufs := net.Buffers{appendLength(head[:0], size)}
	for _, p := range parts {
		if len(p) > 0 {
			bufs = append(bufs, p)
		}
	}
	total := int64(len(bufs[0])) + int64(size)
	c.nc.SetWriteDeadline(time.Time{})
	stop := watch(ctx, c.nc.SetWriteDeadline)
	n, err := bufs.WriteTo(c.nc)
	stop()
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, net.ErrClosed):
		err = ErrSocketClosed
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		err = ErrPeerGone
	default:
		err = waitError(ctx, err)
	}
	if n > 0 && n < total {
		c.werr = err
		c.Close()
	}
	return err
}

// appendLength appends a message's length prefix.
func appendLength(b []byte, size uint64) []byte {
	if size < 1<<31 {
		return binary.BigEndian.AppendUint32(b, uint32(size))
	}
	b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF) // -1
	return binary.BigEndian.AppendUint64(b, size)
}

// Recv returns the next message, waiting for timeout at most (-1: no
// limit, 0: only one already here). A message longer than limit (at most
// MaxSocketMessage) is a *MessageTooLargeError, and ends receiving.
func (c *SocketConn) Recv(ctx context.Context, timeout time.Duration, limit uint64) ([]byte, error) {
	dl := makeDeadline(timeout)
	return c.recv(ctx, &dl, limit)
}

func (c *SocketConn) recv(ctx context.Context, dl *deadline, limit uint64) ([]byte, error) {
	for {
		head, size, whole, err := c.next(limit)
		if err != nil {
			return nil, err
		}
		if whole {
			return c.take(head, size), nil
		}
		if err := c.fill(ctx, dl, head, size); err != nil {
			return nil, err
		}
	}
}

// Poll says whether a whole message is here or the peer has gone (so
// that Recv would not wait), waiting for timeout at most (-1: no limit,
// 0: look without waiting).
func (c *SocketConn) Poll(ctx context.Context, timeout time.Duration) (bool, error) {
	dl := makeDeadline(timeout)
	for {
		head, size, whole, err := c.next(MaxSocketMessage)
		if whole || err != nil {
			return true, nil
		}
		err = c.fill(ctx, &dl, head, size)
		switch {
		case errors.Is(err, ErrTimeout):
			return false, nil
		case err == nil:
		case c.rerr != nil:
			return true, nil // Recv reports it
		default:
			return false, err
		}
	}
}

// next reads the length prefix of the message at the head of the buffer:
// the prefix's length (0 when it has not all arrived), the message's,
// and whether all of it is here.
func (c *SocketConn) next(limit uint64) (head int, size uint64, whole bool, err error) {
	if c.rbad != nil {
		return 0, 0, false, c.rbad
	}
	b := c.in[c.off:]
	if len(b) < 4 {
		return 0, 0, false, c.rerr
	}
	n := int32(binary.BigEndian.Uint32(b))
	switch {
	case n >= 0:
		head, size = 4, uint64(n)
	case n == -1:
		if len(b) < 12 {
			return 0, 0, false, c.rerr
		}
		head, size = 12, binary.BigEndian.Uint64(b[4:])
	default:
		c.rbad = fmt.Errorf("bad message length: the peer sent the length %d, want 0 or more; nothing more can be received on this connection", n)
		return 0, 0, false, c.rbad
	}
	if size > min(limit, MaxSocketMessage) {
		c.rbad = &MessageTooLargeError{Size: size, Limit: min(limit, MaxSocketMessage)}
		return 0, 0, false, c.rbad
	}
	if uint64(len(b)-head) >= size {
		return head, size, true, nil
	}
	return head, size, false, c.rerr
}

// take removes the whole message at the head of the buffer and returns
// it. A large message that ends the buffer is handed over with it.
func (c *SocketConn) take(head int, size uint64) []byte {
	start := c.off + head
	end := start + int(size)
	if end == len(c.in) && size >= 64<<10 {
		msg := c.in[start:end:end]
		c.in, c.off = nil, 0
		return msg
	}
	msg := make([]byte, size)
	copy(msg, c.in[start:end])
	c.off = end
	if c.off == len(c.in) {
		c.in, c.off = c.in[:0], 0
		if cap(c.in) > 1<<20 {
			c.in = nil // let a large buffer go
		}
	}
	return msg
}

// readChunk is the least room a read is given.
const readChunk = 64 << 10

// fill reads what has arrived into the buffer, waiting until something
// does or the deadline passes. head and size describe the message at the
// head of the buffer when its prefix is here (head > 0).
func (c *SocketConn) fill(ctx context.Context, dl *deadline, head int, size uint64) error {
	if c.rerr != nil {
		return c.rerr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	have := len(c.in) - c.off
	missing := 12 - have // at most a prefix, until it is here
	if head > 0 {
		missing = head + int(size) - have
	}
	if room := cap(c.in) - len(c.in); room < min(missing, readChunk) {
		grow := max(readChunk, min(missing, have))
		buf := make([]byte, have, have+grow)
		copy(buf, c.in[c.off:])
		c.in, c.off = buf, 0
	}
	n, err := c.read(ctx, dl, c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	return err
}

// read reads once into p, waiting as the deadline allows.
func (c *SocketConn) read(ctx context.Context, dl *deadline, p []byte) (int, error) {
	wait := !dl.now && (dl.forever || time.Until(dl.at) > 0)
	if wait {
		c.nc.SetReadDeadline(dl.at) // zero when forever
	} else {
		c.nc.SetReadDeadline(time.Time{}) // a past deadline would not look at all
	}
	var n int
	var rerr error
	stop := func() {}
	if wait {
		stop = watch(ctx, c.nc.SetReadDeadline)
	}
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				break
			}
		}
		return !(wait && rerr == syscall.EAGAIN)
	})
	stop()
	switch {
	case errors.Is(err, net.ErrClosed):
		return 0, ErrSocketClosed
	case err != nil:
		return 0, waitError(ctx, err)
	case rerr == syscall.EAGAIN:
		return 0, ErrTimeout
	case rerr == syscall.ECONNRESET:
		c.rerr = ErrPeerClosed
		return 0, c.rerr
	case rerr != nil:
		c.rerr = os.NewSyscallError("read", rerr)
		return 0, c.rerr
	case n == 0:
		c.rerr = ErrPeerClosed
		return 0, c.rerr
	}
	return n, nil
}

// Readable says whether Recv would not wait, without waiting: a whole
// message is buffered, or the connection's reading has ended.
func (c *SocketConn) Readable() bool {
	_, _, whole, err := c.next(MaxSocketMessage)
	return whole || err != nil
}

var _ io.Closer = (*SocketConn)(nil)
