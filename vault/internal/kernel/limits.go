package kernel

import (
	"fmt"
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
