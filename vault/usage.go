package vault

import (
	"encoding/json"
	"time"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// includedMonthlyActiveTokens is the plan allowance reported to clients; a
// self-hosted vault has no billing plan, so it reports no limit as zero.
const includedMonthlyActiveTokens = 0

// usage counts the tenant's tokens by type. Monthly active tokens are those
// created or modified in the current calendar month (UTC).
func (v *Vault) usage(tenantID string) (*UsageReport, error) {
	rep := &UsageReport{TokenReport: TokenReport{
		MetricsByType:               map[string]TokenTypeMetrics{},
		IncludedMonthlyActiveTokens: includedMonthlyActiveTokens,
	}}
	t := kernel.Now()
	month := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.TokenCollection, tenantID), nil, func(_, val []byte) bool {
		var h struct {
			Type       string `json:"type"`
			CreatedAt  *Time  `json:"created_at"`
			ModifiedAt *Time  `json:"modified_at"`
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
