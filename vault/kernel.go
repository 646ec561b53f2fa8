package vault

import "github.com/strongroom/strongroom/vault/internal/kernel"

// The kernel's record and paging types, under the names callers of the
// vault use.
type (
	// Time is the API's timestamp type.
	Time = kernel.Time
	// Audited are the audit fields every entity carries.
	Audited = kernel.Audited
	// Page selects one page of an offset-paginated list (1-based).
	Page = kernel.Page
	// Paginated is the offset pagination envelope.
	Paginated[T any] = kernel.Paginated[T]
	// Pagination is the envelope's metadata.
	Pagination = kernel.Pagination
)

// MaxTokensPerRequest bounds the tokens one request creates (kernel.MaxTokensPerRequest).
const MaxTokensPerRequest = kernel.MaxTokensPerRequest
