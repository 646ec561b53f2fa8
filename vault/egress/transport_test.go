package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Only loopback httptest servers are ever connected to. Fake public names
// (psp.example.com, other.example.com: the httptest certificate covers
// *.example.com) are mapped onto them by testHooks.resolve.

type testServer struct {
	*httptest.Server
	hits atomic.Int32
	addr netip.AddrPort
}

func newTestServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(ts.Close)
	ts.addr = netip.MustParseAddrPort(ts.Listener.Addr().String())
	if !ts.addr.Addr().IsLoopback() {
		t.Fatalf("test server not on loopback: %s", ts.addr)
	}
	return ts
}

func ok200(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func rootsFor(servers ...*testServer) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	return pool
}

// fakeDNS maps host names to test servers, whatever port was asked for.
func fakeDNS(names map[string]*testServer) func(context.Context, string, uint16) ([]netip.AddrPort, error) {
	return func(_ context.Context, host string, _ uint16) ([]netip.AddrPort, error) {
		if s, ok := names[host]; ok {
			return []netip.AddrPort{s.addr}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

// allowOnly treats exactly these servers as "public"; everything else still
// goes through CheckAddr.
func allowOnly(servers ...*testServer) func(netip.AddrPort) error {
	return func(ap netip.AddrPort) error {
		for _, s := range servers {
			if ap == s.addr {
				return nil
			}
		}
		return CheckAddr(ap.Addr())
	}
}

func allowAll(netip.AddrPort) error { return nil }

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var de *DestinationError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DestinationError %q", err, reason)
	}
	if reason != "" && de.Reason != reason {
		t.Fatalf("reason = %q, want %q (err %v)", de.Reason, reason, err)
	}
	if strings.Contains(de.Error(), "127.0.0.1") || strings.Contains(de.Error(), "::1") {
		t.Fatalf("reason leaks an internal address: %v", err)
	}
}

// wantNoLeak checks the whole error chain's message when the caller asked for
// a name: the resolved internal address must appear nowhere.
func wantNoLeak(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "::1") {
		t.Fatalf("error leaks an internal address: %v", err)
	}
}

func get(t *testing.T, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestStrictRefusesLoopbackServer(t *testing.T) {
	srv := newTestServer(t, ok200)
	strict := Policy{hooks: &testHooks{rootCAs: rootsFor(srv)}}

	// Client: refused by the URL rules before anything is dialled.
	_, err := strict.Client().Get(srv.URL)
	wantRefused(t, err, reasonIPLiteral)

	// Transport alone (a caller that skipped CheckURL): the dialer refuses.
	_, err = get(t, strict.Transport(), srv.URL)
	wantRefused(t, err, "")
	_, err = get(t, strict.Transport(), "https://127.0.0.1/")
	wantRefused(t, err, reasonIPLiteral)
	_, err = get(t, strict.Transport(), "https://[::1]/")
	wantRefused(t, err, reasonIPLiteral)

	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("server got %d requests", n)
	}
}

func TestAllowInsecureReachesLoopbackServer(t *testing.T) {
	// Proxies from the environment must never be used.
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")

	srv := newTestServer(t, ok200)
	dev := Policy{AllowInsecure: true, hooks: &testHooks{rootCAs: rootsFor(srv)}}
	resp, err := dev.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok" || srv.hits.Load() != 1 {
		t.Fatalf("status %d body %q hits %d", resp.StatusCode, body, srv.hits.Load())
	}

	// TLS is still verified with AllowInsecure: without the test CA it fails.
	_, err = Policy{AllowInsecure: true}.Client().Get(srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want unknown authority", err)
	}
}

func TestStrictRefusesLocalhostByDNS(t *testing.T) {
	// Real resolver (/etc/hosts). Port 443 so only the address rule can
	// refuse; the refusal comes before any connect.
	_, err := get(t, Policy{}.Transport(), "https://localhost/")
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	wantRefused(t, err, reasonNonPublic)
	wantNoLeak(t, err)

	// Client refuses the name before resolving it.
	_, err = Policy{}.Client().Get("https://localhost/")
	wantRefused(t, err, reasonInternalNS)
}

func TestStrictRefusesPublicNameResolvingToLoopback(t *testing.T) {
	srv := newTestServer(t, ok200)
	names := map[string]*testServer{"psp.example.com": srv}

	// Resolution-time check.
	strict := Policy{hooks: &testHooks{resolve: fakeDNS(names), rootCAs: rootsFor(srv)}}
	_, err := strict.Client().Get("https://psp.example.com/")
	wantRefused(t, err, reasonNonPublic)
	wantNoLeak(t, err)

	// Dial-time check alone: the resolver's answer is waved through (as a
	// rebinding resolver might manage), the Control hook still refuses.
	controlOnly := Policy{hooks: &testHooks{resolve: fakeDNS(names), resolveCheck: allowAll, rootCAs: rootsFor(srv)}}
	_, err = controlOnly.Client().Get("https://psp.example.com/")
	wantRefused(t, err, reasonNonPublic)
	wantNoLeak(t, err)

	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("server got %d requests", n)
	}

	// Control: the same set-up with both checks passing this one server does
	// reach it, so the refusals above are the checks and not the harness.
	reachable := Policy{hooks: &testHooks{resolve: fakeDNS(names), resolveCheck: allowOnly(srv), connectCheck: allowOnly(srv), rootCAs: rootsFor(srv)}}
	resp, err := reachable.Client().Get("https://psp.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.hits.Load() != 1 {
		t.Fatalf("hits = %d", srv.hits.Load())
	}

	// A plaintext request to port 443 is refused by Client before dialling.
	_, err = reachable.Client().Get("http://psp.example.com:443/")
	wantRefused(t, err, reasonScheme)
	if srv.hits.Load() != 1 {
		t.Fatalf("hits = %d", srv.hits.Load())
	}
}

