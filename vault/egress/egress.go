// Package egress is the single way Strongroom makes outbound HTTP calls to
// destinations chosen by API clients (the detokenizing /proxy, reactor fetch).
// Those requests carry plaintext card data, so they must never reach the
// operator's own network (SSRF).
//
// Following k6's lib/netext dialer, the address rule is enforced where it
// cannot be bypassed: in the dialer, after DNS resolution, on every resolved
// address, and again in a net.Dialer Control hook on the address the socket
// actually connects to. URL rules (https only, a DNS host name, port 443, no
// credentials) are checked up front by CheckURL and again on every redirect.
//
// Destination rules follow the BT wire contract §5.2: HTTPS only, a DNS host
// (no IP literals), TLS 1.2 or later. Port 443 is required too: the 2022 docs
// said so, the newer docs are silent, and allowing any port would let a
// client use the vault to port-scan the internet from the operator's address.
// The only switch is Policy.AllowInsecure, for local development and tests.
package egress

import (
	"context"
	"crypto/x509"
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// DefaultTimeout is the whole-exchange timeout used when Policy.Timeout is
// zero: Basis Theory documents 25 s for its proxy (408 after that).
const DefaultTimeout = 25 * time.Second

// maxURLLen bounds what CheckURL will look at; a destination URL is a base
// address plus a path, never a payload.
const maxURLLen = 4096

// Policy decides where outbound requests may go. The zero value is the strict
// production policy.
type Policy struct {
	// AllowInsecure relaxes the policy for local development and tests only:
	// http scheme, IP-literal hosts, any port, loopback/private destinations.
	// Credentials in the URL stay refused and TLS stays verified.
	AllowInsecure bool

	// Timeout is the whole-exchange timeout (Client) and the response header
	// timeout (Transport); 0 means DefaultTimeout (25 s).
	Timeout time.Duration

	// MaxRedirects is how many redirects Client follows, each re-validated.
	// 0 means none: the 3xx response is returned as is (the proxy passes it
	// through). Reactor fetch may set 5.
	MaxRedirects int

	// hooks is nil in production. Tests use it to point fake public names at
	// loopback httptest servers without sending traffic anywhere else.
	hooks *testHooks
}

// testHooks replaces pieces of the dial path in tests.
type testHooks struct {
	// resolve replaces DNS; it may also rewrite the port so that a strict
	// "https://psp.example/" (port 443) reaches an httptest server.
	resolve func(ctx context.Context, host string, port uint16) ([]netip.AddrPort, error)
	// resolveCheck and connectCheck replace CheckAddr at resolution time and
	// in the Control hook respectively, so each layer can be tested alone.
	resolveCheck func(netip.AddrPort) error
	connectCheck func(netip.AddrPort) error
	// rootCAs trusts an httptest server's certificate.
	rootCAs *x509.CertPool
}

// DestinationError is a refused destination. Reason is safe to show API
// clients: it never contains a resolved address (that would tell a prober
// what an internal host name points at) nor the host name itself (the
// client already knows what it sent).
type DestinationError struct {
	Reason string
}

func (e *DestinationError) Error() string { return e.Reason }

func refuse(reason string) error { return &DestinationError{Reason: reason} }

const (
	reasonRequired   = "destination is required"
	reasonTooLong    = "destination is too long"
	reasonNotURL     = "destination is not a valid URL"
	reasonScheme     = "destination must use https"
	reasonNoHost     = "destination must include a host"
	reasonUserinfo   = "destination must not include credentials"
	reasonPortBad    = "destination port is invalid"
	reasonPort443    = "destination must use port 443"
	reasonIPLiteral  = "destination must be a DNS host name, not an IP address"
	reasonBadName    = "destination host is not a valid DNS name"
	reasonNotFQDN    = "destination host must be a fully qualified domain name"
	reasonInternalNS = "destination host is reserved for internal use"
)

// internalSuffixes are names that only ever mean "somewhere inside": RFC 6761
// localhost, mDNS .local, ICANN's private-use .internal (GCP's
// metadata.google.internal), RFC 8375 .home.arpa, and the common
// localdomain. Their addresses would be refused anyway; refusing the name
// gives a clearer error and does not depend on what internal DNS returns.
var internalSuffixes = []string{"localhost", "local", "internal", "home.arpa", "localdomain"}

// CheckURL parses raw and applies the URL rules: https only, a DNS host name
// (no IP literal, no single-label or internal-only name), port 443 (explicit
// or implied), no user info. Unicode host names are converted to their ASCII
// (punycode) form, lower-cased. With AllowInsecure, http, IP literals,
// internal names and any port are accepted. The address rule (CheckAddr) is
// not applied here: it needs DNS and is enforced by the Transport's dialer.
// Errors are *DestinationError.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, refuse(reasonRequired)
	}
	if len(raw) > maxURLLen {
		return nil, refuse(reasonTooLong)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, refuse(reasonNotURL)
	}
	return p.checkURL(u)
}

