package egress

import (
	"bufio"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// reasonSelf refuses a destination served by this very process: its API
// sites, Caddy's admin endpoint, any listener it holds. With the insecure
// policy loopback is reachable, and a proxy into the admin endpoint would
// list tenants and mint keys.
const reasonSelf = "destination is this server itself"

// allowSelf lets in-process test servers be destinations; see
// AllowSelfForTests.
var allowSelf atomic.Bool

// AllowSelfForTests lets a test binary's own httptest servers be
// destinations. It does nothing outside `go test`.
func AllowSelfForTests() {
	if testing.Testing() {
		allowSelf.Store(true)
	}
}

// ownListener reports whether ap reaches a listening TCP socket of this
// process. It reads the socket tables of /proc (Linux): a LISTEN entry on
// ap's port, bound to ap's address or to a wildcard address when ap is a
// local one, whose inode is one of this process's file descriptors.
// Elsewhere (no /proc) it reports false.
func ownListener(ap netip.AddrPort) bool {
	if allowSelf.Load() {
		return false
	}
	inodes := listeningInodes(ap)
	if len(inodes) == 0 {
		return false
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true
		}
	}
	return false
}

// listeningInodes are the inodes of the sockets listening where ap leads.
func listeningInodes(ap netip.AddrPort) map[string]bool {
	target := ap.Addr().Unmap()
	local := isLocalAddr(target)
	out := map[string]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // TCP_LISTEN
				continue
			}
			addr, port, ok := parseProcAddr(fields[1])
			if !ok || port != ap.Port() {
				continue
			}
			// 0.0.0.0 and :: as a destination connect to this host.
			if addr == target || addr.IsUnspecified() && local || target.IsUnspecified() {
				out[fields[9]] = true
			}
		}
		f.Close()
	}
	return out
}

// isLocalAddr reports whether a connection to a reaches this host.
func isLocalAddr(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: assume it is
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or a 32-digit IPv6 address:
// hex words in host (little-endian) byte order, then the port.
func parseProcAddr(s string) (netip.Addr, uint16, bool) {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil {
		return netip.Addr{}, 0, false
	}
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return netip.Addr{}, 0, false
	}
	for i := 0; i < len(raw); i += 4 { // each 32-bit word is little-endian
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr.Unmap(), uint16(port), true
}
