package projects

import (
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// A project's verification keys: registered (PEM, JWKS or generated),
// listed and removed by the tenant's management keys or the operator.

// AddProjectKeys registers verification keys for a project of the
// caller's tenant (see ProjectKeyRequest).
func (v *Service) AddProjectKeys(p *access.Principal, projectID string, req ProjectKeyRequest) ([]ProjectKey, error) {
	if err := kernel.Require(p, "project:update"); err != nil {
		return nil, err
	}
	if _, err := v.loadProject(p.TenantID, projectID); err != nil {
		return nil, err
	}
	return v.addProjectKeys(p, p.TenantID, projectID, req)
}

// OperatorAddProjectKeys is AddProjectKeys for the CLI (tenantID may be
// empty when one tenant holds the project id).
func (v *Service) OperatorAddProjectKeys(tenantID, projectID string, req ProjectKeyRequest) ([]ProjectKey, error) {
	tenantID, err := v.operatorProject(tenantID, projectID)
	if err != nil {
		return nil, err
	}
	return v.addProjectKeys(nil, tenantID, projectID, req)
}

// operatorProject finds the tenant of a project id for the CLI: the given
// one, which must hold it, or else the one tenant holding it.
func (v *Service) operatorProject(tenantID, id string) (string, error) {
	if tenantID != "" {
		_, err := v.loadProject(tenantID, id)
		return tenantID, err
	}
	tenants, err := v.projectTenants(id)
	switch {
	case err != nil:
		return "", err
	case len(tenants) == 0:
		return "", problem.NotFound("Project")
	case len(tenants) > 1:
		return "", problem.Invalid("tenant", fmt.Sprintf("%d tenants hold a project with this id: name one with --tenant.", len(tenants)))
	}
	return tenants[0], nil
}

func (v *Service) addProjectKeys(p *access.Principal, tenantID, projectID string, req ProjectKeyRequest) ([]ProjectKey, error) {
	keys, privatePEM, err := parseKeyRequest(req)
	if err != nil {
		return nil, err
	}
	defer v.Locks.Lock("project", tenantID, projectID)()
	// The project may have been deleted since the caller's check: keys
	// written now would come back to life with a project of the same id.
	if _, err := v.loadProject(tenantID, projectID); err != nil {
		return nil, err
	}
	defer v.Projects.lockKeyRegistry()()
	ts := kernel.Now()
	b := v.Store().NewBatch()
	out := make([]ProjectKey, 0, len(keys))
	for kid, pub := range keys {
		if _, err := v.Store().Get(projectKeyKey(tenantID, projectID, kid)); err == nil {
			b.Close()
			return nil, problem.Conflict("The project already has a key with the kid '" + kid + "'; remove it first to replace it.")
		} else if !errors.Is(err, store.ErrNotFound) {
			b.Close()
			return nil, err
		}
		rec := projectKeyRecord{Kid: kid, ProjectID: projectID, TenantID: tenantID, Bits: pub.N.BitLen(),
			Thumbprint: jwtauth.Thumbprint(pub), PublicKey: jwtauth.EncodePublicKeyPEM(pub)}
		if err := v.claimPublicKey(b, rec); err != nil {
			b.Close()
			return nil, err
		}
		rec.Created(p, ts)
		kernel.SetJSON(b, projectKeyKey(tenantID, projectID, kid), rec)
		k := rec.public()
		k.PrivateKey = privatePEM
		out = append(out, k)
	}
	if err := v.Commit(b, projectLog(p, tenantID, projectID, "update", fmt.Sprintf("Project key(s) registered (%d)", len(out)), ts)); err != nil {
		return nil, err
	}
	v.Projects.Invalidate()
	return out, nil
}

// parseKeyRequest turns a key request into parsed public keys by kid (and
// the private key PEM of a generated pair).
func parseKeyRequest(req ProjectKeyRequest) (map[string]*rsa.PublicKey, string, error) {
	hasJWKS := len(req.JWKS) > 0 && string(req.JWKS) != "null"
	n := 0
	for _, set := range []bool{req.PublicKey != "", hasJWKS, req.Generate} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, "", problem.Invalid("public_key", "Give exactly one of public_key (PEM), jwks or generate.")
	}
	if req.Kid != "" && !kidPattern.MatchString(req.Kid) {
		return nil, "", problem.Invalid("kid", "The kid must be 1 to 128 letters, digits or _.:@+=~-.")
	}
	keyProblem := func(field string, err error) error {
		var ke *jwtauth.KeyError
		if errors.As(err, &ke) {
			return problem.Invalid(field, "The key is not accepted: "+ke.Message+".")
		}
		return err
	}
	switch {
	case hasJWKS:
		keys, err := jwtauth.ParseJWKS(req.JWKS, req.Kid)
		if err != nil {
			return nil, "", keyProblem("jwks", err)
		}
		for kid := range keys {
			if !kidPattern.MatchString(kid) {
				return nil, "", problem.Invalid("jwks", "A kid of the JWKS is not accepted: use 1 to 128 letters, digits or _.:@+=~-.")
			}
		}
		return keys, "", nil
	case req.Kid == "":
		return nil, "", problem.Invalid("kid", "The kid field is required.")
	case req.Generate:
		pub, priv, err := jwtauth.GenerateKey()
		if err != nil {
			return nil, "", err
		}
		return map[string]*rsa.PublicKey{req.Kid: pub}, priv, nil
	default:
		pub, err := jwtauth.ParsePublicKeyPEM([]byte(req.PublicKey))
		if err != nil {
			return nil, "", keyProblem("public_key", err)
		}
		return map[string]*rsa.PublicKey{req.Kid: pub}, "", nil
	}
}

