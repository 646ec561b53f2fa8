package vault

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/tenants"
)

// Refused requests are audit entries: a failed authentication goes to the
// log of the tenant it names (the application of a known but expired or
// deleted key, the project of a JWT), else to audit.VaultLog; a denied
// permission goes to the caller's tenant. Entries carry the remote address
// and the request line, never any part of the presented credential.

// Audit entity types and the operation of refusals.
const (
	EntityAuthentication = "authentication"
	EntityPermission     = "permission"
	opRefused            = "refused"
)

// DefaultAuditRetention is how long the audit log of a deleted tenant, and
// the vault log, are kept.
const DefaultAuditRetention = 90 * 24 * time.Hour

// Origin is where a request came from, for the audit entry of a refusal.
type Origin struct {
	Remote  string // the client's address
	Request string // "METHOD /path"
}

func refusal(o Origin, tenantID, entityType, entityID, msg string) audit.Entry {
	if o.Request != "" {
		msg += " (" + o.Request + ")"
	}
	return audit.Entry{TenantID: tenantID, EntityType: entityType, EntityID: entityID, Operation: opRefused,
		Message: msg, RemoteAddress: o.Remote, CreatedAt: apitime.New(kernel.Now())}
}

// AuthenticateFrom is Authenticate for a request from o: a presented key
// that fails is an audit entry.
func (v *Vault) AuthenticateFrom(apiKey string, o Origin) (*access.Principal, error) {
	p, err := v.Authenticate(apiKey)
	if err != nil && apiKey != "" && problem.Is(err, 401) {
		v.AuditAsync(v.keyRefusal(apiKey, o))
	}
	return p, err
}

// keyRefusal names what a refused key belongs to, when anything.
func (v *Vault) keyRefusal(apiKey string, o Origin) audit.Entry {
	var ref tenants.KeyRef
	if kernel.GetJSON(v.Store(), kernel.KeyHashKey(crypto.HashAPIKey(apiKey)), "key", &ref) != nil {
		return refusal(o, audit.VaultLog, EntityAuthentication, "api_key", "Authentication failed: unknown API key")
	}
	msg := "Authentication failed: the application no longer exists"
	var app Application
	if kernel.GetJSON(v.Store(), kernel.AppRecordKey(ref.TenantID, ref.ApplicationID), "Application", &app) == nil && app.Expired(kernel.Now()) {
		msg = "Authentication failed: the application has expired"
	}
	e := refusal(o, ref.TenantID, EntityAuthentication, ref.ApplicationID, msg)
	e.ActorID, e.ActorType = ref.ApplicationID, "application"
	return e
}

// AuthenticateJWTFrom is AuthenticateJWT for a request from o (err is the
// bearer header's own parse error, if any): a refused JWT is an audit
// entry in the project's tenant, or the vault log for an unknown project.
func (v *Vault) AuthenticateJWTFrom(projectID, token string, err error, o Origin) (*ProjectCaller, error) {
	var c *ProjectCaller
	if err == nil {
		c, err = v.AuthenticateJWT(projectID, token)
	}
	var je *jwtauth.Error
	if err == nil || !errors.As(err, &je) {
		return c, err
	}
	tenant := audit.VaultLog
	if t := v.JWTRefusalTenant(projectID); t != "" {
		tenant = t
	}
	v.AuditAsync(refusal(o, tenant, EntityAuthentication, projectID, "Authentication failed: "+je.Message))
	return nil, err
}

// AuditDenied records a denied permission check of an authenticated caller.
func (v *Vault) AuditDenied(tenantID, actorID, actorType string, o Origin, detail string) {
	e := refusal(o, tenantID, EntityPermission, o.Request, "Permission denied: "+detail)
	e.ActorID, e.ActorType = actorID, actorType
	v.AuditAsync(e)
}

// ExportAudit writes audit entries created at or after since as NDJSON:
// one tenant's log, the vault log (tenant "vault"), or every log (tenant "").
func (v *Vault) ExportAudit(w io.Writer, tenant string, since time.Time) error {
	all := tenant == ""
	if tenant == "vault" {
		tenant = audit.VaultLog
	}
	return audit.Export(v.Store(), all, tenant, since, func(e json.RawMessage) error {
		_, err := w.Write(append(e, '\n'))
		return err
	})
}

// retiredLogKey marks the audit log of a deleted tenant, kept for the
// retention; its value is the deletion time in Unix nanoseconds.
func retiredLogKey(tenantID string) []byte { return store.Key(kernel.RetiredLogIndex, tenantID) }

// retireTenantLog keeps a deleted tenant's audit log, with an entry of the
// deletion, for the retention (erased at once when there is none).
func (v *Vault) retireTenantLog(b store.Batch, tenantID string, t time.Time) {
	if v.AuditRetention < 0 {
		audit.DeleteTenant(b, tenantID)
		return
	}
	audit.Append(b, kernel.LogEntry(nil, tenantID, "tenant", tenantID, "delete", "Tenant deleted", t))
	b.Set(retiredLogKey(tenantID), strconv.AppendInt(nil, t.UnixNano(), 10))
}

// purgeAudit erases the logs of tenants deleted longer ago than the
// retention, and vault-log entries older than it.
func (v *Vault) purgeAudit() error {
	keep := v.AuditRetention
	if keep <= 0 {
		keep = DefaultAuditRetention
	}
	cutoff := kernel.Now().Add(-keep)
	b := v.Store().NewBatch()
	defer b.Close()
	err := v.Store().Scan(store.Prefix(kernel.RetiredLogIndex), nil, func(k, val []byte) bool {
		ns, err := strconv.ParseInt(string(val), 10, 64)
		if err == nil && time.Unix(0, ns).Before(cutoff) {
			audit.DeleteTenant(b, string(k[len(kernel.RetiredLogIndex)+1:]))
			b.Delete(k)
		}
		return true
	})
	if err != nil {
		return err
	}
	if _, err := audit.DeleteBefore(v.Store(), b, audit.VaultLog, cutoff, 10_000); err != nil {
		return err
	}
	if b.Empty() {
		return nil
	}
	return b.Commit()
}
