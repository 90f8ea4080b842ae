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
//
// The sockets are made with system calls and handed to Go's poller as
// os.Files (waits without a thread, deadlines that a context's end moves
// into the past), not with the net package, whose cgo resolver would make
// every procsh binary dynamically linked. So a host is an IP address,
// localhost or a name in /etc/hosts (socket_addr.go): there is no DNS.

package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
// It is compiled on first use, not at every process start.
var hostPort = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([^/\[\]:]+|\[[0-9A-Fa-f:.%a-zA-Z0-9]+\]):[0-9]+$`)
})

// AddressFamily says which family an address is, as procsh reads one
// given without a family: "host:port" (a port of digits, a host with no
// slash) is AF_INET; anything else, a path or "\x00name", is AF_UNIX. A
// file named like "a:1" is "./a:1".
func AddressFamily(address string) string {
	if hostPort().MatchString(address) {
		return FamilyInet
	}
	return FamilyUnix
}

// networkName is the family as Go's net package names it, for errors.
func networkName(family string) string {
	if family == FamilyInet {
		return "tcp"
	}
	return "unix"
}

// openSocket makes a non-blocking stream socket for sa. Where IPv6 is
// missing, the IPv6 wildcard is made IPv4's.
func openSocket(sa unix.Sockaddr) (int, unix.Sockaddr, error) {
	for {
		fd, err := unix.Socket(sockDomain(sa), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			if isWildcard(sa) {
				// Take IPv4 on the IPv6 wildcard too.
				unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
			}
			return fd, sa, nil
		}
		if err == unix.EAFNOSUPPORT && isWildcard(sa) {
			sa = &unix.SockaddrInet4{Port: sa.(*unix.SockaddrInet6).Port}
			continue
		}
		return -1, nil, os.NewSyscallError("socket", err)
	}
}

// fileOf hands a non-blocking descriptor to Go's poller, which then
// waits for it without a thread and honours deadlines.
func fileOf(fd int, name string) (*os.File, syscall.RawConn, error) {
	f := os.NewFile(uintptr(fd), name)
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, raw, nil
}

// setTCPOptions gives a TCP connection what Go's net package did: no
// Nagle delay (a message goes out at once), and keep-alive probes every
// 15 seconds after 15 idle ones, 9 of them.
func setTCPOptions(fd int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9)
}

// maxBacklog is the system's largest listen backlog.
func maxBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return unix.SOMAXCONN
}

// SocketListener is a bound, listening socket. Only one goroutine may
// use it at a time, except Close, which may be called from any.
type SocketListener struct {
	f       *os.File
	raw     syscall.RawConn
	family  string
	address string
	unlink  string // the socket file Close removes, if any
	once    sync.Once
	closed  atomic.Bool
}

// ListenSocket binds address in family and listens, with backlog pending
// connections at most (0: the system's maximum). A Unix socket file is
// made by the listen and removed by Close.
func ListenSocket(family, address string, backlog int) (*SocketListener, error) {
	sas, err := socketAddrs(family, address)
	if err != nil {
		return nil, err
	}
	fail := func(op string, err error) error {
		return fmt.Errorf("listen %s %s: %w", networkName(family), address, os.NewSyscallError(op, err))
	}
	fd, sa, err := openSocket(sas[0])
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", networkName(family), address, err)
	}
	// Reuse a TCP port whose old connections are still closing, as Go did.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fail("bind", err)
	}
	if backlog <= 0 {
		backlog = maxBacklog()
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return nil, fail("listen", err)
	}
	l := &SocketListener{family: family, address: address}
	if u, ok := sa.(*unix.SockaddrUnix); ok && u.Name[0] != 0 {
		l.unlink = u.Name
	}
	if family == FamilyInet {
		bound, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return nil, fail("getsockname", err)
		}
		l.address = sockaddrString(bound) // the port the system chose for :0
	}
	l.f, l.raw, err = fileOf(fd, "listener "+address)
	if err != nil {
		l.removeFile()
		return nil, err
	}
	return l, nil
}

// removeFile removes the listener's socket file, once.
func (l *SocketListener) removeFile() {
	l.once.Do(func() {
		if l.unlink != "" {
			unix.Unlink(l.unlink)
		}
	})
}

// Address is the address the listener is bound to: the path as given, or
// host:port with the port the system chose when asked for port 0.
func (l *SocketListener) Address() string { return l.address }

// Family is FamilyUnix or FamilyInet.
func (l *SocketListener) Family() string { return l.family }

// Close stops listening and removes a Unix socket file. Safe to call more
// than once and from any goroutine.
func (l *SocketListener) Close() error {
	l.closed.Store(true)
	l.removeFile()
	err := l.f.Close()
	if errors.Is(err, os.ErrClosed) {
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
	wait := !dl.now && (dl.forever || time.Until(dl.at) > 0)
	if wait {
		l.f.SetReadDeadline(dl.at) // zero when forever
	} else {
		l.f.SetReadDeadline(time.Time{}) // a past deadline would not look at all
	}
	stop := func() {}
	if wait {
		stop = watch(ctx, l.f.SetReadDeadline)
	}
	nfd := -1
	var peer unix.Sockaddr
	var aerr error
	err := l.raw.Read(func(fd uintptr) bool {
		for {
			nfd, peer, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			// A connection reset before it was taken is skipped, as Go did.
			if aerr != unix.EINTR && aerr != unix.ECONNABORTED {
				break
			}
		}
		return !(wait && aerr == unix.EAGAIN)
	})
	stop()
	switch {
	case err != nil && l.closed.Load():
		return nil, "", ErrSocketClosed
	case err != nil:
		return nil, "", waitError(ctx, err)
	case aerr == unix.EAGAIN:
		return nil, "", ErrTimeout
	case aerr != nil:
		return nil, "", fmt.Errorf("accept %s %s: %w", networkName(l.family), l.address, os.NewSyscallError("accept4", aerr))
	}
	from := ""
	switch a := peer.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6:
		setTCPOptions(nfd)
		from = sockaddrString(a)
	case *unix.SockaddrUnix:
		if a.Name != "@" { // the kernel's unnamed socket
			from = a.Name
		}
	}
	c, err := newSocketConn(nfd)
	if err != nil {
		return nil, "", err
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
	sas, err := socketAddrs(family, address)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
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
	var c *SocketConn
	for _, sa := range sas {
		c, err = connect(dctx, sa)
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
			c, err = connect(dctx, sa)
		}
		if err == nil || dctx.Err() != nil {
			break
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if dctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, ErrTimeout
		}
		return nil, fmt.Errorf("dial %s %s: %w", networkName(family), address, err)
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

// connect makes a socket and connects it to sa, waiting while the
// context lasts for a TCP connection to be made.
func connect(ctx context.Context, sa unix.Sockaddr) (*SocketConn, error) {
	fd, sa, err := openSocket(sa)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Connect(fd, sa)
		if err != unix.EINTR {
			break
		}
	}
	pending := err == unix.EINPROGRESS || err == unix.EALREADY
	if err != nil && !pending {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	if _, ok := sa.(*unix.SockaddrUnix); !ok {
		setTCPOptions(fd)
	}
	c, err := newSocketConn(fd)
	if err != nil || !pending {
		return c, err
	}
	if at, ok := ctx.Deadline(); ok {
		c.f.SetWriteDeadline(at)
	}
	stop := watch(ctx, c.f.SetWriteDeadline)
	var cerr error
	err = c.raw.Write(func(fd uintptr) bool {
		// The socket turns writable when the connection is made or
		// failed; SO_ERROR says which, and a peer name that it was made.
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := syscall.Errno(v); e {
		case 0, unix.EISCONN:
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		default:
			cerr = os.NewSyscallError("connect", e)
			return true
		}
		_, err = unix.Getpeername(int(fd))
		return err == nil
	})
	stop()
	c.f.SetWriteDeadline(time.Time{})
	if err == nil {
		err = cerr
	}
	if err != nil {
		c.Close()
		return nil, err
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
	f    *os.File
	raw  syscall.RawConn
	in   []byte // received bytes; in[off:] are not yet taken
	off  int
	rerr error // why reading ended for good (ErrPeerClosed…), once it did
	rbad error // why what is buffered cannot be read (a bad length), once so
	werr error // why sending ended for good, once it did
	shut atomic.Bool
}

func newSocketConn(fd int) (*SocketConn, error) {
	f, raw, err := fileOf(fd, "socket")
	if err != nil {
		return nil, err
	}
	return &SocketConn{f: f, raw: raw}, nil
}

// Close closes the connection; the peer's reads then reach end of file.
// Safe to call more than once, and from any goroutine.
func (c *SocketConn) Close() error {
	c.shut.Store(true)
	err := c.f.Close()
	if errors.Is(err, os.ErrClosed) {
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
	bufs := [][]byte{appendLength(head[:0], size)}
	for _, p := range parts {
		if len(p) > 0 {
			bufs = append(bufs, p)
		}
	}
	total := int64(len(bufs[0])) + int64(size)
	c.f.SetWriteDeadline(time.Time{})
	stop := watch(ctx, c.f.SetWriteDeadline)
	n, err := c.write(bufs)
	stop()
	if err == nil {
		return nil
	}
	switch {
	case c.shut.Load():
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

// write writes all of bufs, waiting while the socket is full, with one
// writev for as many parts as the kernel takes at a time.
func (c *SocketConn) write(bufs [][]byte) (int64, error) {
	var n int64
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			k, err := unix.Writev(int(fd), bufs[:min(len(bufs), 1024)]) // IOV_MAX
			if k > 0 {
				n += int64(k)
				bufs = consume(bufs, k)
			}
			switch err {
			case nil:
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default:
				werr = os.NewSyscallError("writev", err)
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// consume drops the first k bytes of bufs.
func consume(bufs [][]byte, k int) [][]byte {
	for k > 0 && len(bufs) > 0 {
		if k < len(bufs[0]) {
			bufs[0] = bufs[0][k:]
			return bufs
		}
		k -= len(bufs[0])
		bufs = bufs[1:]
	}
	return bufs
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
		c.f.SetReadDeadline(dl.at) // zero when forever
	} else {
		c.f.SetReadDeadline(time.Time{}) // a past deadline would not look at all
	}
	var n int
	var rerr error
	stop := func() {}
	if wait {
		stop = watch(ctx, c.f.SetReadDeadline)
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
	case err != nil && c.shut.Load():
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
