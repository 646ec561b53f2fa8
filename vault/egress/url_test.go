package egress

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	const ok = ""
	tests := []struct {
		name     string
		raw      string
		strict   string // reason, or ok
		insecure string // reason, or ok
		want     string // normalised URL when strict is ok
	}{
		{"plain", "https://psp.example/charge?x=1", ok, ok, "https://psp.example/charge?x=1"},
		{"explicit 443, case folded", "HTTPS://PSP.Example:443/x", ok, ok, "https://psp.example:443/x"},
		{"trailing dot", "https://psp.example./", ok, ok, "https://psp.example./"},
		{"fragment kept", "https://psp.example/#f", ok, ok, "https://psp.example/#f"},
		{"name rules do no DNS", "https://1.2.3.4.nip.io/", ok, ok, "https://1.2.3.4.nip.io/"},

		{"unicode host to punycode", "https://bücher.example/", ok, ok, "https://xn--bcher-kva.example/"},
		{"punycode host", "https://xn--bcher-kva.example/", ok, ok, "https://xn--bcher-kva.example/"},
		{"ideographic full stop", "https://psp\u3002example/", ok, ok, "https://psp.example/"},
		{"circled letters map to localhost", "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", reasonInternalNS, ok, ""},
		{"underscore", "https://a_b.example/", reasonBadName, reasonBadName, ""},
		{"leading hyphen", "https://-a.example/", reasonBadName, reasonBadName, ""},
		{"empty label", "https://a..example/", reasonBadName, reasonBadName, ""},
		{"label too long", "https://" + strings.Repeat("a", 64) + ".example/", reasonBadName, reasonBadName, ""},
		{"fullwidth percent", "https://％６ｃ.example/", reasonBadName, reasonBadName, ""},

		{"http", "http://psp.example/", reasonScheme, ok, ""},
		{"ftp", "ftp://psp.example/", reasonScheme, reasonScheme, ""},
		{"javascript", "javascript:alert(1)", reasonScheme, reasonScheme, ""},
		{"scheme-relative", "//psp.example/", reasonScheme, reasonScheme, ""},
		{"no scheme", "psp.example", reasonScheme, reasonScheme, ""},
		{"empty", "", reasonRequired, reasonRequired, ""},
		{"too long", "https://psp.example/" + strings.Repeat("a", maxURLLen), reasonTooLong, reasonTooLong, ""},
		{"no host", "https://", reasonNoHost, reasonNoHost, ""},
		{"no host with path", "https:///path", reasonNoHost, reasonNoHost, ""},
		{"opaque", "https:psp.example", reasonNoHost, reasonNoHost, ""},
		{"garbage", "::::", reasonNotURL, reasonNotURL, ""},
		{"space in host", "https://exa mple.com/", reasonNotURL, reasonNotURL, ""},
		{"NUL", "https://psp.example\x00/", reasonNotURL, reasonNotURL, ""},
		{"leading space", " https://psp.example/", reasonNotURL, reasonNotURL, ""},
		{"unclosed bracket", "https://[::1", reasonNotURL, reasonNotURL, ""},
		{"escaped host", "https://%6c%6fcalhost/", reasonNotURL, reasonNotURL, ""},
		{"backslash userinfo trick", "https://psp.example\\@127.0.0.1/", reasonNotURL, reasonNotURL, ""},

		{"userinfo", "https://user:pw@psp.example/", reasonUserinfo, reasonUserinfo, ""},
		{"empty userinfo", "https://@psp.example/", reasonUserinfo, reasonUserinfo, ""},
		{"userinfo hiding a host", "https://psp.example@127.0.0.1/", reasonUserinfo, reasonUserinfo, ""},

		{"port 8443", "https://psp.example:8443/", reasonPort443, ok, ""},
		{"port 80 on https", "https://psp.example:80/", reasonPort443, ok, ""},
		{"port 0443", "https://psp.example:0443/", reasonPort443, ok, ""},
		{"port 0", "https://psp.example:0/", reasonPortBad, reasonPortBad, ""},
		{"port too big", "https://psp.example:65536/", reasonPortBad, reasonPortBad, ""},
		{"empty port", "https://psp.example:/", reasonPortBad, reasonPortBad, ""},

		{"IPv4 literal", "https://127.0.0.1/", reasonIPLiteral, ok, ""},
		{"public IPv4 literal", "https://1.1.1.1/", reasonIPLiteral, ok, ""},
		{"IPv6 literal", "https://[::1]/", reasonIPLiteral, ok, ""},
		{"mapped IPv6 literal", "https://[::ffff:127.0.0.1]/", reasonIPLiteral, ok, ""},
		{"zoned IPv6 literal", "https://[fe80::1%25eth0]/", reasonIPLiteral, ok, ""},
		{"IPv6 literal and port", "https://[::1]:8443/", reasonIPLiteral, ok, ""},
		{"short IPv4", "https://127.1/", reasonIPLiteral, reasonBadName, ""},
		{"decimal IPv4", "https://2130706433/", reasonIPLiteral, reasonBadName, ""},
		{"hex IPv4", "https://0x7f.1/", reasonIPLiteral, reasonBadName, ""},
		{"octal IPv4", "https://0177.0.0.1/", reasonIPLiteral, reasonBadName, ""},

		{"localhost", "https://localhost/", reasonInternalNS, ok, ""},
		{"LOCALHOST.", "https://LOCALHOST./", reasonInternalNS, ok, ""},
		{"sub.localhost", "https://api.localhost/", reasonInternalNS, ok, ""},
		{"GCP metadata name", "https://metadata.google.internal/", reasonInternalNS, ok, ""},
		{"mDNS", "https://printer.local/", reasonInternalNS, ok, ""},
		{"home.arpa", "https://router.home.arpa/", reasonInternalNS, ok, ""},
		{"single label", "https://vault/", reasonNotFQDN, ok, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []struct {
				p    Policy
				want string
			}{{Policy{}, tc.strict}, {Policy{AllowInsecure: true}, tc.insecure}} {
				u, err := mode.p.CheckURL(tc.raw)
				if mode.want == ok {
					if err != nil {
						t.Fatalf("insecure=%v: CheckURL(%q) = %v, want ok", mode.p.AllowInsecure, tc.raw, err)
					}
					if !mode.p.AllowInsecure && u.String() != tc.want {
						t.Fatalf("CheckURL(%q) = %q, want %q", tc.raw, u, tc.want)
					}
					continue
				}
				var de *DestinationError
				if !errors.As(err, &de) {
					t.Fatalf("insecure=%v: CheckURL(%q) = %v, %v; want *DestinationError %q", mode.p.AllowInsecure, tc.raw, u, err, mode.want)
				}
				if de.Reason != mode.want {
					t.Fatalf("insecure=%v: CheckURL(%q) reason %q, want %q", mode.p.AllowInsecure, tc.raw, de.Reason, mode.want)
				}
			}
		})
	}
}

// CheckURL must not modify anything but the host, and a checked URL must
// pass again unchanged.
func TestCheckURLIdempotent(t *testing.T) {
	for _, raw := range []string{"https://bücher.example:443/a%2Fb?q=%20#x", "https://psp.example./"} {
		u, err := Policy{}.CheckURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Policy{}.CheckURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("%q -> %q -> %q, %v", raw, u, again, err)
		}
	}
}
