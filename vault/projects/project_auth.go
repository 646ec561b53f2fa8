package projects

import (
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
)

// ProjectCaller is who calls a project resource: the subject of a
// validated project JWT, or an API key of the project's tenant.
type ProjectCaller struct {
	TenantID  string
	ProjectID string
	// Claims are the validated JWT's claims; nil for an API-key caller.
	Claims *jwtauth.Claims
	// Principal is the API-key caller; nil for a JWT caller.
	Principal *access.Principal
}

// AuthenticateJWT validates a project JWT (the bearer token, already
// shape-checked by jwtauth.ParseBearer) for the project of the URL: the
// tenant is the one whose key of that project verifies it. Every failure
// is a *jwtauth.Error; an unknown project fails the kid check, so a token
// never learns more than "no such key".
func (v *Service) AuthenticateJWT(projectID, token string) (*ProjectCaller, error) {
	es, err := v.project(projectID)
	if err != nil {
		return nil, err
	}
	sets := make([]*jwtauth.KeySet, len(es))
	for i, e := range es {
		sets[i] = e.keys
	}
	claims, i, err := v.JWT.ValidateOne(token, projectID, sets)
	if err != nil {
		v.Metrics().AuthFailure()
		return nil, err
	}
	return &ProjectCaller{TenantID: es[i].tenantID, ProjectID: projectID, Claims: claims}, nil
}

// JWTRefusalTenant is the tenant whose log records a refused JWT for a
// project id: the one tenant holding it, else "" (the vault log).
func (v *Service) JWTRefusalTenant(projectID string) string {
	if es, err := v.project(projectID); err == nil && len(es) == 1 {
		return es[0].tenantID
	}
	return ""
}

// ProjectCallerForKey lets an API key call a project resource of its own
// tenant; any other project is a 404.
func (v *Service) ProjectCallerForKey(p *access.Principal, projectID string) (*ProjectCaller, error) {
	if p == nil {
		return nil, problem.Unauthorized("The BT-API-KEY header is required.")
	}
	if _, err := v.loadProject(p.TenantID, projectID); err != nil {
		return nil, err
	}
	return &ProjectCaller{TenantID: p.TenantID, ProjectID: projectID, Principal: p}, nil
}

// Project operations and what they require: a JWT role, or an API-key
// permission.
const (
	pmCreate = "create"
	pmRead   = "read"
	pmDelete = "delete"
)

// allow is the one authorization decision for project resources. Seed
// 000: `private` for payment methods; `public` also collects (creates)
// them, as the browser-side JWT of the seed's jose example does.
func (c *ProjectCaller) allow(op string) error {
	if c.Claims != nil {
		if op == pmCreate {
			return c.Claims.RequireRole(jwtauth.RolePrivate, jwtauth.RolePublic)
		}
		return c.Claims.RequireRole(jwtauth.RolePrivate)
	}
	return kernel.Require(c.Principal, "payment_method:"+op)
}

// actorID names c in audit fields: the application of an API key, or
// `<project id>:<sub>` for a JWT.
func (c *ProjectCaller) actorID() string {
	if c.Claims == nil {
		return kernel.ActorID(c.Principal)
	}
	return c.ProjectID + ":" + c.Claims.Subject
}

// entry is the audit entry of an action by c.
func (c *ProjectCaller) entry(entityType, entityID, op, msg string, ts time.Time) audit.Entry {
	if c.Claims == nil {
		return kernel.LogEntry(c.Principal, c.TenantID, entityType, entityID, op, msg, ts)
	}
	e := kernel.LogEntry(nil, c.TenantID, entityType, entityID, op, msg, ts)
	e.ActorID, e.ActorType = c.actorID(), "project_subject"
	return e
}
