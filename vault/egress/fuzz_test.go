package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://psp.example/x", "http://127.0.0.1:8080/", "https://[::ffff:127.0.0.1]/",
		"https://bücher.example/", "https://u@h/", "https://127.1/", "https://0x7f.1/",
		"https://a..b/", "https://localhost./", "https://h:/", "https:h", "", "%", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, p := range []Policy{{}, {AllowInsecure: true}} {
			u, err := p.CheckURL(raw)
			if err != nil {
				var de *DestinationError
				if !errors.As(err, &de) || de.Reason == "" {
					t.Fatalf("CheckURL(%q) error %T %v", raw, err, err)
				}
				continue
			}
			// Anything accepted must pass again, unchanged.
			again, err := p.CheckURL(u.String())
			if err != nil || again.String() != u.String() {
				t.Fatalf("CheckURL(%q) = %q, again %v, %v", raw, u, again, err)
			}
			if p.AllowInsecure {
				continue
			}
			if u.Scheme != "https" || u.User != nil || (u.Port() != "" && u.Port() != "443") {
				t.Fatalf("strict CheckURL(%q) accepted %q", raw, u)
			}
			host := u.Hostname()
			if _, err := netip.ParseAddr(host); err == nil || !strings.Contains(strings.TrimSuffix(host, "."), ".") {
				t.Fatalf("strict CheckURL(%q) accepted host %q", raw, host)
			}
		}
	})
}

func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "8.8.8.8", "2606:4700::1111"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		err := CheckAddr(ip) // must not panic, valid or not
		if !ok {
			return
		}
		if err != nil {
			var de *DestinationError
			if !errors.As(err, &de) {
				t.Fatalf("CheckAddr(%s) error %T", ip, err)
			}
		}
		if (err == nil) != (CheckAddr(netip.AddrFrom16(ip.As16())) == nil) {
			t.Fatalf("%s and its mapped form disagree", ip)
		}
		u := ip.Unmap()
		if err == nil && (u.IsLoopback() || u.IsPrivate() || u.IsUnspecified() || u.IsMulticast() ||
			u.IsLinkLocalUnicast() || u.IsLinkLocalMulticast()) {
			t.Fatalf("CheckAddr(%s) allowed a non-public address", ip)
		}
	})
}
