package access

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Digest identifies everything the principal may do (type, permissions and
// rules): two principals with equal digests are granted exactly the same.
// A stored answer is replayed only to a caller whose digest still matches.
func (p *Principal) Digest() string {
	b, _ := json.Marshal(struct {
		Type        string   `json:"t"`
		Permissions []string `json:"p"`
		Rules       []Rule   `json:"r"`
	}{p.AppType, p.Permissions(), p.rules})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
