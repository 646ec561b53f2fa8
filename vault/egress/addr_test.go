package egress

import (
	"errors"
	"net/netip"
	"testing"
)

// Every address here is a value only: nothing in this file opens a socket.
func TestCheckAddrRefused(t *testing.T) {
	refused := []struct{ addr, why string }{
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network 0/8"},
		{"10.0.0.1", "RFC 1918"},
		{"10.255.255.255", "RFC 1918"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"100.100.100.200", "Alibaba metadata"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.0.1", "link-local"},
		{"169.254.169.254", "AWS/GCP/Azure metadata"},
		{"169.254.170.2", "ECS task metadata"},
		{"172.16.0.1", "RFC 1918"},
		{"172.31.255.255", "RFC 1918"},
		{"192.0.0.1", "IETF protocol assignments"},
		{"192.0.0.192", "OCI metadata"},
		{"192.0.2.1", "TEST-NET-1"},
		{"192.88.99.1", "6to4 relay anycast"},
		{"192.168.1.1", "RFC 1918"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "TEST-NET-2"},
		{"203.0.113.9", "TEST-NET-3"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast SSDP"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},
		{"168.63.129.16", "Azure WireServer"},

		{"::", "v6 unspecified"},
		{"::1", "v6 loopback"},
		{"::ffff:127.0.0.1", "v4-mapped loopback"},
		{"::ffff:10.0.0.1", "v4-mapped private"},
		{"::ffff:169.254.169.254", "v4-mapped metadata"},
		{"::ffff:100.100.100.200", "v4-mapped Alibaba metadata"},
		{"::ffff:0.0.0.0", "v4-mapped unspecified"},
		{"::127.0.0.1", "v4-compatible (deprecated)"},
		{"::ffff:0:127.0.0.1", "SIIT v4-translated"},
		{"::ffff:0:8.8.8.8", "SIIT v4-translated, even public"},
		{"64:ff9b::7f00:1", "NAT64 of 127.0.0.1"},
		{"64:ff9b::a00:1", "NAT64 of 10.0.0.1"},
		{"64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"},
		{"64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"},
		{"64:ff9b:1::808:808", "local-use NAT64 prefix"},
		{"100::1", "discard-only"},
		{"fc00::1", "ULA"},
		{"fd12:3456::1", "ULA"},
		{"fd00:ec2::254", "AWS IPv6 metadata"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local with zone"},
		{"2606:4700::1111%eth0", "public with zone"},
		{"fec0::1", "site-local (deprecated)"},
		{"ff02::1", "multicast"},
		{"ff05::1:3", "multicast"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation (RFC 9637)"},
		{"2001::1", "Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001:2::1", "benchmarking"},
		{"2002:7f00:1::1", "6to4 of 127.0.0.1"},
		{"2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"},
		{"2002:c0a8:101::1", "6to4 of 192.168.1.1"},
		{"2002:a00:1::", "6to4 of 10.0.0.1"},
		{"5f00::1", "SRv6 SID"},
	}
	for _, tc := range refused {
		t.Run(tc.addr, func(t *testing.T) {
			err := CheckAddr(netip.MustParseAddr(tc.addr))
			var de *DestinationError
			if !errors.As(err, &de) {
				t.Fatalf("CheckAddr(%s) [%s] = %v, want *DestinationError", tc.addr, tc.why, err)
			}
			if de.Reason != reasonNonPublic {
				t.Fatalf("reason = %q", de.Reason)
			}
		})
	}

	var de *DestinationError
	if err := CheckAddr(netip.Addr{}); !errors.As(err, &de) || de.Reason != reasonInvalidAddr {
		t.Fatalf("zero Addr: %v", err)
	}
}

func TestCheckAddrAllowed(t *testing.T) {
	for _, a := range []string{
		"8.8.8.8",
		"1.1.1.1",
		"9.9.9.9",
		"100.63.255.255", // just below CGNAT
		"100.128.0.0",    // just above CGNAT
		"172.15.255.255", // just below 172.16/12
		"172.32.0.0",     // just above
		"192.0.1.1",
		"198.17.255.255", // just below 198.18/15
		"198.20.0.0",     // just above
		"223.255.255.255",
		"::ffff:8.8.8.8",
		"2606:4700::1111",
		"2001:4860:4860::8888",
		"2001:200::1",      // first block after 2001::/23
		"3fff:1000::1",     // after 3fff::/20
		"64:ff9b::808:808", // NAT64 of 8.8.8.8 (DNS64 networks)
		"2002:808:808::1",  // 6to4 of 8.8.8.8
	} {
		if err := CheckAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("CheckAddr(%s) = %v, want nil", a, err)
		}
	}
}

// The mapped form of every IPv4 address must get the same answer as the
// address itself.
func TestCheckAddrMappedAgrees(t *testing.T) {
	for _, p := range refusedV4 {
		for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
			mapped := netip.AddrFrom16(a.As16())
			if (CheckAddr(a) == nil) != (CheckAddr(mapped) == nil) {
				t.Errorf("%s and %s disagree", a, mapped)
			}
			if CheckAddr(a) == nil {
				t.Errorf("%s (in %s) allowed", a, p)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