// checkURL is CheckURL on an already parsed URL (redirect hops, requests
// given to Client). It returns a normalised copy and never modifies u.
func (p Policy) checkURL(u *url.URL) (*url.URL, error) {
	if u == nil {
		return nil, refuse(reasonRequired)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowInsecure {
			return nil, refuse(reasonScheme)
		}
	default:
		return nil, refuse(reasonScheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, refuse(reasonNoHost)
	}
	if u.User != nil {
		return nil, refuse(reasonUserinfo)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, refuse(reasonNoHost)
	}
	var asciiHost string
	if ip, err := netip.ParseAddr(host); err == nil {
		if !p.AllowInsecure {
			return nil, refuse(reasonIPLiteral)
		}
		asciiHost = ip.String()
		if ip.Is6() {
			asciiHost = "[" + asciiHost + "]"
		}
	} else {
		name, err := normaliseHostName(host)
		if err != nil {
			var de *DestinationError
			if p.AllowInsecure && errors.As(err, &de) && de.Reason == reasonIPLiteral {
				return nil, refuse(reasonBadName) // "127.1" is no DNS name either
			}
			return nil, err
		}
		if !p.AllowInsecure {
			trimmed := strings.TrimSuffix(name, ".")
			for _, s := range internalSuffixes {
				if trimmed == s || strings.HasSuffix(trimmed, "."+s) {
					return nil, refuse(reasonInternalNS)
				}
			}
			// A single label is completed from the resolver's search list,
			// i.e. from the operator's own DNS domain.
			if !strings.Contains(trimmed, ".") {
				return nil, refuse(reasonNotFQDN)
			}
		}
		asciiHost = name
	}

	if port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, refuse(reasonPortBad)
		}
		if !p.AllowInsecure && port != "443" {
			return nil, refuse(reasonPort443)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		// "https://host:/" — url.Parse accepts it; say what we mean instead.
		return nil, refuse(reasonPortBad)
	}

	out := *u
	out.Host = asciiHost
	if port != "" {
		out.Host += ":" + port
	}
	return &out, nil
}

// normaliseHostName converts a (possibly Unicode) host name to lower-case
// ASCII and checks it is a plain LDH DNS name. Names whose last label is
// numeric are refused as IP literals in disguise: WHATWG URL parsers and
// getaddrinfo read "127.1", "2130706433" and "0x7f.1" as IPv4 addresses.
func normaliseHostName(host string) (string, error) {
	if !utf8.ValidString(host) || strings.ContainsAny(host, ":%[]") {
		return "", refuse(reasonBadName)
	}
	name, err := idna.Lookup.ToASCII(host)
	if err != nil || name == "" || len(name) > 254 {
		return "", refuse(reasonBadName)
	}
	// The A-label form must itself be valid (it is what gets dialled and
	// what a redirect or re-check will see).
	if again, err := idna.Lookup.ToASCII(name); err != nil || again != name {
		return "", refuse(reasonBadName)
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	if len(strings.TrimSuffix(name, ".")) > 253 {
		return "", refuse(reasonBadName)
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", refuse(reasonBadName)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", refuse(reasonBadName)
			}
		}
	}
	if looksNumeric(labels[len(labels)-1]) {
		return "", refuse(reasonIPLiteral)
	}
	return name, nil
}

// looksNumeric reports whether a label would be parsed as an IPv4 part by a
// WHATWG URL parser: all decimal digits, or 0x followed by hex digits.
func looksNumeric(label string) bool {
	s := label
	if strings.HasPrefix(s, "0x") {
		s = s[2:]
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (p Policy) timeout() time.Duration {
	if p.Timeout <= 0 {
		return DefaultTimeout
	}
	return p.Timeout
}
