package vault

import (
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// Permissions lists the grantable permissions, optionally for one
// application type.
func (v *Vault) Permissions(appType string) []access.Permission {
	return access.Catalog(appType)
}

// EntityType names a kind of audited entity (GET /logs/entity-types).
type EntityType struct {
	DisplayName string `json:"display_name"`
	Value       string `json:"value"`
}

// LogEntityTypes lists the entity types that appear in audit entries.
func (v *Vault) LogEntityTypes(p *access.Principal) ([]EntityType, error) {
	if err := kernel.Require(p, "log:read"); err != nil {
		return nil, err
	}
	return []EntityType{
		{"Application", "application"}, {"Tenant", "tenant"}, {"Token", "token"},
		{"Card", "card"}, {"Bank", "bank"}, {"Reactor", "reactor"},
		{"Reactor Formula", "reactor_formula"}, {"Proxy", "proxy"},
		{"Project", "project"}, {"Payment Method", "payment_method"},
		{"Authentication", EntityAuthentication}, {"Permission", EntityPermission},
		{"Webhook", "webhook"}, {"Client Encryption Key", "key"},
	}, nil
}