func TestControlHook(t *testing.T) {
	tests := []struct {
		network, address string
		refused          bool
	}{
		{"tcp4", "127.0.0.1:443", true},
		{"tcp4", "10.1.2.3:443", true},
		{"tcp4", "169.254.169.254:80", true},
		{"tcp6", "[::1]:443", true},
		{"tcp6", "[::ffff:127.0.0.1]:443", true},
		{"tcp6", "[fd00:ec2::254]:443", true},
		{"tcp6", "[64:ff9b::a9fe:a9fe]:443", true},
		{"tcp4", "8.8.8.8:443", false}, // a value only: Control is called directly
		{"tcp6", "[2606:4700::1111]:443", false},
		{"udp4", "8.8.8.8:53", true},
		{"tcp4", "not-an-address", true},
		{"tcp4", "", true},
	}
	for _, tc := range tests {
		err := Policy{}.control(tc.network, tc.address, nil)
		if tc.refused {
			var de *DestinationError
			if !errors.As(err, &de) {
				t.Errorf("control(%s, %s) = %v, want refused", tc.network, tc.address, err)
			}
		} else if err != nil {
			t.Errorf("control(%s, %s) = %v, want nil", tc.network, tc.address, err)
		}
		if err := (Policy{AllowInsecure: true}).control(tc.network, tc.address, nil); err != nil {
			t.Errorf("insecure control(%s, %s) = %v", tc.network, tc.address, err)
		}
	}
}

func TestRedirects(t *testing.T) {
	target := newTestServer(t, ok200)
	var location string
	origin := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location, http.StatusFound)
	})
	names := map[string]*testServer{"psp.example.com": origin, "other.example.com": target}
	policy := func(maxRedirects int, public ...*testServer) Policy {
		return Policy{MaxRedirects: maxRedirects, hooks: &testHooks{
			resolve:      fakeDNS(names),
			resolveCheck: allowOnly(public...),
			connectCheck: allowOnly(public...),
			rootCAs:      rootsFor(origin, target),
		}}
	}

	tests := []struct {
		name     string
		location string
		policy   Policy
		reason   string // refused with this reason; "" = followed
	}{
		{"to a name resolving to loopback", "https://other.example.com/", policy(5, origin), reasonNonPublic},
		{"to an IP literal", "https://" + target.addr.String() + "/", policy(5, origin, target), reasonIPLiteral},
		{"downgrade to http", "http://other.example.com/", policy(5, origin, target), reasonScheme},
		{"to another port", "https://other.example.com:8443/", policy(5, origin, target), reasonPort443},
		{"to localhost", "https://localhost/", policy(5, origin, target), reasonInternalNS},
		{"with credentials", "https://u:p@other.example.com/", policy(5, origin, target), reasonUserinfo},
		{"allowed hop (harness check)", "https://other.example.com/", policy(5, origin, target), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			location = tc.location
			target.hits.Store(0)
			resp, err := tc.policy.Client().Get("https://psp.example.com/")
			if tc.reason != "" {
				wantRefused(t, err, tc.reason)
				if tc.reason == reasonNonPublic {
					wantNoLeak(t, err)
				}
				if n := target.hits.Load(); n != 0 {
					t.Fatalf("redirect target got %d requests", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || target.hits.Load() != 1 {
				t.Fatalf("status %d, target hits %d", resp.StatusCode, target.hits.Load())
			}
		})
	}

	// MaxRedirects 0 (the proxy): the 3xx itself comes back, nothing followed.
	location = "https://other.example.com/"
	target.hits.Store(0)
	resp, err := policy(0, origin, target).Client().Get("https://psp.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != location || target.hits.Load() != 0 {
		t.Fatalf("status %d location %q target hits %d", resp.StatusCode, resp.Header.Get("Location"), target.hits.Load())
	}

	// Past MaxRedirects: the last 3xx comes back.
	location = "https://psp.example.com/again"
	origin.hits.Store(0)
	resp, err = policy(2, origin).Client().Get("https://psp.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || origin.hits.Load() != 3 {
		t.Fatalf("status %d origin hits %d, want 302 after 3 requests", resp.StatusCode, origin.hits.Load())
	}
}

func TestTransportSettings(t *testing.T) {
	tr := Policy{}.Transport()
	if tr.Proxy != nil {
		t.Error("Proxy must be nil")
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("TLS config %+v", tr.TLSClientConfig)
	}
	if tr.ResponseHeaderTimeout != DefaultTimeout {
		t.Errorf("ResponseHeaderTimeout = %v", tr.ResponseHeaderTimeout)
	}
	if got := (Policy{Timeout: 3 * time.Second}).Transport().ResponseHeaderTimeout; got != 3*time.Second {
		t.Errorf("ResponseHeaderTimeout = %v", got)
	}
	if c := (Policy{}).Client(); c.Timeout != DefaultTimeout {
		t.Errorf("Client.Timeout = %v", c.Timeout)
	}
}

func TestTLSBelow12Refused(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ok200))
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	_, err := Policy{AllowInsecure: true, hooks: &testHooks{rootCAs: pool}}.Client().Get(srv.URL)
	if err == nil {
		t.Fatal("TLS 1.1 server accepted")
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	p := Policy{AllowInsecure: true, Timeout: 200 * time.Millisecond, hooks: &testHooks{rootCAs: rootsFor(srv)}}
	start := time.Now()
	_, err := p.Client().Get(srv.URL)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}
