// Package access is the single permission engine. Both API generations are
// served by it: the seed-001 classification permissions
// (`token:<classification>:<operation>[:<scope>]`) are mapped onto the
// access-rule model of seed 003, so every read of a token is decided by one
// function, Principal.TokenTransform.
package access

import (
	"sort"
	"strings"
)

// Application types of both generations.
const (
	TypeServerToServer = "server_to_server"
	TypePublic         = "public"
	TypeElements       = "elements"
	TypeManagement     = "management"
	TypePrivate        = "private"
	TypeExpiring       = "expiring"
)

// AppTypes lists every accepted application type.
var AppTypes = []string{TypeServerToServer, TypePublic, TypeElements, TypeManagement, TypePrivate, TypeExpiring}

// ValidAppType reports whether t is an application type.
func ValidAppType(t string) bool {
	for _, a := range AppTypes {
		if a == t {
			return true
		}
	}
	return false
}

// Permission describes one grantable permission (GET /permissions).
type Permission struct {
	Type             string   `json:"type"`
	Description      string   `json:"description"`
	ApplicationTypes []string `json:"application_types"`
}

// Classifications of the v1 privacy model.
var Classifications = []string{"general", "bank", "pci", "pii"}

var (
	catalog     []Permission
	catalogByID map[string]Permission
)

// init builds the catalogue. It is a data table, long on purpose (over the
// 80-line rule): the permission list reads, and is reviewed against the
// hosted docs, best in one place, and its order is the order GET
// /permissions lists them in. Splitting it by resource would scatter that
// list without making any logic clearer; the loops only expand names.
func init() {
	mgmt := []string{TypeManagement}
	add := func(t, d string, types ...string) {
		catalog = append(catalog, Permission{Type: t, Description: d, ApplicationTypes: types})
	}
	for _, e := range []struct{ t, d string }{
		{"tenant:read", "Read Tenants"},
		{"tenant:update", "Update Tenants"},
		{"tenant:delete", "Delete Tenants"},
		{"application:read", "Read Applications"},
		{"application:create", "Create Applications"},
		{"application:update", "Update and regenerate API keys for Applications"},
		{"application:delete", "Delete Applications"},
		{"log:read", "Read audit logs"},
		{"report:read", "Read reports"},
		{"reactor:read", "Read Reactor Formulas and Reactors"},
		{"reactor:create", "Create Reactors Formulas and Reactors"},
		{"reactor:update", "Update Reactors Formulas and Reactors"},
		{"reactor:delete", "Delete Reactors Formulas and Reactors"},
		{"proxy:read", "Read Proxies"},
		{"proxy:create", "Create Proxies"},
		{"proxy:update", "Update Proxies"},
		{"proxy:delete", "Delete Proxies"},
		{"tenant:member:read", "Read Tenant Members"},
		{"tenant:member:update", "Update Tenant Members"},
		{"tenant:member:delete", "Delete Tenant Members"},
		{"tenant:invitation:create", "Create Tenant Invitations"},
		{"tenant:invitation:read", "Read Tenant Invitations"},
		{"tenant:invitation:update", "Update Tenant Invitations"},
		{"tenant:invitation:delete", "Delete Tenant Invitations"},
		{"project:read", "Read Projects and their JWT verification keys"},
		{"project:create", "Create Projects"},
		{"project:update", "Update Projects and register or remove their keys"},
		{"project:delete", "Delete Projects"},
	} {
		add(e.t, e.d, mgmt...)
	}
	// Current token permissions (seed 004), granted through access rules.
	add("token:create", "Create Tokens", TypePublic, TypePrivate)
	add("token:update", "Update Tokens", TypePublic, TypePrivate)
	add("token:read", "Read Tokens", TypePrivate, TypeExpiring)
	add("token:search", "Search Tokens", TypePrivate)
	add("token:delete", "Delete Tokens", TypePrivate)
	add("token:use", "Use Tokens in Basis Theory Services (e.g., Proxy, Reactors)", TypePrivate)
	add("proxy:invoke", "Invoke Proxies", TypePrivate)
	add("reactor:invoke", "Invoke Reactors", TypePrivate)
	add("payment_method:create", "Create Payment Methods of a Project", TypePrivate)
	add("payment_method:read", "Read Payment Methods of a Project", TypePrivate)
	add("payment_method:delete", "Delete Payment Methods of a Project", TypePrivate)
	// --- Token intents (current API generation; permissions as the hosted
	// docs name them). Other current-generation resources add theirs in
	// blocks of their own.
	add("token-intent:create", "Create Token Intents", TypePublic, TypePrivate, TypeManagement)
	add("token-intent:read", "Read Token Intents", TypePrivate, TypeManagement)
	add("token-intent:delete", "Delete Token Intents", TypePrivate, TypeManagement)
	// --- end token intents.
	// Webhooks and client-side encryption keys (hosted docs: webhooks/api,
	// client-keys), named as the docs name them.
	for _, e := range []struct{ t, d string }{
		{"webhooks:create", "Create Webhooks"},
		{"webhooks:read", "Read Webhooks and their delivery attempts"},
		{"webhooks:update", "Update Webhooks"},
		{"webhooks:delete", "Delete Webhooks"},
	} {
		add(e.t, e.d, mgmt...)
	}
	add("keys:create", "Create Client Encryption Keys", TypeManagement, TypePrivate)
	add("keys:read", "Read Client Encryption Keys", TypeManagement, TypePrivate)
	add("keys:delete", "Delete Client Encryption Keys", TypeManagement, TypePrivate)
	// Seed-001 classification permissions.
	for _, c := range Classifications {
		add("token:"+c+":create", "Create Tokens in "+c, TypePublic, TypeElements, TypeServerToServer, TypePrivate)
		for _, l := range []string{"low", "moderate", "high"} {
			add("token:"+c+":read:"+l, "Read plaintext token data in "+c+" with "+l+" impact level and lower", TypeServerToServer, TypePrivate)
		}
		add("token:"+c+":update", "Update Tokens in "+c, TypeServerToServer, TypePrivate)
		add("token:"+c+":delete", "Delete Tokens in "+c, TypeServerToServer, TypePrivate)
		add("token:"+c+":use:proxy", "Use Tokens in "+c+" via Proxy", TypeServerToServer, TypePrivate)
		add("token:"+c+":use:reactor", "Use Tokens in "+c+" via Reactor", TypeServerToServer, TypePrivate)
	}
	catalogByID = make(map[string]Permission, len(catalog))
	for _, p := range catalog {
		catalogByID[p.Type] = p
	}
}

