package projects

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Projects (seed 000) hold the RSA public keys that sign the project-scoped
// JWTs. A project belongs to a tenant and its id is unique within the
// tenant only: another tenant may hold the same id, and no answer to one
// tenant depends on another's projects. The URL `/projects/{projectId}/...`
// of a JWT call names no tenant, so a global index lists the tenants holding
// each id, and the JWT's key decides: the one tenant whose key of that
// project verifies the token (jwtauth.Validator.ValidateOne).

func projectRecordKey(tenantID, id string) []byte {
	return store.Key(kernel.ProjectCollection, tenantID, id)
}
func projectKeyKey(tenantID, id, kid string) []byte {
	return store.Key(kernel.ProjectKeyIndex, tenantID, id, kid)
}

// Project is a seed-000 project.
type Project struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	kernel.Audited
}

// ProjectRequest is the body of POST and PUT /projects. ID is optional on
// create (a UUID is generated); seed 000's ids look like `project-abc123`.
type ProjectRequest struct {
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

// ProjectKey is one registered verification key of a project. PrivateKey
// is set only in the response that generated the key pair: the vault never
// stores it.
type ProjectKey struct {
	Kid        string `json:"kid"`
	ProjectID  string `json:"project_id"`
	TenantID   string `json:"tenant_id"`
	Algorithm  string `json:"alg"`
	Bits       int    `json:"bits"`
	Thumbprint string `json:"thumbprint"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key,omitempty"`
	kernel.Audited
}

// ProjectKeyRequest registers keys: exactly one of PublicKey (PEM, with
// Kid), JWKS (a JWK Set, or one JWK; Kid names a single key without one)
// or Generate (a new key pair under Kid, private key returned once).
type ProjectKeyRequest struct {
	Kid       string          `json:"kid"`
	PublicKey string          `json:"public_key"`
	JWKS      json.RawMessage `json:"jwks"`
	Generate  bool            `json:"generate"`
}

var (
	projectIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	kidPattern       = regexp.MustCompile(`^[A-Za-z0-9_.:@+=~-]{1,128}$`)
)

// projectState is a cache, by project id, of the tenants holding it and
// their parsed keys, so a request never parses a key. Any change to projects
// or keys invalidates
// the cache.
type projectState struct {
	mu      sync.RWMutex
	gen     uint64
	entries map[string][]*projectEntry

	keyRegistry sync.Mutex // project_index.go: one tenant per public key
}

type projectEntry struct {
	tenantID string
	keys     *jwtauth.KeySet
}

// DefaultCVCRetention is how long a payment method's cvc is kept when
// Options.CVCRetention is zero.
const DefaultCVCRetention = time.Hour

func (s *projectState) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.entries = nil
}

