package egress

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	AllowSelfForTests() // the tests' own httptest servers are destinations
	os.Exit(m.Run())
}

// TestOwnListener: a listener of this process is recognised by its own
// address and through a wildcard bind; a closed port is not.
func TestOwnListener(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("no /proc socket tables on this platform")
	}
	allowSelf.Store(false)
	defer allowSelf.Store(true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	if !ownListener(ap) {
		t.Errorf("own listener %s not recognised", ap)
	}
	if err := (Policy{AllowInsecure: true}).control("tcp4", ap.String(), nil); err == nil || err.Error() != reasonSelf {
		t.Errorf("control(%s) = %v, want %q", ap, err, reasonSelf)
	}
	wild, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	port := uint16(wild.Addr().(*net.TCPAddr).Port)
	for _, a := range []string{"127.0.0.1", "::1", "0.0.0.0"} {
		if !ownListener(netip.AddrPortFrom(netip.MustParseAddr(a), port)) {
			t.Errorf("wildcard listener not recognised through %s", a)
		}
	}
	closed := ap.Port()
	l.Close()
	if ownListener(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), closed)) {
		t.Errorf("a closed port counted as a listener")
	}
	if a, p, ok := parseProcAddr("0100007F:1F90"); !ok || a != netip.MustParseAddr("127.0.0.1") || p != 8080 {
		t.Errorf("parseProcAddr = %v %d %v", a, p, ok)
	}
}
