// Package token holds the rules of the Basis Theory token types: the type
// catalogue with its privacy defaults, validation and normalisation of token
// data, default masks, fingerprints and search indexes, containers, and
// client-supplied token ids.
//
// It is plain Go with no storage and no HTTP: callers hand it decoded JSON
// values (encoding/json with UseNumber, so numbers arrive as json.Number;
// float64 is accepted too) and get plain values and problem.Fields back.
package token

import "sort"

// Type names of the pre-configured Basis Theory token types.
const (
	TypeToken                = "token"
	TypeCard                 = "card"
	TypeBank                 = "bank"
	TypeCardNumber           = "card_number"
	TypeUSBankAccountNumber  = "us_bank_account_number"
	TypeUSBankRoutingNumber  = "us_bank_routing_number"
	TypeSocialSecurityNumber = "social_security_number"
	TypeEmployerIDNumber     = "employer_id_number"
)

// Type describes one token type: its default privacy settings (v1 model),
// the lowest impact level a token of the type may be given, and whether the
// v1 model always fingerprinted it.
type Type struct {
	// Name is the wire name, e.g. "card_number".
	Name string
	// Classification is the default (and, for every type but token,
	// effectively fixed) data classification: general, bank, pci or pii.
	Classification string
	// DefaultImpactLevel is low, moderate or high.
	DefaultImpactLevel string
	// MinimumImpactLevel is the lowest impact level a create request may ask for.
	MinimumImpactLevel string
	// RestrictionPolicy is the default restriction policy: mask or redact.
	RestrictionPolicy string
	// Fingerprinted reports whether the v1 model always fingerprinted tokens of
	// this type (every type except token).
	Fingerprinted bool
}

// DefaultPrivacy returns the type's default privacy settings.
func (t Type) DefaultPrivacy() Privacy {
	return Privacy{
		Classification:    t.Classification,
		ImpactLevel:       t.DefaultImpactLevel,
		RestrictionPolicy: t.RestrictionPolicy,
	}
}

// DefaultContainer returns the type's default container,
// "/<classification>/<default impact level>/".
func (t Type) DefaultContainer() string { return DefaultContainer(t.DefaultPrivacy()) }

// catalogue follows the "Token Types" tables of seed 001. employer_id_number
// is absent from that seed, so it follows the wire contract §7.1 (and the
// published docs): pii / high / low / mask.
var catalogue = map[string]Type{
	TypeToken:                {TypeToken, ClassGeneral, LevelHigh, LevelLow, PolicyRedact, false},
	TypeCard:                 {TypeCard, ClassPCI, LevelHigh, LevelHigh, PolicyMask, true},
	TypeBank:                 {TypeBank, ClassBank, LevelHigh, LevelHigh, PolicyMask, true},
	TypeCardNumber:           {TypeCardNumber, ClassPCI, LevelHigh, LevelHigh, PolicyMask, true},
	TypeUSBankAccountNumber:  {TypeUSBankAccountNumber, ClassBank, LevelHigh, LevelHigh, PolicyMask, true},
	TypeUSBankRoutingNumber:  {TypeUSBankRoutingNumber, ClassBank, LevelLow, LevelLow, PolicyRedact, true},
	TypeSocialSecurityNumber: {TypeSocialSecurityNumber, ClassPII, LevelHigh, LevelHigh, PolicyMask, true},
	TypeEmployerIDNumber:     {TypeEmployerIDNumber, ClassPII, LevelHigh, LevelLow, PolicyMask, true},
}

// Lookup returns the token type called name. Names are case-sensitive, as on
// the wire.
func Lookup(name string) (Type, bool) {
	t, ok := catalogue[name]
	return t, ok
}

// Types returns every known token type, sorted by name.
func Types() []Type {
	out := make([]Type, 0, len(catalogue))
	for _, t := range catalogue {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