// ListProjectKeys lists a project's keys.
func (v *Service) ListProjectKeys(p *access.Principal, projectID string) ([]ProjectKey, error) {
	if err := kernel.Require(p, "project:read"); err != nil {
		return nil, err
	}
	if _, err := v.loadProject(p.TenantID, projectID); err != nil {
		return nil, err
	}
	return v.listProjectKeys(p.TenantID, projectID)
}

// OperatorListProjectKeys is ListProjectKeys for the CLI.
func (v *Service) OperatorListProjectKeys(tenantID, projectID string) ([]ProjectKey, error) {
	tenantID, err := v.operatorProject(tenantID, projectID)
	if err != nil {
		return nil, err
	}
	return v.listProjectKeys(tenantID, projectID)
}

func (v *Service) listProjectKeys(tenantID, projectID string) ([]ProjectKey, error) {
	recs, err := v.loadProjectKeys(tenantID, projectID)
	out := make([]ProjectKey, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.public())
	}
	return out, err
}

// RemoveProjectKey deletes one key; tokens signed with it are rejected from
// the moment this returns, while the project's other keys keep working.
func (v *Service) RemoveProjectKey(p *access.Principal, projectID, kid string) error {
	if err := kernel.Require(p, "project:update"); err != nil {
		return err
	}
	if _, err := v.loadProject(p.TenantID, projectID); err != nil {
		return err
	}
	return v.removeProjectKey(p, p.TenantID, projectID, kid)
}

// OperatorRemoveProjectKey is RemoveProjectKey for the CLI.
func (v *Service) OperatorRemoveProjectKey(tenantID, projectID, kid string) error {
	tenantID, err := v.operatorProject(tenantID, projectID)
	if err != nil {
		return err
	}
	return v.removeProjectKey(nil, tenantID, projectID, kid)
}

func (v *Service) removeProjectKey(p *access.Principal, tenantID, projectID, kid string) error {
	defer v.Locks.Lock("project", tenantID, projectID)()
	if !kidPattern.MatchString(kid) {
		return problem.NotFound("Project key")
	}
	key := projectKeyKey(tenantID, projectID, kid)
	if _, err := v.Store().Get(key); errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("Project key")
	} else if err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Delete(key)
	if err := v.Commit(b, projectLog(p, tenantID, projectID, "update", "Project key removed", ts)); err != nil {
		return err
	}
	v.Projects.Invalidate()
	return nil
}