// Catalog returns the permissions grantable to appType, or all when empty.
func Catalog(appType string) []Permission {
	out := make([]Permission, 0, len(catalog))
	for _, p := range catalog {
		if appType == "" || grantable(p, appType) {
			out = append(out, p)
		}
	}
	return out
}

// Lookup returns a permission of the catalogue.
func Lookup(perm string) (Permission, bool) {
	p, ok := catalogByID[perm]
	return p, ok
}

// GrantableTo reports whether perm exists and may be given to appType.
func GrantableTo(perm, appType string) bool {
	p, ok := catalogByID[perm]
	return ok && grantable(p, appType)
}

// grantable treats the renamed types of the two generations as equals:
// server_to_server became private, elements merged into public.
func grantable(p Permission, appType string) bool {
	for _, t := range p.ApplicationTypes {
		if t == appType || canonicalType(t) == canonicalType(appType) {
			return true
		}
	}
	return false
}

func canonicalType(t string) string {
	switch t {
	case TypeServerToServer:
		return TypePrivate
	case TypeElements:
		return TypePublic
	}
	return t
}

// ManagementPermissions is every permission a management application may
// hold; the bootstrap application gets all of them.
func ManagementPermissions() []string {
	var out []string
	for _, p := range catalog {
		if grantable(p, TypeManagement) {
			out = append(out, p.Type)
		}
	}
	sort.Strings(out)
	return out
}

// legacyToken parses `token:<classification>:<op>[:<scope>]`.
func legacyToken(perm string) (class, op string, ok bool) {
	rest, found := strings.CutPrefix(perm, "token:")
	if !found {
		return "", "", false
	}
	class, op, found = strings.Cut(rest, ":")
	if !found {
		return "", "", false
	}
	for _, c := range Classifications {
		if c == class {
			_, known := catalogByID[perm]
			return class, op, known
		}
	}
	return "", "", false
}
