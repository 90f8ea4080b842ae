// Sockets: messages both ways on Unix and TCP sockets, timeouts that lose
// nothing, the challenge, hostile length prefixes, and Python on the
// other end when python3 is installed.

package runtime

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pair makes a listener in family and one connection to it, both ends,
// authenticated with key when it is not empty.
func pair(t *testing.T, family string, key []byte) (*SocketListener, *SocketConn, *SocketConn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if family == FamilyUnix {
		addr = filepath.Join(t.TempDir(), "s.sock")
	}
	l, err := ListenSocket(family, addr, 0)
	if err != nil {
		t.Fatalf("ListenSocket(%s, %q): %v", family, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	type dialed struct {
		c   *SocketConn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := DialSocket(context.Background(), family, l.Address(), 5*time.Second, key)
		ch <- dialed{c, err}
	}()
	server, _, err := l.Accept(context.Background(), 5*time.Second, key)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	d := <-ch
	if d.err != nil {
		t.Fatalf("DialSocket: %v", d.err)
	}
	t.Cleanup(func() { server.Close(); d.c.Close() })
	return l, server, d.c
}

func TestSocketMessages(t *testing.T) {
	ctx := context.Background()
	for _, family := range []string{FamilyUnix, FamilyInet} {
		t.Run(family, func(t *testing.T) {
			_, a, b := pair(t, family, []byte("key"))
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			msgs := [][]byte{[]byte("hello"), {}, big, []byte("after")}
			go func() {
				for _, m := range msgs {
					if err := a.Send(ctx, m[:len(m)/2], m[len(m)/2:]); err != nil {
						t.Errorf("Send: %v", err)
					}
				}
			}()
			for i, want := range msgs {
				got, err := b.Recv(ctx, 5*time.Second, MaxSocketMessage)
				if err != nil {
					t.Fatalf("Recv %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("Recv %d = %d bytes, want %d", i, len(got), len(want))
				}
			}
			a.Close()
			if _, err := b.Recv(ctx, 5*time.Second, MaxSocketMessage); !errors.Is(err, ErrPeerClosed) {
				t.Fatalf("Recv after the peer closed: %v, want ErrPeerClosed", err)
			}
			if ok, err := b.Poll(ctx, 0); !ok || err != nil {
				t.Fatalf("Poll after the peer closed = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

// A timeout in the middle of a message keeps what arrived.
func TestSocketTimeoutKeepsPartialMessage(t *testing.T) {
	ctx := context.Background()
	_, a, b := pair(t, FamilyUnix, nil)
	raw := a.f
	raw.Write(append(binary.BigEndian.AppendUint32(nil, 10), "01234"...))
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll(0) on half a message = %v, %v; want false, nil", ok, err)
	}
	start := time.Now()
	if _, err := b.Recv(ctx, 50*time.Millisecond, MaxSocketMessage); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv of half a message: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("Recv(50ms) took %v", d)
	}
	raw.Write([]byte("56789"))
	got, err := b.Recv(ctx, 5*time.Second, MaxSocketMessage)
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("Recv = %q, %v; want \"0123456789\"", got, err)
	}
}

// A peer announcing more than the limit gets an error and the connection
// closes, however little it really sent.
func TestSocketHugeLengthPrefix(t *testing.T) {
	ctx := context.Background()
	for _, head := range [][]byte{
		{0x7f, 0xff, 0xff, 0xff},                            // 2 GiB - 1
		{0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0}, // -1 then 2^62
		{0x80, 0, 0, 0},                                     // a negative length
	} {
		_, a, b := pair(t, FamilyUnix, nil)
		a.f.Write(head)
		_, err := b.Recv(ctx, 5*time.Second, MaxSocketMessage)
		if err == nil || !strings.Contains(err.Error(), "bad message length") {
			t.Fatalf("Recv after prefix % x: %v, want a bad message length", head, err)
		}
		if _, err2 := b.Recv(ctx, 0, MaxSocketMessage); err2 == nil {
			t.Fatalf("Recv after a bad prefix succeeded")
		}
	}
	// A message over the caller's own limit.
	_, a, b := pair(t, FamilyUnix, nil)
	a.Send(ctx, []byte("0123456789"))
	var tooLarge *MessageTooLargeError
	if _, err := b.Recv(ctx, 5*time.Second, 5); !errors.As(err, &tooLarge) || tooLarge.Size != 10 {
		t.Fatalf("Recv(limit 5) of 10 bytes: %v, want MessageTooLargeError", err)
	}
	// Receiving is over, even with a larger limit; sending goes on.
	if got, err := b.Recv(ctx, 5*time.Second, MaxSocketMessage); !errors.As(err, &tooLarge) {
		t.Fatalf("Recv after a message too large = %q, %v; want MessageTooLargeError again", got, err)
	}
	if err := b.Send(ctx, []byte("back")); err != nil {
		t.Fatalf("Send after a message too large: %v", err)
	}
	if got, err := a.Recv(ctx, 5*time.Second, MaxSocketMessage); err != nil || string(got) != "back" {
		t.Fatalf("Recv on the other side = %q, %v; want \"back\"", got, err)
	}
}

func TestSocketWrongKey(t *testing.T) {
	l, err := ListenSocket(FamilyInet, "127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan error, 1)
	go func() {
		c, err := DialSocket(context.Background(), FamilyInet, l.Address(), 5*time.Second, []byte("wrong"))
		if c != nil {
			c.Close()
		}
		ch <- err
	}()
	_, _, err = l.Accept(context.Background(), 5*time.Second, []byte("right"))
	var ae *AuthenticationError
	if !errors.As(err, &ae) || ae.Msg != "digest received was wrong" {
		t.Errorf("Accept with a wrong key: %v, want digest received was wrong", err)
	}
	if err := <-ch; !errors.As(err, &ae) || ae.Msg != "digest sent was rejected" {
		t.Errorf("DialSocket with a wrong key: %v, want digest sent was rejected", err)
	}
}

func TestSocketAcceptTimeoutAndInterrupt(t *testing.T) {
	l, err := ListenSocket(FamilyUnix, filepath.Join(t.TempDir(), "s"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, _, err := l.Accept(context.Background(), 0, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("Accept(0) with none pending: %v, want ErrTimeout", err)
	}
	start := time.Now()
	if _, _, err := l.Accept(context.Background(), 100*time.Millisecond, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("Accept(100ms): %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Errorf("Accept(100ms) took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, _, err := l.Accept(ctx, -1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept interrupted: %v, want context.Canceled", err)
	}
	// After the interrupt the listener still works, and a pending
	// connection is taken without waiting.
	c, err := DialSocket(context.Background(), FamilyUnix, l.Address(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _, err := l.Accept(context.Background(), 0, nil)
	if err != nil {
		t.Fatalf("Accept(0) with one pending: %v", err)
	}
	s.Close()
	// With a key, the challenge of a connection taken at once still gets
	// the peer's answers.
	ch := make(chan error, 1)
	go func() {
		c, err := DialSocket(context.Background(), FamilyUnix, l.Address(), 5*time.Second, []byte("k"))
		if c != nil {
			c.Close()
		}
		ch <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		s, _, err = l.Accept(context.Background(), 0, []byte("k"))
		if !errors.Is(err, ErrTimeout) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Accept(0) with a key: %v", err)
	}
	s.Close()
	if err := <-ch; err != nil {
		t.Fatalf("DialSocket to Accept(0): %v", err)
	}
}

func TestSocketRecvInterrupt(t *testing.T) {
	_, _, b := pair(t, FamilyInet, []byte("k"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := b.Recv(ctx, -1, MaxSocketMessage); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv interrupted: %v, want context.Canceled", err)
	}
	if _, err := b.Recv(context.Background(), 20*time.Millisecond, MaxSocketMessage); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv after an interrupt: %v, want ErrTimeout", err)
	}
}

func TestSocketDialErrors(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := DialSocket(ctx, FamilyUnix, filepath.Join(dir, "none"), time.Second, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dial a missing path: %v, want not exist", err)
	}
	l, err := ListenSocket(FamilyInet, "127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Address()
	l.Close()
	if _, err := DialSocket(ctx, FamilyInet, addr, time.Second, nil); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial a closed port: %v, want connection refused", err)
	}
	path := filepath.Join(dir, "s")
	l, err = ListenSocket(FamilyUnix, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("socket file: %v", err)
	}
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
}

func TestAddressFamily(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:0":    FamilyInet,
		"localhost:8080": FamilyInet,
		"[::1]:5000":     FamilyInet,
		"/tmp/x.sock":    FamilyUnix,
		"x.sock":         FamilyUnix,
		"./a:1":          FamilyUnix,
		"dir/a:1":        FamilyUnix,
		"\x00abstract":   FamilyUnix,
		"host:port":      FamilyUnix,
		"":               FamilyUnix,
	} {
		if got := AddressFamily(addr); got != want {
			t.Errorf("AddressFamily(%q) = %s, want %s", addr, got, want)
		}
	}
}

// Python 3.12's challenge names its digest; procsh answers in kind.
func TestSocketAnswersDigestPrefix(t *testing.T) {
	l, err := ListenSocket(FamilyUnix, filepath.Join(t.TempDir(), "s"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	key := []byte("secret")
	ch := make(chan error, 1)
	go func() {
		c, err := DialSocket(context.Background(), FamilyUnix, l.Address(), 5*time.Second, key)
		if c != nil {
			c.Close()
		}
		ch <- err
	}()
	s, _, err := l.Accept(context.Background(), 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	msg := append([]byte("{sha256}"), bytes.Repeat([]byte{7}, 40)...)
	s.Send(ctx, []byte(challengePrefix), msg)
	answer, err := s.Recv(ctx, 5*time.Second, 256)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	if want := append([]byte("{sha256}"), h.Sum(nil)...); !bytes.Equal(answer, want) {
		t.Fatalf("answer to a {sha256} challenge = %x, want %x", answer, want)
	}
	s.Send(ctx, []byte(welcome))
	// procsh's own challenge, answered the 3.12 way.
	ch2, err := s.Recv(ctx, 5*time.Second, 256)
	if err != nil || !bytes.HasPrefix(ch2, []byte(challengePrefix)) {
		t.Fatalf("challenge from DialSocket = %q, %v", ch2, err)
	}
	h = hmac.New(sha256.New, key)
	h.Write(ch2[len(challengePrefix):])
	s.Send(ctx, []byte("{sha256}"), h.Sum(nil))
	verdict, err := s.Recv(ctx, 5*time.Second, 256)
	if err != nil || string(verdict) != welcome {
		t.Fatalf("verdict = %q, %v; want %s", verdict, err, welcome)
	}
	if err := <-ch; err != nil {
		t.Fatalf("DialSocket: %v", err)
	}
}

// pythonPeer is a Python program that connects to or listens on the
// address in argv[1] with the key in argv[2], echoes one message back
// with an exclamation mark, and prints what it got.
const pythonPeer = `
import sys
from multiprocessing.connection import Client, Listener
mode, addr, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if mode == "client":
    c = Client(addr, authkey=key)
else:
    l = Listener(addr, authkey=key)
    print("listening", flush=True)
    c = l.accept()
m = c.recv_bytes()
c.send_bytes(m + b"!")
c.close()
`

// The bytes and the challenge are Python's: python3 on the other end.
func TestSocketWithPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	ctx := context.Background()
	key := []byte("shared key")
	path := filepath.Join(t.TempDir(), "py.sock")

	// procsh listens, Python connects.
	l, err := ListenSocket(FamilyUnix, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(tctx, py, "-c", pythonPeer, "client", path, string(key))
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, _, err := l.Accept(ctx, 10*time.Second, key)
	if err != nil {
		cmd.Wait()
		t.Fatalf("Accept from Python: %v\n%s", err, out.String())
	}
	c.Send(ctx, []byte("from procsh"))
	got, err := c.Recv(ctx, 10*time.Second, MaxSocketMessage)
	if err != nil || string(got) != "from procsh!" {
		t.Errorf("Recv from Python = %q, %v", got, err)
	}
	c.Close()
	l.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("python client: %v\n%s", err, out.String())
	}

	// Python listens, procsh connects.
	cmd = exec.CommandContext(tctx, py, "-c", pythonPeer, "listener", path, string(key))
	out.Reset()
	cmd.Stderr = &out
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 10)
	stdout.Read(line) // "listening"
	c, err = DialSocket(ctx, FamilyUnix, path, 10*time.Second, key)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("DialSocket to Python: %v\n%s", err, out.String())
	}
	c.Send(ctx, []byte("hi"))
	got, err = c.Recv(ctx, 10*time.Second, MaxSocketMessage)
	if err != nil || string(got) != "hi!" {
		t.Errorf("Recv from the Python listener = %q, %v", got, err)
	}
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("python listener: %v\n%s", err, out.String())
	}
}

// The addresses a listener takes, what it then says it is bound to, and
// where an accepted connection says it came from.
func TestSocketAddresses(t *testing.T) {
	abstract := fmt.Sprintf("\x00procsh-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, tc := range []struct {
		family, address string
		bound, from     string // prefixes: the port is the system's
	}{
		{FamilyInet, "127.0.0.1:0", "127.0.0.1:", "127.0.0.1:"},
		{FamilyInet, "localhost:0", "127.0.0.1:", "127.0.0.1:"},
		{FamilyInet, "[::1]:0", "[::1]:", "[::1]:"},
		{FamilyInet, "0.0.0.0:0", "[::]:", ""},
		{FamilyInet, ":0", "[::]:", ""},
		{FamilyUnix, abstract, abstract, ""},
		{FamilyUnix, "@at", "@at", ""},
	} {
		t.Run(tc.address, func(t *testing.T) {
			addr := tc.address
			if addr == "@at" {
				t.Chdir(t.TempDir())
			}
			l, err := ListenSocket(tc.family, addr, 0)
			if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) {
				t.Skipf("no such address here: %v", err)
			}
			if err != nil {
				t.Fatalf("ListenSocket(%s, %q): %v", tc.family, addr, err)
			}
			defer l.Close()
			if !strings.HasPrefix(l.Address(), tc.bound) || (tc.family == FamilyInet && strings.HasSuffix(l.Address(), ":0")) {
				t.Errorf("Address() = %q, want %q and the port the system chose", l.Address(), tc.bound)
			}
			if addr == "@at" {
				if _, err := os.Stat("@at"); err != nil {
					t.Errorf("a path starting with '@' is a file: %v", err)
				}
			}
			ch := make(chan error, 1)
			go func() {
				c, err := DialSocket(context.Background(), tc.family, l.Address(), 5*time.Second, nil)
				if err == nil {
					err = c.Send(context.Background(), []byte("hi"))
					c.Close()
				}
				ch <- err
			}()
			s, from, err := l.Accept(context.Background(), 5*time.Second, nil)
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			defer s.Close()
			if got, err := s.Recv(context.Background(), 5*time.Second, MaxSocketMessage); err != nil || string(got) != "hi" {
				t.Errorf("Recv = %q, %v; want \"hi\"", got, err)
			}
			if !strings.HasPrefix(from, tc.from) || (tc.from == "" && tc.family == FamilyUnix && from != "") {
				t.Errorf("Accept came from %q, want %q…", from, tc.from)
			}
			if err := <-ch; err != nil {
				t.Errorf("DialSocket(%q): %v", l.Address(), err)
			}
		})
	}
}

func TestSocketAddressErrors(t *testing.T) {
	for _, tc := range []struct{ address, want string }{
		{"no-such-host.invalid:80", "/etc/hosts"},
		{"127.0.0.1:70000", "want a number from 0 to 65535"},
		{"127.0.0.1:http", "want a number from 0 to 65535"},
		{"1:2:3", "want host:port"},
		{"[::1:5000", "want host:port"},
		{"nocolon", "want host:port"},
		{"[fe80::1%no-such-if0]:1", "want a network interface"},
	} {
		if _, err := ListenSocket(FamilyInet, tc.address, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ListenSocket(%q): %v, want an error saying %q", tc.address, err, tc.want)
		}
		if _, err := DialSocket(context.Background(), FamilyInet, tc.address, time.Second, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DialSocket(%q): %v, want an error saying %q", tc.address, err, tc.want)
		}
	}
	l, err := ListenSocket(FamilyInet, "127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := ListenSocket(FamilyInet, l.Address(), 0); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("listen on a port taken: %v, want address already in use", err)
	}
}

// Close wakes an Accept or a Recv that waits without limit, and later
// calls say the socket is closed.
func TestSocketCloseWakesWaiters(t *testing.T) {
	l, a, b := pair(t, FamilyInet, []byte("k"))
	errs := make(chan error, 2)
	go func() { _, _, err := l.Accept(context.Background(), -1, nil); errs <- err }()
	go func() { _, err := b.Recv(context.Background(), -1, MaxSocketMessage); errs <- err }()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	b.Close()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrSocketClosed) {
				t.Errorf("wait cut short by Close: %v, want ErrSocketClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake a waiter within 5s")
		}
	}
	if err := b.Send(context.Background(), []byte("x")); !errors.Is(err, ErrSocketClosed) {
		t.Errorf("Send after Close: %v, want ErrSocketClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	a.Close()
}

// A message of more parts than one writev takes, larger than the
// socket's buffers, arrives whole and in order.
func TestSocketManyParts(t *testing.T) {
	_, a, b := pair(t, FamilyInet, []byte("k"))
	var parts [][]byte
	var want []byte
	for i := range 3000 {
		p := bytes.Repeat([]byte{byte(i)}, 1000+i%7)
		parts = append(parts, p)
		want = append(want, p...)
	}
	errs := make(chan error, 1)
	go func() { errs <- a.Send(context.Background(), parts...) }()
	got, err := b.Recv(context.Background(), 10*time.Second, MaxSocketMessage)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Recv = %d bytes, %v; want the %d bytes sent", len(got), err, len(want))
	}
	if err := <-errs; err != nil {
		t.Fatalf("Send: %v", err)
	}
}
