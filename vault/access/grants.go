package access

import (
	"strings"

	"github.com/strongroom/strongroom/vault/token"
)

// Covers reports whether p itself holds perm, so that p may pass it on (a
// private application authorizing a session). A token permission is held
// when p's own decision grants it, at least as revealing, wherever the
// rules perm maps to apply.
func (p *Principal) Covers(perm string) bool {
	if !strings.HasPrefix(perm, "token:") {
		return p.Has(perm)
	}
	derived := RulesFromPermissions([]string{perm})
	if len(derived) == 0 {
		return false
	}
	for _, r := range derived {
		if !p.CoversRule(r) {
			return false
		}
	}
	return true
}

// CoversRule reports whether p holds every permission of r with at least
// r's transform on every token r applies to. r without a container applies
// everywhere (conditions may narrow it, but p must then hold it at the
// root). p's decision only changes at the containers its own rules name,
// so r's container and each of those inside it are checked.
func (p *Principal) CoversRule(r Rule) bool {
	container := r.Container
	if container == "" {
		container = "/"
	}
	points := []string{container}
	for _, set := range [][]Rule{p.rules, p.derived} {
		for _, own := range set {
			if own.Container != "" && token.ContainerCovers(container, own.Container) {
				points = append(points, own.Container)
			}
		}
	}
	for _, perm := range r.Permissions {
		for _, c := range points {
			tr, ok, _ := p.Decide(perm, TokenRef{Container: c})
			if !ok || transformRank(tr) < transformRank(r.Transform) {
				return false
			}
		}
	}
	return true
}
