package egress

import "net/netip"

// Reasons shared by the address checks. They never name the address: a
// client probing internal host names must not learn what they resolve to.
const (
	reasonNonPublic   = "destination resolves to a private or reserved address"
	reasonInvalidAddr = "destination address is invalid"
)

// refusedV4 lists the IPv4 ranges that are not ordinary public unicast
// (IANA IPv4 Special-Purpose Address Registry, plus cloud metadata).
var refusedV4 = prefixes(
	"0.0.0.0/8",          // "this network"
	"10.0.0.0/8",         // RFC 1918
	"100.64.0.0/10",      // CGNAT shared space; holds Alibaba metadata 100.100.100.200
	"127.0.0.0/8",        // loopback
	"169.254.0.0/16",     // link-local; holds 169.254.169.254 (AWS/GCP/Azure/DO) and 169.254.170.2 (ECS)
	"172.16.0.0/12",      // RFC 1918
	"192.0.0.0/24",       // IETF protocol assignments; holds OCI metadata 192.0.0.192
	"192.0.2.0/24",       // TEST-NET-1
	"192.88.99.0/24",     // deprecated 6to4 relay anycast
	"192.168.0.0/16",     // RFC 1918
	"198.18.0.0/15",      // benchmarking
	"198.51.100.0/24",    // TEST-NET-2
	"203.0.113.0/24",     // TEST-NET-3
	"224.0.0.0/4",        // multicast
	"240.0.0.0/4",        // reserved, includes broadcast 255.255.255.255
	"168.63.129.16/32",   // Azure WireServer: public-looking, but host-local metadata/DNS
	"100.100.100.200/32", // Alibaba metadata (already in CGNAT; listed for the record)
)

// IPv6 is checked the other way round: only global unicast 2000::/3 is
// allowed at all, which refuses ::/8 (unspecified, loopback, IPv4-compatible
// and SIIT-translated forms), 64:ff9b:1::/48, fc00::/7 (including AWS
// metadata fd00:ec2::254), fe80::/10, fec0::/10 and ff00::/8 in one go.
// These are the holes inside 2000::/3.
var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	refusedV6       = prefixes(
		"2001::/23",     // IETF protocol assignments: Teredo 2001::/32 (refused outright), benchmarking, ORCHID
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation (RFC 9637)
	)
	nat64V6   = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known NAT64 prefix: v4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056 6to4: v4 in bits 16..47
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// CheckAddr reports whether ip may be connected to under the strict policy.
// It refuses everything that is not ordinary public unicast: unspecified,
// loopback, private (RFC 1918, fc00::/7), CGNAT, link-local, cloud metadata
// endpoints, multicast, broadcast, reserved, documentation and benchmarking
// ranges, and the IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 forms of any
// refused IPv4 address. Teredo and other IPv6 transition forms are refused
// outright. Addresses with a zone are refused (only scoped addresses need one).
// It is a pure function; the error is a *DestinationError.
func CheckAddr(ip netip.Addr) error {
	if !ip.IsValid() {
		return &DestinationError{Reason: reasonInvalidAddr}
	}
	// netip.Prefix.Contains is false for zoned addresses, which would
	// silently skip the deny list below.
	if ip.Zone() != "" {
		return &DestinationError{Reason: reasonNonPublic}
	}
	ip = ip.Unmap()
	// Belt and braces: the stdlib predicates cover the common classes even if
	// a table entry above were ever mistyped.
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return &DestinationError{Reason: reasonNonPublic}
	}
	if ip.Is4() {
		for _, p := range refusedV4 {
			if p.Contains(ip) {
				return &DestinationError{Reason: reasonNonPublic}
			}
		}
		return nil
	}
	if nat64V6.Contains(ip) {
		b := ip.As16()
		return CheckAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	if !globalUnicastV6.Contains(ip) {
		return &DestinationError{Reason: reasonNonPublic}
	}
	for _, p := range refusedV6 {
		if p.Contains(ip) {
			return &DestinationError{Reason: reasonNonPublic}
		}
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		return CheckAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return nil
}
