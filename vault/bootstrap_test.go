package vault

import (
	"slices"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// A store written before the newer management permissions existed: its
// bootstrap application gets them at the next open, audited, like a new
// one has them; an application made through the API is left as its creator
// made it, and a permission the operator later takes away is not given back.
func TestBootstrapApplicationGetsNewManagementPermissions(t *testing.T) {
	for _, p := range laterManagementPermissions {
		if !slices.Contains(access.ManagementPermissions(), p) {
			t.Fatalf("%s is not a management permission", p)
		}
	}
	e := newEnv(t)
	owner, err := e.v.GetApplicationByKey(e.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(owner.Permissions, access.ManagementPermissions()) {
		t.Fatalf("a new bootstrap application holds %v", owner.Permissions)
	}
	_, chosen := e.app("management", []string{"application:read"})

	// Rewrite the store as the first release wrote it: no later
	// permission on the bootstrap application, no recorded catalog.
	old := slices.DeleteFunc(slices.Clone(owner.Permissions), func(p string) bool { return slices.Contains(laterManagementPermissions, p) })
	if len(old) == len(owner.Permissions) {
		t.Fatal("no later permission to strip")
	}
	stored := *owner
	stored.Permissions = old
	b := e.v.Store().NewBatch()
	kernel.SetJSON(b, kernel.AppRecordKey(stored.TenantID, stored.ID), &stored)
	b.Delete([]byte(managementCatalogKey))
	if err := e.v.Commit(b); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if _, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: ptr("after upgrade"), URL: ptr("https://example.com/h"), Events: []string{"token.created"}}); err != nil {
		t.Fatalf("the upgraded bootstrap key cannot create a webhook: %v", err)
	}
	got, _ := e.v.GetApplicationByKey(e.mgmt)
	if !slices.Equal(got.Permissions, access.ManagementPermissions()) || got.ModifiedAt == nil {
		t.Fatalf("after the upgrade the bootstrap application holds %v", got.Permissions)
	}
	if app, _ := e.v.GetApplication(e.mgmt, chosen.ID); !slices.Equal(app.Permissions, []string{"application:read"}) {
		t.Fatalf("an API-made application was changed: %v", app.Permissions)
	}
	logs, err := e.v.ListLogs(e.mgmt, audit.Filter{EntityType: "application", EntityID: owner.ID}, Page{Number: 1, Size: 50}, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range logs.Data {
		if strings.HasPrefix(l.Message, "Management permissions added by the upgrade: ") && strings.Contains(l.Message, "webhooks:create") && l.ActorType == "system" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit entry of the upgrade: %+v", logs.Data)
	}

	// Taken away after the upgrade: stays away.
	stored = *got
	stored.Permissions = slices.DeleteFunc(slices.Clone(got.Permissions), func(p string) bool { return p == "webhooks:delete" })
	b = e.v.Store().NewBatch()
	kernel.SetJSON(b, kernel.AppRecordKey(stored.TenantID, stored.ID), &stored)
	if err := e.v.Commit(b); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if got, _ := e.v.GetApplicationByKey(e.mgmt); slices.Contains(got.Permissions, "webhooks:delete") {
		t.Fatal("a permission taken away was given back at open")
	}
}
