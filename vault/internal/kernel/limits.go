package kernel

import (
	"fmt"
	"strings"
	"time"

	"github.com/strongroom/strongroom/vault/problem"
)

// MaxTokensPerRequest bounds the tokens one request creates (POST
// /tokenize, a reactor's tokenize output, the vault_tokenize middleware):
// they are validated, encrypted and committed in one batch.
const MaxTokensPerRequest = 1000

// MaxExpiresAt is the latest accepted expires_at. The expiry index orders
// entries by Unix nanoseconds, which overflow int64 in April 2262.
var MaxExpiresAt = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)

// TooManyTokens is the refusal of a request that would create n tokens.
func TooManyTokens(n int) error {
	return problem.Invalid("body", fmt.Sprintf("The request would create %d tokens; at most %d can be created in one request.", n, MaxTokensPerRequest))
}

// ValidateName checks an entity name: required, at most 200 characters.
func ValidateName(f problem.Fields, name *string) {
	switch {
	case name == nil || strings.TrimSpace(*name) == "":
		f.Add("name", "The name field is required.")
	case len([]rune(*name)) > 200:
		f.Add("name", "The name field has a maximum length of 200.")
	}
}
