package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
)

// maxAuditedPath bounds the request path kept in a refusal's audit entry.
const maxAuditedPath = 256

// OriginOf is the request's origin for audit entries: the client address
// and the request line (never a header, so never a credential).
func OriginOf(r *http.Request) vault.Origin {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	path := r.URL.Path
	if len(path) > maxAuditedPath {
		path = path[:maxAuditedPath] + "…"
	}
	return vault.Origin{Remote: host, Request: r.Method + " " + path}
}

type auditorKey struct{}

// auditScope is the vault that audits a request's denials, and the caller
// Authenticate found when it is not in the context (the proxy's).
type auditScope struct {
	v      *vault.Vault
	caller *access.Principal
}

// withAuditor makes the denials answered to r audit entries of v. Every way
// in that authenticates (vault_api, vault_proxy, vault_auth) sets it.
func withAuditor(r *http.Request, v *vault.Vault) *http.Request {
	if r.Context().Value(auditorKey{}) != nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), auditorKey{}, &auditScope{v: v}))
}

// noteCaller remembers who Authenticate found for r.
func noteCaller(r *http.Request, p *access.Principal) {
	if s, _ := r.Context().Value(auditorKey{}).(*auditScope); s != nil {
		s.caller = p
	}
}

// auditDenied records err when it is a refused permission check of an
// authenticated caller. The error writers call it, so no way out of the
// API skips it; failed authentications are recorded where they fail.
func auditDenied(r *http.Request, err error) {
	if r == nil {
		return
	}
	s, _ := r.Context().Value(auditorKey{}).(*auditScope)
	if s == nil {
		return
	}
	v := s.v
	var detail string
	var p *problem.Problem
	var je *jwtauth.Error
	switch {
	case errors.As(err, &p) && p.Denied():
		detail = p.Detail
	case errors.As(err, &je) && je.Status() == http.StatusForbidden:
		detail = je.Message
	default:
		return
	}
	pr := PrincipalFrom(r.Context())
	if pr == nil {
		pr = s.caller
	}
	if pr != nil {
		v.AuditDenied(pr.TenantID, pr.ApplicationID, "application", OriginOf(r), detail)
	} else if c := ProjectCallerFrom(r.Context()); c != nil {
		actor := c.ProjectID
		if c.Claims != nil {
			actor += ":" + c.Claims.Subject
		}
		v.AuditDenied(c.TenantID, actor, "project_subject", OriginOf(r), detail)
	}
}