// project returns the cached entries of a project id, one per tenant
// holding it, loading them on a miss; none when no tenant has it.
func (v *Service) project(id string) ([]*projectEntry, error) {
	s := &v.Projects
	s.mu.RLock()
	es, ok := s.entries[id]
	gen := s.gen
	s.mu.RUnlock()
	if ok && v.Fresh() { // feedcache.go
		return es, nil
	}
	tenants, err := v.projectTenants(id)
	if err != nil || len(tenants) == 0 {
		return nil, err // unknown ids are not cached: callers choose them
	}
	es = make([]*projectEntry, 0, len(tenants))
	for _, tenantID := range tenants {
		keys, err := v.loadProjectKeys(tenantID, id)
		if err != nil {
			return nil, err
		}
		parsed := make(map[string]*rsa.PublicKey, len(keys))
		for _, k := range keys {
			pub, err := jwtauth.ParsePublicKeyPEM([]byte(k.PublicKey))
			if err != nil {
				return nil, fmt.Errorf("project %s key %s: %w", id, k.Kid, err)
			}
			parsed[k.Kid] = pub
		}
		es = append(es, &projectEntry{tenantID: tenantID, keys: jwtauth.NewKeySet(parsed)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen { // no change raced with this load
		if s.entries == nil {
			s.entries = map[string][]*projectEntry{}
		}
		s.entries[id] = es
	}
	return es, nil
}

func (v *Service) loadProject(tenantID, id string) (*Project, error) {
	if !projectIDPattern.MatchString(id) {
		return nil, problem.NotFound("Project")
	}
	return kernel.Load[Project](v.Store(), projectRecordKey(tenantID, id), "Project")
}

type projectKeyRecord struct {
	Kid        string `json:"kid"`
	ProjectID  string `json:"project_id"`
	TenantID   string `json:"tenant_id"`
	Bits       int    `json:"bits"`
	Thumbprint string `json:"thumbprint"`
	PublicKey  string `json:"public_key"`
	kernel.Audited
}

func (k projectKeyRecord) public() ProjectKey {
	return ProjectKey{Kid: k.Kid, ProjectID: k.ProjectID, TenantID: k.TenantID, Algorithm: jwtauth.Algorithm.String(),
		Bits: k.Bits, Thumbprint: k.Thumbprint, PublicKey: k.PublicKey, Audited: k.Audited}
}

func (v *Service) loadProjectKeys(tenantID, id string) ([]projectKeyRecord, error) {
	return kernel.LoadAll[projectKeyRecord](v.Store(), store.Prefix(kernel.ProjectKeyIndex, tenantID, id), nil)
}

// projectLog is the audit entry of an operator (p nil) or API-key action
// on a project.
func projectLog(p *access.Principal, tenantID, projectID, op, msg string, ts time.Time) audit.Entry {
	return kernel.LogEntry(p, tenantID, "project", projectID, op, msg, ts)
}

// CreateProject creates a project in the caller's tenant.
func (v *Service) CreateProject(p *access.Principal, req ProjectRequest) (*Project, error) {
	if err := kernel.Require(p, "project:create"); err != nil {
		return nil, err
	}
	return v.createProject(p, p.TenantID, req)
}

// OperatorCreateProject creates a project in a tenant (CLI). An empty
// tenantID means the only tenant.
func (v *Service) OperatorCreateProject(tenantID string, req ProjectRequest) (*Project, error) {
	tenantID, err := v.operatorTenant(tenantID)
	if err != nil {
		return nil, err
	}
	return v.createProject(nil, tenantID, req)
}

func (v *Service) operatorTenant(id string) (string, error) {
	if id != "" {
		if _, err := v.Tenant(id); err != nil {
			return "", err
		}
		return id, nil
	}
	tenants, err := v.Tenants()
	if err != nil {
		return "", err
	}
	if len(tenants) != 1 {
		return "", problem.Invalid("tenant", fmt.Sprintf("There are %d tenants: name one with --tenant.", len(tenants)))
	}
	return tenants[0].ID, nil
}

func (v *Service) createProject(p *access.Principal, tenantID string, req ProjectRequest) (*Project, error) {
	f := problem.Fields{}
	if req.Name == nil {
		name := "Project"
		req.Name = &name
	}
	kernel.ValidateName(f, req.Name)
	id := kernel.Deref(req.ID)
	if id == "" {
		id = kernel.NewID()
	} else if !projectIDPattern.MatchString(id) {
		f.Add("id", "The id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	defer v.Locks.Lock("project", tenantID, id)()
	if _, err := v.Store().Get(projectRecordKey(tenantID, id)); err == nil {
		return nil, problem.Conflict("A project with the id '" + id + "' already exists.")
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	ts := kernel.Now()
	proj := &Project{ID: id, TenantID: tenantID, Name: *req.Name}
	proj.Created(p, ts)
	b := v.Store().NewBatch()
	b.Set(projectTenantKey(id, tenantID), nil)
	kernel.ClaimNew(b, projectRecordKey(tenantID, id), proj) // another node may create the id at once
	clearProject(b, tenantID, id)                            // a new project starts empty, whatever raced its predecessor's delete
	if err := v.Commit(b, projectLog(p, tenantID, id, "create", "Project created", ts)); errors.Is(err, store.ErrConflict) {
		return nil, problem.Conflict("A project with the id '" + id + "' already exists.")
	} else if err != nil {
		return nil, err
	}
	v.Projects.Invalidate()
	return proj, nil
}

// GetProject returns one project of the caller's tenant.
func (v *Service) GetProject(p *access.Principal, id string) (*Project, error) {
	if err := kernel.Require(p, "project:read"); err != nil {
		return nil, err
	}
	return v.loadProject(p.TenantID, id)
}

// ListProjects lists the caller's projects by id.
func (v *Service) ListProjects(p *access.Principal, pg kernel.Page) (kernel.Paginated[Project], error) {
	if err := kernel.Require(p, "project:read"); err != nil {
		return kernel.Paginated[Project]{}, err
	}
	all, err := v.projectsOf(p.TenantID)
	return kernel.PageOf(all, pg), err
}

// OperatorListProjects lists the projects of a tenant, or of every tenant
// when tenantID is empty (CLI).
func (v *Service) OperatorListProjects(tenantID string) ([]Project, error) {
	if tenantID != "" {
		return v.projectsOf(tenantID)
	}
	tenants, err := v.Tenants()
	if err != nil {
		return nil, err
	}
	var out []Project
	for _, t := range tenants {
		ps, err := v.projectsOf(t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func (v *Service) projectsOf(tenantID string) ([]Project, error) {
	return kernel.LoadAll[Project](v.Store(), store.Prefix(kernel.ProjectCollection, tenantID), nil)
}

// UpdateProject renames a project.
func (v *Service) UpdateProject(p *access.Principal, id string, req ProjectRequest) (*Project, error) {
	if err := kernel.Require(p, "project:update"); err != nil {
		return nil, err
	}
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	if req.ID != nil && *req.ID != id {
		f.Add("id", "The id of a project cannot be changed.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	defer v.Locks.Lock("project", p.TenantID, id)()
	proj, err := v.loadProject(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	ts := kernel.Now()
	proj.Name = *req.Name
	proj.Modified(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, projectRecordKey(proj.TenantID, id), proj)
	return proj, v.Commit(b, projectLog(p, proj.TenantID, id, "update", "Project updated", ts))
}

// DeleteProject removes a project, its keys and its payment methods; its
// tokens stop authenticating at once.
func (v *Service) DeleteProject(p *access.Principal, id string) error {
	if err := kernel.Require(p, "project:delete"); err != nil {
		return err
	}
	defer v.Locks.Lock("project", p.TenantID, id)()
	proj, err := v.loadProject(p.TenantID, id)
	if err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Delete(projectTenantKey(id, proj.TenantID))
	b.Delete(projectRecordKey(proj.TenantID, id))
	clearProject(b, proj.TenantID, id)
	if err := v.Commit(b, projectLog(p, proj.TenantID, id, "delete", "Project deleted", ts)); err != nil {
		return err
	}
	v.Projects.Invalidate()
	return nil
}
