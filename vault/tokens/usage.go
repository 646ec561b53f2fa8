package tokens

import (
	"encoding/json"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// includedMonthlyActiveTokens is the plan allowance reported to clients; a
// self-hosted vault has no billing plan, so it reports no limit as zero.
const includedMonthlyActiveTokens = 0

// usage counts the tenant's tokens by type. Monthly active tokens are those
// created or modified in the current calendar month (UTC).
func (v *Service) usage(tenantID string) (*UsageReport, error) {
	rep := &UsageReport{TokenReport: TokenReport{
		MetricsByType:               map[string]TokenTypeMetrics{},
		IncludedMonthlyActiveTokens: includedMonthlyActiveTokens,
	}}
	t := kernel.Now()
	month := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.TokenCollection, tenantID), nil, func(_, val []byte) bool {
		var h struct {
			Type       string       `json:"type"`
			CreatedAt  *kernel.Time `json:"created_at"`
			ModifiedAt *kernel.Time `json:"modified_at"`
		}
		if derr = json.Unmarshal(val, &h); derr != nil {
			return false
		}
		m := rep.TokenReport.MetricsByType[h.Type]
		m.Count++
		rep.TotalTokens++
		if h.CreatedAt != nil && (m.LastCreatedAt == nil || h.CreatedAt.After(m.LastCreatedAt.Time)) {
			m.LastCreatedAt = h.CreatedAt
		}
		rep.TokenReport.MetricsByType[h.Type] = m
		last := h.CreatedAt
		if h.ModifiedAt != nil {
			last = h.ModifiedAt
		}
		if last != nil && !last.Before(month) {
			rep.TokenReport.MonthlyActiveTokens++
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return rep, err
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
	Count         int64        `json:"count"`
	LastCreatedAt *kernel.Time `json:"last_created_at,omitempty"`
}

// UsageReport reports the tenant's token counts.
func (v *Service) UsageReport(p *access.Principal) (*UsageReport, error) {
	if err := kernel.Require(p, "report:read"); err != nil {
		return nil, err
	}
	return v.usage(p.TenantID)
}
