package token

import (
	"errors"
	"strings"
)

// ValidateContainer checks a container path and returns it lower-cased. A
// container starts and ends with "/" and its segments are non-empty runs of
// [A-Za-z0-9_-]. The root "/" is valid (it covers every container); callers
// that must not accept it for a token check for it themselves. It is the
// one container check: tokens, access rules and grants all use it.
func ValidateContainer(s string) (string, error) {
	if len(s) == 0 || s[0] != '/' || s[len(s)-1] != '/' {
		return "", errors.New("container must start and end with '/'")
	}
	if len(s) == 1 {
		return s, nil
	}
	prevSlash := true // s[0]
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			if prevSlash {
				return "", errors.New("container segments must not be empty")
			}
			prevSlash = true
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			prevSlash = false
		default:
			return "", errors.New("container segments may only contain letters, digits, '_' and '-'")
		}
	}
	return strings.ToLower(s), nil
}

// DefaultContainer returns "/<classification>/<impact_level>/" for p.
func DefaultContainer(p Privacy) string {
	return "/" + p.Classification + "/" + p.ImpactLevel + "/"
}

// ContainerCovers reports whether an access rule on ruleContainer applies to
// a token in tokenContainer. Containers are hierarchical: "/pci/" covers
// "/pci/" and "/pci/high/" but not "/pcix/". Both are normalised first; an
// invalid container covers and is covered by nothing.
func ContainerCovers(ruleContainer, tokenContainer string) bool {
	r, err := ValidateContainer(ruleContainer)
	if err != nil {
		return false
	}
	t, err := ValidateContainer(tokenContainer)
	if err != nil {
		return false
	}
	return strings.HasPrefix(t, r)
}
