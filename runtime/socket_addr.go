// Socket addresses, read without the net package: a Unix path, or
// "host:port" with an IPv4 or IPv6 address, localhost, or a name in
// /etc/hosts, made into the kernel's socket addresses and back into text.

package runtime

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// socketAddrs reads address in family as the socket addresses to try, in
// order. A listener uses the first; a client tries each until one
// answers. An empty or wildcard host ("0.0.0.0", "::", "") listens on
// IPv6 and IPv4 both, as Go's net package did.
func socketAddrs(family, address string) ([]unix.Sockaddr, error) {
	switch family {
	case FamilyUnix:
		if address == "" {
			return nil, errors.New("got an empty path, want a socket file path or \"\\0name\"")
		}
		if strings.HasPrefix(address, "@") {
			// The kernel's abstract namespace is a leading NUL, as in
			// Python; x/sys also reads a leading '@' so, so such a path
			// is made relative to stay a file.
			address = "./" + address
		}
		return []unix.Sockaddr{&unix.SockaddrUnix{Name: address}}, nil
	case FamilyInet:
		host, port, err := splitHostPort(address)
		if err != nil {
			return nil, err
		}
		ips, err := lookupHost(host)
		if err != nil {
			return nil, err
		}
		sas := make([]unix.Sockaddr, 0, len(ips))
		for _, ip := range ips {
			sa, err := inetSockaddr(ip, port)
			if err != nil {
				return nil, err
			}
			sas = append(sas, sa)
		}
		return sas, nil
	}
	return nil, fmt.Errorf("got family %q, want AF_UNIX or AF_INET", family)
}

// splitHostPort splits "host:port" or "[ipv6]:port"; the port is a
// number from 0 to 65535.
func splitHostPort(address string) (host string, port int, err error) {
	bad := fmt.Errorf("got %q, want host:port for AF_INET", address)
	i := strings.LastIndexByte(address, ':')
	if i < 0 {
		return "", 0, bad
	}
	host, ps := address[:i], address[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", 0, bad
		}
		host = host[1 : len(host)-1]
	} else if strings.ContainsAny(host, ":[]") {
		return "", 0, bad
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 || strings.HasPrefix(ps, "+") {
		return "", 0, fmt.Errorf("got the port %q in %q, want a number from 0 to 65535", ps, address)
	}
	return host, port, nil
}

// lookupHost reads a host as its addresses, IPv4 first: an IP address
// (IPv6 with an optional %zone), the empty host (the wildcard), a name in
// /etc/hosts, or localhost. Other names would need DNS, which procsh does
// not do.
func lookupHost(host string) ([]netip.Addr, error) {
	if host == "" {
		return []netip.Addr{netip.IPv6Unspecified()}, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ips := hostsFile(host)
	if len(ips) == 0 {
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		if name == "localhost" || strings.HasSuffix(name, ".localhost") {
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("cannot resolve the host %q: want an IP address, localhost, or a name in /etc/hosts", host)
	}
	sort.SliceStable(ips, func(i, j int) bool { return ips[i].Unmap().Is4() && !ips[j].Unmap().Is4() })
	return ips, nil
}

// hostsFile is the addresses /etc/hosts gives name, in its order.
func hostsFile(name string) []netip.Addr {
	data, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return nil
	}
	name = strings.TrimSuffix(name, ".")
	var ips []netip.Addr
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, h := range f[1:] {
			if strings.EqualFold(strings.TrimSuffix(h, "."), name) {
				ips = append(ips, ip)
				break
			}
		}
	}
	return ips
}

// inetSockaddr makes the kernel's address of ip and port. The
// unspecified IPv4 address is IPv6's, so that a listener on it takes
// both, as with Go's net package.
func inetSockaddr(ip netip.Addr, port int) (unix.Sockaddr, error) {
	if ip == netip.IPv4Unspecified() {
		ip = netip.IPv6Unspecified()
	}
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: ip.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		id, err := zoneIndex(z)
		if err != nil {
			return nil, err
		}
		sa.ZoneId = id
	}
	return sa, nil
}

// zoneIndex is the index of the network interface an IPv6 zone names,
// by number or by name.
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	b, err := os.ReadFile(filepath.Join("/sys/class/net", filepath.Base(zone), "ifindex"))
	if err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil {
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("got the zone %q, want a network interface's name or index", zone)
}

// zoneName is the name of the network interface with index id, or the
// number when none has it.
func zoneName(id uint32) string {
	want := strconv.FormatUint(uint64(id), 10)
	if dirs, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, d := range dirs {
			b, err := os.ReadFile(filepath.Join("/sys/class/net", d.Name(), "ifindex"))
			if err == nil && strings.TrimSpace(string(b)) == want {
				return d.Name()
			}
		}
	}
	return want
}

// isWildcard says whether sa is the unspecified IPv6 address, which a
// listener binds to take IPv6 and IPv4 both.
func isWildcard(sa unix.Sockaddr) bool {
	s, ok := sa.(*unix.SockaddrInet6)
	return ok && s.Addr == [16]byte{}
}

// sockaddrString writes an address as procsh shows it: host:port (an
// IPv4 address mapped into IPv6 as plain IPv4), or a Unix socket's name.
func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr).Unmap()
		if ip.Is6() && a.ZoneId != 0 {
			ip = ip.WithZone(zoneName(a.ZoneId))
		}
		return netip.AddrPortFrom(ip, uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		return a.Name
	}
	return ""
}

// sockDomain is the socket domain of an address.
func sockDomain(sa unix.Sockaddr) int {
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return unix.AF_INET
	case *unix.SockaddrInet6:
		return unix.AF_INET6
	}
	return unix.AF_UNIX
}
