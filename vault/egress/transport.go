package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Connection-level limits. The whole exchange is bounded by Policy.Timeout
// through Client (or the caller's context when Transport is used alone).
const (
	dialTimeout            = 10 * time.Second
	tlsHandshakeTimeout    = 10 * time.Second
	idleConnTimeout        = 90 * time.Second
	maxResponseHeaderBytes = 256 << 10
)

// Transport returns a new *http.Transport that enforces the policy in the
// dialer: it resolves the host itself, refuses the destination if ANY
// resolved address fails CheckAddr, and connects only to the checked
// addresses (never re-resolving, which defeats DNS rebinding). A net.Dialer
// Control hook re-checks the address each socket actually connects to. In
// strict mode the dialer also refuses ports other than 443 and IP-literal
// hosts, so a caller that forgot CheckURL still cannot reach internal
// addresses; it cannot see the scheme, though, so callers using Transport
// directly must CheckURL every request URL (Client does this for you).
//
// TLS is verified with a minimum of TLS 1.2; proxies from the environment
// (HTTP_PROXY and friends) are never used; the response header timeout is
// Policy.Timeout. Compression is left to the caller (DisableCompression), so
// response size caps apply to the bytes on the wire and the proxy passes
// bodies through unchanged.
func (p Policy) Transport() *http.Transport {
	dialer := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: 30 * time.Second,
		Control:   p.control,
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.hooks != nil && p.hooks.rootCAs != nil {
		tlsConfig.RootCAs = p.hooks.rootCAs
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            p.dialContext(dialer),
		TLSClientConfig:        tlsConfig,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ResponseHeaderTimeout:  p.timeout(),
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        idleConnTimeout,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    128, // a PSP gets many concurrent calls: keep them warm
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
}

// Client returns an *http.Client over a new Transport with the whole-exchange
// Timeout. Every request URL, the first one and each redirect hop, is checked
// with CheckURL before it is sent (and the dialer re-checks the addresses).
// Redirects are followed up to MaxRedirects; past that, or when MaxRedirects
// is 0, the 3xx response itself is returned (http.ErrUseLastResponse).
func (p Policy) Client() *http.Client {
	return &http.Client{
		Transport: &checkedTransport{policy: p, next: p.Transport()},
		Timeout:   p.timeout(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > p.MaxRedirects {
				return http.ErrUseLastResponse
			}
			_, err := p.checkURL(req.URL)
			return err
		},
	}
}

// checkedTransport applies the URL rules to every request, so a caller that
// hands Client an unchecked URL (say http://psp.example:443/) is refused
// before any byte is written.
type checkedTransport struct {
	policy Policy
	next   *http.Transport
}

func (t *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, err := t.policy.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t *checkedTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

func (p Policy) dialContext(dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, refuse(reasonInvalidAddr)
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil || port == 0 {
			return nil, refuse(reasonPortBad)
		}
		literal, literalErr := netip.ParseAddr(host)
		if !p.AllowInsecure {
			if literalErr == nil {
				return nil, refuse(reasonIPLiteral)
			}
			if port != 443 {
				return nil, refuse(reasonPort443)
			}
		}

		var targets []netip.AddrPort
		if literalErr == nil {
			targets = []netip.AddrPort{netip.AddrPortFrom(literal.Unmap(), uint16(port))}
		} else if targets, err = p.resolve(ctx, host, uint16(port)); err != nil {
			return nil, err
		}
		targets = filterNetwork(targets, network)
		if len(targets) == 0 {
			return nil, &net.DNSError{Err: "no suitable address", Name: host, IsNotFound: true}
		}
		if !p.AllowInsecure {
			// One bad answer refuses the name: a record set mixing public
			// and internal addresses is an attack, not a misconfiguration.
			for _, t := range targets {
				if err := p.resolveCheck(t); err != nil {
					return nil, err
				}
			}
		}

		var firstErr error
		for _, t := range targets {
			conn, err := dialer.DialContext(ctx, network, t.String())
			if err == nil {
				return conn, nil
			}
			// The dialer wraps a Control refusal in *net.OpError, whose
			// message names the internal address; return the bare reason.
			var de *DestinationError
			if errors.As(err, &de) {
				return nil, de
			}
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, firstErr
	}
}

// resolve looks host up and pairs each address with port. DNS errors lose
// their Server field, which names the operator's internal resolver.
func (p Policy) resolve(ctx context.Context, host string, port uint16) ([]netip.AddrPort, error) {
	if p.hooks != nil && p.hooks.resolve != nil {
		return p.hooks.resolve(ctx, host, port)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			clean := *dnsErr
			clean.Server = ""
			return nil, &clean
		}
		return nil, err
	}
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a.Unmap(), port))
	}
	return out, nil
}

func filterNetwork(targets []netip.AddrPort, network string) []netip.AddrPort {
	var want func(netip.Addr) bool
	switch network {
	case "tcp4":
		want = netip.Addr.Is4
	case "tcp6":
		want = netip.Addr.Is6
	default:
		return targets
	}
	out := targets[:0:0]
	for _, t := range targets {
		if want(t.Addr().Unmap()) {
			out = append(out, t)
		}
	}
	return out
}

func (p Policy) resolveCheck(ap netip.AddrPort) error {
	if p.hooks != nil && p.hooks.resolveCheck != nil {
		return p.hooks.resolveCheck(ap)
	}
	return CheckAddr(ap.Addr())
}

// control runs after the socket is created and before connect(2): the last
// word on where the bytes go, whatever the resolver said earlier.
// In every mode, a listener of this process is never a destination.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err == nil && ownListener(ap) { // self.go
		return refuse(reasonSelf)
	}
	if p.AllowInsecure {
		return nil
	}
	switch network {
	case "tcp4", "tcp6":
	default:
		return refuse(reasonInvalidAddr)
	}
	if err != nil {
		return refuse(reasonInvalidAddr)
	}
	if p.hooks != nil && p.hooks.connectCheck != nil {
		return p.hooks.connectCheck(ap)
	}
	return CheckAddr(ap.Addr())
}
