package tenants

import (
	"fmt"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
)

// No caller grants what it lacks. Management permissions (the control
// plane: tenants, applications, logs, proxies, reactors, projects) reach an
// application only from a caller that holds each of them itself, and a
// caller manages (updates, deletes, mints or revokes keys of) only an
// application whose management permissions it holds all of: otherwise a
// key minted for a stronger application would be a way to become it.
// Token permissions and rules (the data plane) are granted by holders of
// `application:create` / `application:update`, as on the hosted service;
// management applications never hold them themselves.

// authorizeGrant checks that p holds every management permission in perms
// (field names the request member in the error).
func authorizeGrant(p *access.Principal, perms []string, field string) error {
	denied := problem.Forbidden("The API key cannot grant permissions it does not hold itself.")
	for i, perm := range perms {
		if access.GrantableTo(perm, access.TypeManagement) && !p.Has(perm) {
			denied.Errors[fmt.Sprintf("%s[%d]", field, i)] = []string{fmt.Sprintf("'%s' cannot be granted by an application that does not hold it.", perm)}
		}
	}
	if len(denied.Errors) > 0 {
		return denied
	}
	return nil
}

// authorizeManage checks that p may manage app: it holds every management
// permission app holds.
func authorizeManage(p *access.Principal, app *Application) error {
	for _, perm := range app.Permissions {
		if access.GrantableTo(perm, access.TypeManagement) && !p.Has(perm) {
			return problem.Forbidden("The API key cannot manage an application holding '" + perm + "', which it does not hold itself.")
		}
	}
	return nil
}
