package token

import (
	"fmt"
	"strings"

	"github.com/strongroom/strongroom/vault/problem"
)

// Classifications.
const (
	ClassGeneral = "general"
	ClassBank    = "bank"
	ClassPCI     = "pci"
	ClassPII     = "pii"
)

// Impact levels, lowest first.
const (
	LevelLow      = "low"
	LevelModerate = "moderate"
	LevelHigh     = "high"
)

// Restriction policies.
const (
	PolicyMask   = "mask"
	PolicyRedact = "redact"
)

// Specificity levels from seed 001 ("Token Classifications", "Token Impact
// Levels", "Token Restriction Policies").
var (
	classSpecificity  = map[string]int{ClassGeneral: 0, ClassBank: 10, ClassPCI: 10, ClassPII: 10}
	levelSpecificity  = map[string]int{LevelLow: 0, LevelModerate: 1, LevelHigh: 2}
	policySpecificity = map[string]int{PolicyMask: 0, PolicyRedact: 1}
)

// Privacy is the v1 privacy object of a token.
type Privacy struct {
	Classification    string `json:"classification,omitempty"`
	ImpactLevel       string `json:"impact_level,omitempty"`
	RestrictionPolicy string `json:"restriction_policy,omitempty"`
}

// IsClassification reports whether s is one of general, bank, pci, pii.
func IsClassification(s string) bool { _, ok := classSpecificity[s]; return ok }

// ImpactLevelRank returns 0, 1, 2 for low, moderate, high, and false for
// anything else. A reader at level L sees plaintext of tokens whose rank is
// at most L's rank.
func ImpactLevelRank(level string) (int, bool) {
	r, ok := levelSpecificity[level]
	return r, ok
}

// ResolvePrivacy applies the type's defaults to the requested privacy (nil
// or empty fields mean "use the default") and checks the seed-001 override
// rules:
//
//   - classification may only move to a more specific one than the type's
//     default (general=0 → bank/pci/pii=10); other changes are rejected;
//   - impact_level may be anything from the type's minimum up;
//   - restriction_policy may only move from mask (0) to redact (1).
//
// Values are matched case-insensitively and returned lower-cased. Errors are
// keyed "privacy.classification", "privacy.impact_level" and
// "privacy.restriction_policy". On error the returned Privacy holds the
// defaults for the offending fields.
func ResolvePrivacy(t Type, requested *Privacy) (Privacy, problem.Fields) {
	p := t.DefaultPrivacy()
	if requested == nil {
		return p, nil
	}
	errs := problem.Fields{}

	if c := norm(requested.Classification); c != "" {
		switch spec, ok := classSpecificity[c]; {
		case !ok:
			errs.Add("privacy.classification", "classification must be one of general, bank, pci, pii")
		case c == p.Classification:
		case spec <= classSpecificity[p.Classification]:
			errs.Add("privacy.classification", fmt.Sprintf(
				"classification of a %s token cannot be changed from %s to %s; overrides must have a higher specificity level",
				t.Name, p.Classification, c))
		default:
			p.Classification = c
		}
	}

	if l := norm(requested.ImpactLevel); l != "" {
		switch rank, ok := levelSpecificity[l]; {
		case !ok:
			errs.Add("privacy.impact_level", "impact_level must be one of low, moderate, high")
		case rank < levelSpecificity[t.MinimumImpactLevel]:
			errs.Add("privacy.impact_level", fmt.Sprintf(
				"impact_level of a %s token must be %s or higher", t.Name, t.MinimumImpactLevel))
		default:
			p.ImpactLevel = l
		}
	}

	if r := norm(requested.RestrictionPolicy); r != "" {
		switch spec, ok := policySpecificity[r]; {
		case !ok:
			errs.Add("privacy.restriction_policy", "restriction_policy must be one of mask, redact")
		case spec < policySpecificity[p.RestrictionPolicy]:
			errs.Add("privacy.restriction_policy", fmt.Sprintf(
				"restriction_policy of a %s token cannot be changed from %s to %s; overrides must have a higher specificity level",
				t.Name, p.RestrictionPolicy, r))
		default:
			p.RestrictionPolicy = r
		}
	}
	return p, errs
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
