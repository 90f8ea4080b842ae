//go:build cluster

// The embedded NATS server: a root's own JetStream server, in its
// process.

package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions says how to run an embedded server.
type ServerOptions struct {
	// Listen is host:port; "" is the loopback address on a port the
	// system chooses, and so is a port of 0.
	Listen string
	// Token is what clients must present; "" lets anyone connect, which
	// is refused on an address other than loopback.
	Token string
}

// Server is an embedded nats-server with JetStream, its store in a
// directory of its own that Close removes.
type Server struct {
	ns  *server.Server
	dir string
}

// StartServer starts a server and waits until it takes connections.
func StartServer(o ServerOptions) (*Server, error) {
	host, port, err := splitListen(o.Listen)
	if err != nil {
		return nil, err
	}
	if o.Token == "" && !IsLoopback(host) {
		return nil, fmt.Errorf("cluster: listen %s is not a loopback address, and anyone who reaches it could run code in this pool's workers: give a token, or listen on 127.0.0.1", o.Listen)
	}
	dir, err := os.MkdirTemp("", "procsh-nats-")
	if err != nil {
		return nil, fmt.Errorf("cluster: the server's store: %w", err)
	}
	opts := &server.Options{
		ServerName:             "procsh-" + strconv.Itoa(os.Getpid()),
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               dir,
		Authorization:          o.Token,
		NoLog:                  true,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cluster: server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cluster: the server on %s did not start within 10 seconds (is the port taken?)", net.JoinHostPort(host, strconv.Itoa(max(port, 0))))
	}
	return &Server{ns: ns, dir: dir}, nil
}

// URL is the address clients connect to: nats://host:port, with the
// loopback address for a server that listens on every address.
func (s *Server) URL() string {
	addr, ok := s.ns.Addr().(*net.TCPAddr)
	if !ok {
		return s.ns.ClientURL()
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// Close stops the server and removes its store. Clients see their
// connection end.
func (s *Server) Close() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	os.RemoveAll(s.dir)
}

// splitListen reads host:port; port 0 (or none) asks for a random one.
func splitListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("cluster: listen %q: %v; want host:port, as 127.0.0.1:4222 or 0.0.0.0:4222", listen, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("cluster: listen %q: got port %q, want a number from 0 to 65535", listen, ps)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// IsLoopback says whether host names only this machine: localhost or a
// loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errClosed is what a call on a closed connection or pool returns.
var errClosed = errors.New("cluster: connection closed")
