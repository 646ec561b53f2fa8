package vault

import "github.com/strongroom/strongroom/vault/tenants"

// The tenants domain's types (vault/tenants), under the names callers of
// the vault use.
type (
	// Tenant is an isolated set of applications and tokens.
	Tenant = tenants.Tenant
	// TenantUpdate is the body of PUT /tenants/self.
	TenantUpdate = tenants.TenantUpdate
	// Application is an API client of a tenant.
	Application = tenants.Application
	// ApplicationRequest is the body of an application create or update.
	ApplicationRequest = tenants.ApplicationRequest
	// ApplicationFilter narrows an application list.
	ApplicationFilter = tenants.ApplicationFilter
	// ApplicationKey is one API key of an application.
	ApplicationKey = tenants.ApplicationKey
	// CreateSessionResponse is a new session's key and nonce.
	CreateSessionResponse = tenants.CreateSessionResponse
	// AuthorizeSessionRequest grants a session what it may do.
	AuthorizeSessionRequest = tenants.AuthorizeSessionRequest
)

// Tenant types and session constants (vault/tenants).
const (
	TenantProduction = tenants.TenantProduction
	TenantTest       = tenants.TenantTest
	SessionLifetime  = tenants.SessionLifetime
	SessionAppType   = tenants.SessionAppType
)
