package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// authHeaders names the headers that authenticated r: BT-API-KEY (else
// the legacy X-API-KEY, which APIKey reads only then) and, for a project
// caller, Authorization.
func authHeaders(r *http.Request) []string {
	names := []string{"BT-API-KEY"}
	if len(r.Header.Values("BT-API-KEY")) == 0 {
		names = append(names, "X-API-KEY")
	}
	if ProjectCallerFrom(r.Context()) != nil {
		names = append(names, "Authorization")
	}
	return names
}

// ScrubCredentials removes every credential the vault consumed from r's
// headers: those of authHeaders, BT-PROXY-KEY, and any other header whose
// value holds one of their values or the `bt-proxy-key` query parameter.
// It is the one rule for what leaves the vault: /proxy, vault_detokenize
// and vault_tokenize call it before anything (a destination, transform
// code, the next handler) sees the headers.
func ScrubCredentials(r *http.Request) {
	scrub(r, append(authHeaders(r), ProxyKeyHeader))
}

// ScrubAuthentication is ScrubCredentials for vault_auth: it removes the
// credential that authenticated r and leaves a proxy key to /proxy.
func ScrubAuthentication(r *http.Request) {
	scrub(r, authHeaders(r))
}

func scrub(r *http.Request, names []string) {
	var secrets []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	for _, name := range names {
		for _, v := range r.Header.Values(name) {
			add(v)
			if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
				add(tok)
			}
		}
		r.Header.Del(name)
	}
	if slices.Contains(names, ProxyKeyHeader) && strings.Contains(r.URL.RawQuery, proxyKeyQuery) {
		add(r.URL.Query().Get(proxyKeyQuery))
	}
	for name, vals := range r.Header {
		if holdsAny(vals, secrets) {
			delete(r.Header, name)
		}
	}
}

func holdsAny(vals, secrets []string) bool {
	for _, v := range vals {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}
