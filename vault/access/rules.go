package access

import (
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/token"
)

// Transforms applied to a token's data on read, from least to most revealing.
const (
	Redact = "redact"
	Mask   = "mask"
	Reveal = "reveal"
)

func transformRank(t string) int {
	switch t {
	case Reveal:
		return 2
	case Mask:
		return 1
	}
	return 0
}

// LeastRevealing returns the less revealing of two transforms.
func LeastRevealing(a, b string) string {
	if transformRank(b) < transformRank(a) {
		return b
	}
	return a
}

// Rule is an access rule (seed 003).
type Rule struct {
	Description string      `json:"description,omitempty"`
	Priority    int         `json:"priority"`
	Container   string      `json:"container,omitempty"`
	Transform   string      `json:"transform"`
	Permissions []string    `json:"permissions"`
	Conditions  []Condition `json:"conditions,omitempty"`
}

// Condition narrows a rule of an expiring application.
type Condition struct {
	Attribute string `json:"attribute"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

// Principal is an authenticated caller and what it may do.
type Principal struct {
	TenantID      string
	ApplicationID string
	AppType       string
	KeyID         string
	permissions   map[string]bool
	rules         []Rule // explicit rules, by priority
	derived       []Rule // rules mapped from permissions; their union decides
}

// NewPrincipal builds the principal of an application.
func NewPrincipal(tenantID, appID, appType, keyID string, permissions []string, rules []Rule) *Principal {
	p := &Principal{TenantID: tenantID, ApplicationID: appID, AppType: appType, KeyID: keyID,
		permissions: make(map[string]bool, len(permissions))}
	for _, perm := range permissions {
		p.permissions[perm] = true
	}
	p.rules = slices.Clone(rules)
	slices.SortStableFunc(p.rules, func(a, b Rule) int { return a.Priority - b.Priority })
	p.derived = RulesFromPermissions(permissions)
	return p
}

// Has reports whether the principal holds a (non-token) permission. The
// invocation permissions also accept their predecessor `token:use`, held
// directly or through a rule.
func (p *Principal) Has(perm string) bool {
	if p.permissions[perm] {
		return true
	}
	switch perm {
	case "proxy:invoke", "reactor:invoke":
		return p.permissions["token:use"] || p.ruleGrantsAnywhere("token:use") || p.ruleGrantsAnywhere(perm)
	}
	return false
}

// UseTransform decides whether a token may be used (detokenized) by the
// invocation perm (`proxy:invoke` or `reactor:invoke`), and with which
// transform: a rule granting the invocation itself or `token:use` decides.
func (p *Principal) UseTransform(invocation string, tok TokenRef) (transform string, ok, legacy bool) {
	if tr, ok, legacy := p.Decide(invocation, tok); ok {
		return tr, true, legacy
	}
	return p.Decide("token:use", tok)
}

// HasAny reports whether any of perms is held.
func (p *Principal) HasAny(perms ...string) bool {
	for _, perm := range perms {
		if p.Has(perm) {
			return true
		}
	}
	return false
}

// Permissions returns the permission strings held, for display.
func (p *Principal) Permissions() []string {
	out := make([]string, 0, len(p.permissions))
	for k := range p.permissions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (p *Principal) ruleGrantsAnywhere(perm string) bool {
	for _, r := range p.rules {
		if slices.Contains(r.Permissions, perm) {
			return true
		}
	}
	for _, r := range p.derived {
		if slices.Contains(r.Permissions, perm) {
			return true
		}
	}
	return false
}

// TokenRef is what a rule can see of a token.
type TokenRef struct {
	ID        string
	Container string
}

// TokenTransform decides whether the principal may perform the token
// operation perm (`token:read`, `token:create`, ...) on tok, and with which
// read transform. Explicit rules are tried in priority order and the first
// whose container and conditions match and which grants perm decides;
// otherwise the most revealing of the rules derived from permissions does.
func (p *Principal) TokenTransform(perm string, tok TokenRef) (string, bool) {
	tr, ok, _ := p.Decide(perm, tok)
	return tr, ok
}

// Decide is TokenTransform that also reports whether the decision came
// from seed-001 classification permissions (legacy), where a token's own
// restriction policy still applies.
func (p *Principal) Decide(perm string, tok TokenRef) (transform string, ok, legacy bool) {
	for _, r := range p.rules {
		if r.matches(tok) && slices.Contains(r.Permissions, perm) {
			return r.Transform, true, false
		}
	}
	best, found := "", false
	for _, r := range p.derived {
		if r.matches(tok) && slices.Contains(r.Permissions, perm) {
			if !found || transformRank(r.Transform) > transformRank(best) {
				best, found = r.Transform, true
			}
		}
	}
	return best, found, found
}

// CanAnywhere reports whether perm is granted on at least one container,
// e.g. to allow a search whose results are then filtered one by one.
func (p *Principal) CanAnywhere(perm string) bool { return p.ruleGrantsAnywhere(perm) }

func (r Rule) matches(tok TokenRef) bool {
	if r.Container != "" && !token.ContainerCovers(r.Container, tok.Container) {
		return false
	}
	for _, c := range r.Conditions {
		var v string
		switch c.Attribute {
		case "id":
			v = tok.ID
		case "container":
			v = tok.Container
		default:
			return false
		}
		switch c.Operator {
		case "equals":
			if v != c.Value {
				return false
			}
		case "starts_with":
			if !strings.HasPrefix(v, c.Value) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// RulesFromPermissions maps token permissions onto access rules: the
// seed-001 classification permissions by the published migration table
// (wire contract §11), and the bare current ones (`token:read`, ...) onto
// the root container with reveal.
func RulesFromPermissions(perms []string) []Rule {
	var out []Rule
	rule := func(container, transform string, ps ...string) {
		out = append(out, Rule{Container: container, Transform: transform, Permissions: ps})
	}
	for _, perm := range perms {
		switch perm {
		case "token:create", "token:update", "token:read", "token:search", "token:delete", "token:use":
			rule("/", Reveal, perm)
			continue
		case "proxy:invoke", "reactor:invoke":
			// Invocation alone grants no token: detokenizing inside a proxy
			// or reactor needs token:use (or a rule) on the token's container.
			continue
		}
		class, op, ok := legacyToken(perm)
		if !ok {
			continue
		}
		c := "/" + class + "/"
		switch op {
		case "create":
			rule(c, Mask, "token:create")
		case "update":
			rule(c, Mask, "token:update")
		case "delete":
			rule(c, Mask, "token:delete")
		case "read:low":
			rule(c+"low/", Reveal, "token:read", "token:search")
			rule(c, Mask, "token:read")
		case "read:moderate":
			rule(c+"low/", Reveal, "token:read", "token:search")
			rule(c+"moderate/", Reveal, "token:read", "token:search")
			rule(c+"high/", Mask, "token:read")
		case "read:high":
			rule(c, Reveal, "token:read", "token:search")
		case "use:proxy":
			rule(c, Reveal, "proxy:invoke")
		case "use:reactor":
			rule(c, Reveal, "reactor:invoke")
		}
	}
	return out
}
