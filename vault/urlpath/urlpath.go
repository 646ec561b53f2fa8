// Package urlpath holds the one rule for hostile request paths: a dot
// segment (`.` or `..`, however it is encoded) never reaches routing or a
// destination, so no path climbs out of the prefix it was sent under.
package urlpath

import (
	"net/url"
	"strings"
)

// HasDotSegment reports whether the escaped path holds a `.` or `..`
// segment, literal or percent-encoded (`%2e%2e`), also when an encoded
// separator (`%2F`) or a backslash (which some servers treat as one) hides
// it inside a segment. A path that does not unescape counts as hostile.
func HasDotSegment(escaped string) bool {
	for _, seg := range strings.Split(escaped, "/") {
		plain, err := url.PathUnescape(seg)
		if err != nil {
			return true
		}
		for _, part := range strings.FieldsFunc(plain, func(r rune) bool { return r == '/' || r == '\\' }) {
			if part == "." || part == ".." {
				return true
			}
		}
	}
	return false
}

// HasEmptySegment reports whether the path holds `//` (an empty segment
// that path cleaning would silently remove).
func HasEmptySegment(escaped string) bool { return strings.Contains(escaped, "//") }
