package vault

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/projects"
	"github.com/strongroom/strongroom/vault/store"
)

const projTestMgmtKey = "key_ProjectTestManagementKey12345"

var projTestMaster = bytes.Repeat([]byte{0x24}, 32)

// projVault opens a vault on a temporary Pebble store and returns it with
// its bootstrap management principal; the test's cleanup closes it.
func projVault(t *testing.T, s Settings) (*Vault, *access.Principal) {
	t.Helper()
	v, p := projVaultAt(t, t.TempDir(), s)
	t.Cleanup(func() { v.Close() })
	return v, p
}

// projVaultAt opens the vault in dir; the caller closes it.
func projVaultAt(t *testing.T, dir string, s Settings) (*Vault, *access.Principal) {
	t.Helper()
	v, err := openView(Options{DataDir: dir, MasterKey: projTestMaster, ManagementKey: projTestMgmtKey}, s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(projTestMgmtKey)
	if err != nil {
		v.Close()
		t.Fatal(err)
	}
	return v, p
}

// projectWithKey creates a project and generates a key for it, returning
// the private key PEM.
func projectWithKey(t *testing.T, v *Vault, p *access.Principal, id, kid string) string {
	t.Helper()
	name := "Project " + id
	if _, err := v.CreateProject(p, ProjectRequest{ID: &id, Name: &name}); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	keys, err := v.AddProjectKeys(p, id, ProjectKeyRequest{Kid: kid, Generate: true})
	if err != nil {
		t.Fatalf("AddProjectKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].PrivateKey == "" {
		t.Fatalf("generated key: %+v", keys)
	}
	return keys[0].PrivateKey
}

// mintJWT signs seed 000's claims with a PKCS #8 private key.
func mintJWT(t *testing.T, privPEM, kid, iss, sub string, roles []string, iat time.Time) string {
	t.Helper()
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil {
		t.Fatal("private key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.NewBuilder().Subject(sub).Issuer(iss).IssuedAt(iat).Expiration(iat.Add(time.Hour)).
		Claim("roles", roles).Build()
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func wantCheck(t *testing.T, err error, c jwtauth.Check) {
	t.Helper()
	var e *jwtauth.Error
	if !errors.As(err, &e) || e.Check != c {
		t.Fatalf("want the %s check to fail, got %v", c, err)
	}
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	if !problem.Is(err, status) {
		t.Fatalf("want %d, got %v", status, err)
	}
}

func TestProjectManagement(t *testing.T) {
	v, mgmt := projVault(t, Settings{})
	id, name := "project-abc123", "Checkout"
	proj, err := v.CreateProject(mgmt, ProjectRequest{ID: &id, Name: &name})
	if err != nil || proj.ID != id || proj.TenantID != mgmt.TenantID || proj.CreatedAt == nil {
		t.Fatalf("CreateProject: %+v %v", proj, err)
	}
	_, err = v.CreateProject(mgmt, ProjectRequest{ID: &id, Name: &name})
	wantStatus(t, err, 409)
	bad := "bad/id"
	_, err = v.CreateProject(mgmt, ProjectRequest{ID: &bad, Name: &name})
	wantStatus(t, err, 400)
	generated, err := v.CreateProject(mgmt, ProjectRequest{Name: &name})
	if err != nil || !uuidLike(generated.ID) {
		t.Fatalf("generated id: %+v %v", generated, err)
	}
	list, err := v.ListProjects(mgmt, Page{Number: 1, Size: 10})
	if err != nil || list.Pagination.TotalItems != 2 {
		t.Fatalf("ListProjects: %+v %v", list, err)
	}
	renamed := "Renamed"
	if p, err := v.UpdateProject(mgmt, id, ProjectRequest{Name: &renamed}); err != nil || p.Name != renamed {
		t.Fatalf("UpdateProject: %+v %v", p, err)
	}

	// Keys: PEM, JWKS, generated; duplicates and private keys refused.
	privPEM := projectWithKeyOn(t, v, mgmt, id, "key-1")
	pubPEM := publicPEMOf(t, privPEM)
	if _, err := v.AddProjectKeys(mgmt, id, ProjectKeyRequest{Kid: "key-1", PublicKey: pubPEM}); !problem.Is(err, 409) {
		t.Fatalf("duplicate kid: %v", err)
	}
	if _, err := v.AddProjectKeys(mgmt, id, ProjectKeyRequest{Kid: "key-2", PublicKey: pubPEM}); err != nil {
		t.Fatalf("PEM key: %v", err)
	}
	if _, err := v.AddProjectKeys(mgmt, id, ProjectKeyRequest{Kid: "key-x", PublicKey: privPEM}); !problem.Is(err, 400) || strings.Contains(err.Error(), "MII") {
		t.Fatalf("private key as PEM: %v", err)
	}
	pub, _ := jwtauth.ParsePublicKeyPEM([]byte(pubPEM))
	j, _ := jwtauth.PublicJWK("key-3", pub)
	set, _ := json.Marshal(map[string]any{"keys": []any{j}})
	if ks, err := v.AddProjectKeys(mgmt, id, ProjectKeyRequest{JWKS: set}); err != nil || len(ks) != 1 || ks[0].Kid != "key-3" || ks[0].PrivateKey != "" {
		t.Fatalf("JWKS: %+v %v", ks, err)
	}
	if _, err := v.AddProjectKeys(mgmt, id, ProjectKeyRequest{Kid: "k", PublicKey: pubPEM, Generate: true}); !problem.Is(err, 400) {
		t.Fatalf("two sources: %v", err)
	}
	keys, err := v.ListProjectKeys(mgmt, id)
	if err != nil || len(keys) != 3 {
		t.Fatalf("ListProjectKeys: %+v %v", keys, err)
	}
	for _, k := range keys {
		if k.PrivateKey != "" || k.Algorithm != "RS256" || k.Thumbprint == "" || k.Bits != 2048 {
			t.Fatalf("listed key %+v", k)
		}
	}

	// Permissions: a private application manages no project.
	name2, typ := "backend", access.TypePrivate
	app, err := v.CreateApplication(mgmt, ApplicationRequest{Name: &name2, Type: &typ, Permissions: []string{"payment_method:read"}})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := v.Authenticate(app.Key)
	if _, err := v.CreateProject(priv, ProjectRequest{Name: &name}); !problem.Is(err, 403) {
		t.Fatalf("private app creates a project: %v", err)
	}
	if _, err := v.AddProjectKeys(priv, id, ProjectKeyRequest{Kid: "z", Generate: true}); !problem.Is(err, 403) {
		t.Fatalf("private app adds a key: %v", err)
	}

	// Another tenant sees none of it.
	_, otherApp, err := v.CreateTenant("Other", TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := v.Authenticate(otherApp.Key)
	if _, err := v.GetProject(other, id); !problem.Is(err, 404) {
		t.Fatalf("other tenant reads the project: %v", err)
	}
	if _, err := v.AddProjectKeys(other, id, ProjectKeyRequest{Kid: "evil", PublicKey: pubPEM}); !problem.Is(err, 404) {
		t.Fatalf("other tenant adds a key: %v", err)
	}
	// Ids are per tenant: the other tenant may use the same one (no 409
	// telling it the id exists elsewhere), once.
	if _, err := v.CreateProject(other, ProjectRequest{ID: &id, Name: &name}); err != nil {
		t.Fatalf("another tenant's project id is refused: %v", err)
	}
	if _, err := v.CreateProject(other, ProjectRequest{ID: &id, Name: &name}); !problem.Is(err, 409) {
		t.Fatalf("a duplicate id within the tenant: %v", err)
	}
	if err := v.DeleteProject(other, id); err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetProject(mgmt, id); err != nil {
		t.Fatalf("another tenant's delete of the same id removed this one: %v", err)
	}

	if err := v.DeleteProject(mgmt, id); err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetProject(mgmt, id); !problem.Is(err, 404) {
		t.Fatalf("deleted project: %v", err)
	}
}

func projectWithKeyOn(t *testing.T, v *Vault, p *access.Principal, id, kid string) string {
	t.Helper()
	keys, err := v.AddProjectKeys(p, id, ProjectKeyRequest{Kid: kid, Generate: true})
	if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0].PrivateKey, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("generate: %+v %v", keys, err)
	}
	return keys[0].PrivateKey
}

func publicPEMOf(t *testing.T, privPEM string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(privPEM))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.(crypto.Signer).Public())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func uuidLike(s string) bool { return len(s) == 36 && strings.Count(s, "-") == 4 }

// TestJWTAuthentication drives AuthenticateJWT through key rotation,
// removal, project and tenant deletion, and cross-project use.
func TestJWTAuthentication(t *testing.T) {
	v, mgmt := projVault(t, Settings{})
	key1 := projectWithKey(t, v, mgmt, "project-a", "key-1")
	key2 := projectWithKeyOn(t, v, mgmt, "project-a", "key-2")
	otherPriv := projectWithKey(t, v, mgmt, "project-b", "key-1")
	ts := kernel.Now()

	tok1 := mintJWT(t, key1, "key-1", "project-a", "user-1", []string{"private"}, ts)
	tok2 := mintJWT(t, key2, "key-2", "project-a", "user-1", []string{"private"}, ts)
	for _, tok := range []string{tok1, tok2, tok1} { // the second tok1 is a cache hit
		c, err := v.AuthenticateJWT("project-a", tok)
		if err != nil || c.TenantID != mgmt.TenantID || c.Claims.Subject != "user-1" {
			t.Fatalf("AuthenticateJWT: %+v %v", c, err)
		}
	}
	// A token of project-b (same kid name, its own key) never opens project-a,
	// and project-a's token never opens project-b.
	tokB := mintJWT(t, otherPriv, "key-1", "project-b", "user-1", []string{"private"}, ts)
	_, err := v.AuthenticateJWT("project-a", tokB)
	wantCheck(t, err, jwtauth.CheckSignature)
	_, err = v.AuthenticateJWT("project-b", tok1)
	wantCheck(t, err, jwtauth.CheckSignature)
	forged := mintJWT(t, otherPriv, "key-1", "project-a", "user-1", []string{"private"}, ts)
	_, err = v.AuthenticateJWT("project-a", forged)
	wantCheck(t, err, jwtauth.CheckSignature)
	_, err = v.AuthenticateJWT("project-nope", tok1)
	wantCheck(t, err, jwtauth.CheckKeyID)

	// Removing key-1 rejects its tokens at once; key-2 keeps working.
	if err := v.RemoveProjectKey(mgmt, "project-a", "key-1"); err != nil {
		t.Fatal(err)
	}
	_, err = v.AuthenticateJWT("project-a", tok1)
	wantCheck(t, err, jwtauth.CheckKeyID)
	if _, err := v.AuthenticateJWT("project-a", tok2); err != nil {
		t.Fatalf("remaining key: %v", err)
	}
	if err := v.RemoveProjectKey(mgmt, "project-a", "key-1"); !problem.Is(err, 404) {
		t.Fatalf("removing twice: %v", err)
	}

	// Deleting the project, then the tenant, rejects what is left.
	if err := v.DeleteProject(mgmt, "project-a"); err != nil {
		t.Fatal(err)
	}
	_, err = v.AuthenticateJWT("project-a", tok2)
	wantCheck(t, err, jwtauth.CheckKeyID)
	if _, err := v.AuthenticateJWT("project-b", tokB); err != nil {
		t.Fatal(err)
	}
	if err := v.DeleteTenant(mgmt); err != nil {
		t.Fatal(err)
	}
	_, err = v.AuthenticateJWT("project-b", tokB)
	wantCheck(t, err, jwtauth.CheckKeyID)
}

// TestJWTLeewayOption: Options.JWTLeeway reaches the validator.
func TestJWTLeewayOption(t *testing.T) {
	v, mgmt := projVault(t, Settings{JWTLeeway: -1})
	priv := projectWithKey(t, v, mgmt, "project-a", "k")
	tok := mintJWT(t, priv, "k", "project-a", "u", []string{"private"}, kernel.Now().Add(5*time.Second))
	_, err := v.AuthenticateJWT("project-a", tok)
	wantCheck(t, err, jwtauth.CheckIssuedAt)

	v2, mgmt2 := projVault(t, Settings{})
	priv2 := projectWithKey(t, v2, mgmt2, "project-a", "k")
	tok2 := mintJWT(t, priv2, "k", "project-a", "u", []string{"private"}, kernel.Now().Add(5*time.Second))
	if _, err := v2.AuthenticateJWT("project-a", tok2); err != nil {
		t.Fatalf("default leeway: %v", err)
	}
}

// projectLogs flushes the read-audit queue by reopening and lists entries.
func projectLogs(t *testing.T, v *Vault, p *access.Principal, entityType string) []audit.Entry {
	t.Helper()
	pg, err := v.ListLogs(p, audit.Filter{EntityType: entityType}, Page{Number: 1, Size: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	return pg.Data
}

// storeContains reports whether any stored key or value holds s.
func storeContains(t *testing.T, s store.Store, needle string) bool {
	t.Helper()
	found := false
	if err := s.Scan(nil, nil, func(k, val []byte) bool {
		found = bytes.Contains(k, []byte(needle)) || bytes.Contains(val, []byte(needle))
		return !found
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// TestJWTProjectIDPerTenant: two tenants each hold project "shared"; a JWT
// opens the tenant whose key of that project verifies it, never the other,
// and a token that verifies with keys of both is refused.
func TestJWTProjectIDPerTenant(t *testing.T) {
	v, mgmtA := projVault(t, Settings{})
	_, appB, err := v.CreateTenant("B", TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	mgmtB, _ := v.Authenticate(appB.Key)
	privA := projectWithKey(t, v, mgmtA, "shared", "k")
	privB := projectWithKey(t, v, mgmtB, "shared", "k")
	ts := kernel.Now()
	for _, c := range []struct {
		priv   string
		tenant string
	}{{privA, mgmtA.TenantID}, {privB, mgmtB.TenantID}} {
		got, err := v.AuthenticateJWT("shared", mintJWT(t, c.priv, "k", "shared", "user-1", []string{"private"}, ts))
		if err != nil || got.TenantID != c.tenant {
			t.Fatalf("JWT of tenant %s: %+v, %v", c.tenant, got, err)
		}
	}
	// A claim check of the tenant whose key verified the token is the answer,
	// not the other tenant's signature mismatch.
	expired := mintJWT(t, privA, "k", "shared", "user-1", []string{"private"}, ts.Add(-2*time.Hour))
	_, err = v.AuthenticateJWT("shared", expired)
	wantCheck(t, err, jwtauth.CheckExpiry)

	// A public key belongs to one tenant: B cannot register A's (public keys
	// can be recovered from signatures) to make A's tokens ambiguous, under
	// any kid; A may reuse it; once A holds it no more, B may.
	pubA := publicPEMOf(t, privA)
	for _, kid := range []string{"k", "copy"} {
		if _, err := v.AddProjectKeys(mgmtB, "shared", ProjectKeyRequest{Kid: kid + "2", PublicKey: pubA}); !problem.Is(err, 409) {
			t.Fatalf("B registers A's public key: %v", err)
		}
	}
	if c, err := v.AuthenticateJWT("shared", mintJWT(t, privA, "k", "shared", "user-1", []string{"private"}, ts)); err != nil || c.TenantID != mgmtA.TenantID {
		t.Fatalf("A's token after B's attempts: %+v, %v", c, err)
	}
	if _, err := v.AddProjectKeys(mgmtA, "shared", ProjectKeyRequest{Kid: "k-renamed", PublicKey: pubA}); err != nil {
		t.Fatalf("A reuses its own key: %v", err)
	}
	for _, kid := range []string{"k", "k-renamed"} {
		if err := v.RemoveProjectKey(mgmtA, "shared", kid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.AddProjectKeys(mgmtB, "shared", ProjectKeyRequest{Kid: "k2", PublicKey: pubA}); err != nil {
		t.Fatalf("a key A no longer holds: %v", err)
	}
	// Deleting B's project releases it again.
	if err := v.DeleteProject(mgmtB, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddProjectKeys(mgmtA, "shared", ProjectKeyRequest{Kid: "back", PublicKey: pubA}); err != nil {
		t.Fatalf("a deleted project's public key: %v", err)
	}
}

// A project re-created under a deleted one's id starts empty: no key or
// payment method of its predecessor survives.
func TestRecreatedProjectStartsEmpty(t *testing.T) {
	v, mgmt := projVault(t, Settings{})
	priv := projectWithKey(t, v, mgmt, "again", "k")
	// What a key registration racing the delete would leave behind.
	b := v.Store().NewBatch()
	b.Set(store.Key(kernel.ProjectKeyIndex, mgmt.TenantID, "again", "late"), []byte(`{"kid":"late","public_key":"x"}`))
	if err := v.DeleteProject(mgmt, "again"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	name := "again"
	if _, err := v.CreateProject(mgmt, ProjectRequest{ID: &name, Name: &name}); err != nil {
		t.Fatal(err)
	}
	if keys, err := v.ListProjectKeys(mgmt, "again"); err != nil || len(keys) != 0 {
		t.Fatalf("re-created project holds keys: %+v, %v", keys, err)
	}
	_, err := v.AuthenticateJWT("again", mintJWT(t, priv, "k", "again", "user-1", []string{"private"}, kernel.Now()))
	wantCheck(t, err, jwtauth.CheckKeyID)
}

// TestProjectIndexUpgrade: a store written with global project pointers
// opens with per-tenant project ids, and its JWTs still authenticate.
func TestProjectIndexUpgrade(t *testing.T) {
	dir := t.TempDir()
	v, mgmt := projVaultAt(t, dir, Settings{})
	priv := projectWithKey(t, v, mgmt, "legacy", "k")
	// Rewrite the index as the earlier layout had it.
	b := v.Store().NewBatch()
	b.Delete(projects.ProjectIndexEntry("legacy", mgmt.TenantID))
	b.Set(store.Key(kernel.LegacyProjectPointer, "legacy"), []byte(`{"tenant_id":"`+mgmt.TenantID+`"}`))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	v.Close()

	v, mgmt = projVaultAt(t, dir, Settings{})
	defer v.Close()
	if storeContains(t, v.Store(), kernel.LegacyProjectPointer+"\x00") {
		t.Fatal("the legacy pointer survived the upgrade")
	}
	c, err := v.AuthenticateJWT("legacy", mintJWT(t, priv, "k", "legacy", "user-1", []string{"private"}, kernel.Now()))
	if err != nil || c.TenantID != mgmt.TenantID {
		t.Fatalf("JWT after upgrade: %+v, %v", c, err)
	}
}
