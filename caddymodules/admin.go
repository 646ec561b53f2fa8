package caddymodules

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/strongroom/strongroom/vault"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI is `admin.api.vault`: the operator endpoints the `vault`
// command uses against a running server (the admin API is local-only by
// default).
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.vault", New: func() caddy.Module { return new(AdminAPI) }}
}

// Routes returns the admin routes.
func (AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/vault/", Handler: caddy.AdminHandlerFunc(serveAdmin)}}
}

func serveAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := requireLocalAdmin(r); err != nil { // admin_boundary.go
		return err
	}
	v, err := runningVault()
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/vault/"), "/"), "/")
	if parts[0] == "projects" {
		return serveProjectAdmin(w, r, v, parts) // command_projects.go
	}
	if parts[0] == "keys" {
		return serveKeysAdmin(w, r, v, parts[1:]) // command_keys.go
	}
	if len(parts) == 1 && (parts[0] == "backup" || parts[0] == "audit") {
		return serveOpsAdmin(w, r, v, parts[0]) // command_ops.go
	}
	var out any
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "webhook-key":
		out, err = webhookKeyAdmin(v)
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "tenants":
		out, err = v.Tenants()
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "tenants":
		var req struct{ Name, Type string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		if req.Type == "" {
			req.Type = vault.TenantProduction
		}
		t, app, cerr := v.CreateTenant(req.Name, req.Type)
		if cerr == nil {
			out = tenantCreated{TenantID: t.ID, ManagementKey: app.Key}
		}
		err = cerr
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "tenants" && parts[2] == "keys":
		k, kerr := v.AddManagementKey(parts[1], "")
		out, err = tenantCreated{TenantID: parts[1], ManagementKey: k}, kerr
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault admin route")}
	}
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// runningVault returns the vault of the active config.
func runningVault() (*vault.Vault, error) {
	ctx := caddy.ActiveContext()
	if ctx.Context == nil {
		return nil, errors.New("no active configuration")
	}
	m, err := ctx.App("vault")
	if err != nil {
		return nil, err
	}
	a, ok := m.(*App)
	if !ok || a.vault == nil {
		return nil, errors.New("the vault app is not running")
	}
	return a.vault, nil
}

var _ caddy.AdminRouter = AdminAPI{}
