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

// UsageReport is the tenant usage report (seed 001).
type UsageReport struct {
	TokenReport TokenReport `json:"token_report"`
	// TotalTokens is the current API generation's (node-sdk) view of the
	// same count.
	TotalTokens int64 `json:"total_tokens"`
}

// TokenReport counts the tenant's tokens by type.
type TokenReport struct {
	MetricsByType               map[string]TokenTypeMetrics `json:"metrics_by_type"`
	IncludedMonthlyActiveTokens int64                       `json:"included_monthly_active_tokens"`
	MonthlyActiveTokens         int64                       `json:"monthly_active_tokens"`
}

// TokenTypeMetrics is one type's count.
type TokenTypeMetrics struct {
	Count         int64 `json:"count"`
	LastCreatedAt *Time `json:"last_created_at,omitempty"`
}

// UsageReport reports the tenant's token counts.
func (v *Vault) UsageReport(p *access.Principal) (*UsageReport, error) {
	if err := kernel.Require(p, "report:read"); err != nil {
		return nil, err
	}
	return v.usage(p.TenantID)
}
