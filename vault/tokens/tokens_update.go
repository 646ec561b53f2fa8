package tokens

import (
	"bytes"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/token"
)

// authorizeUpdate is the rule for an update that changes how a token is
// protected (old is the stored token, n the token as the update leaves it):
//
//   - the impact level only rises (as on the hosted service);
//   - the token leaves its container, its restriction policy loosens
//     from redact to mask, or what is derived from its data for other
//     readers changes (mask, fingerprint expression, search indexes), only
//     for a caller that reads it in plaintext where it is now: nobody
//     exposes data they could not see themselves. Moving a token from one level container of its classification to a
//     higher one (`/pci/low/` to `/pci/high/`) raises its protection, and
//     needs no read.
//
// The new container must grant `token:update` like the old (planToken
// checks it), so a caller only moves tokens between containers it manages.
func authorizeUpdate(p *access.Principal, old, n *tokenRecord) error {
	oldRank, _ := token.ImpactLevelRank(old.Privacy.ImpactLevel)
	newRank, _ := token.ImpactLevelRank(n.Privacy.ImpactLevel)
	if newRank < oldRank {
		return problem.Invalid("privacy.impact_level", "The impact level of a token can only be raised.")
	}
	var change string
	switch {
	case old.container() != n.container() && !levelRaise(old.container(), n.container()):
		change = "Moving a token out of " + old.container()
	case old.Privacy.RestrictionPolicy == token.PolicyRedact && n.Privacy.RestrictionPolicy != token.PolicyRedact:
		change = "Loosening a token's restriction policy"
	case !bytes.Equal(old.Mask, n.Mask):
		change = "Changing a token's mask"
	case old.FingerprintExpression != n.FingerprintExpression || !slices.Equal(old.SearchIndexes, n.SearchIndexes):
		change = "Changing what a token's fingerprint or search indexes derive from its data"
	default:
		return nil
	}
	if tr, err := readTransform(p, old, "token:read"); err != nil || tr != access.Reveal {
		return problem.Forbidden(change + " requires permission to read it in plaintext.")
	}
	return nil
}

// levelRaise reports whether from and to are level containers of one
// classification (`/<class>/<level>/`) and to is the higher level.
func levelRaise(from, to string) bool {
	fc, fl, ok1 := levelContainer(from)
	tc, tl, ok2 := levelContainer(to)
	return ok1 && ok2 && fc == tc && tl > fl
}

func levelContainer(c string) (class string, rank int, ok bool) {
	parts := strings.Split(strings.Trim(c, "/"), "/")
	if len(parts) != 2 || !token.IsClassification(parts[0]) {
		return "", 0, false
	}
	rank, ok = token.ImpactLevelRank(parts[1])
	return parts[0], rank, ok
}

// updateTransform is how an update's answer may show the token: never more
// than the caller could read before the update, nor more than after it. A
// caller that cannot read the token at both gets no data (ok is false).
func updateTransform(p *access.Principal, old, n *tokenRecord) (tr string, ok bool) {
	before, err := readTransform(p, old, "token:read")
	if err != nil {
		return "", false
	}
	after, err := readTransform(p, n, "token:read")
	if err != nil {
		return "", false
	}
	return access.LeastRevealing(before, after), true
}

// updatedView is the answer of PATCH /tokens/{id}.
func (v *Service) updatedView(p *access.Principal, old, n *tokenRecord) (*Token, error) {
	tr, ok := updateTransform(p, old, n)
	if !ok {
		return baseView(n), nil
	}
	return v.view(n, tr)
}
