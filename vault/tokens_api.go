package vault

import "github.com/strongroom/strongroom/vault/tokens"

// The tokens domain's types (vault/tokens), under the names callers of the
// vault use.
type (
	AtomicKind         = tokens.AtomicKind
	Atomic             = tokens.Atomic
	AtomicRequest      = tokens.AtomicRequest
	ClientKey          = tokens.ClientKey
	ClientKeyRequest   = tokens.ClientKeyRequest
	TenantKeyStatus    = tokens.TenantKeyStatus
	ReencryptProgress  = tokens.ReencryptProgress
	TokenIntent        = tokens.TokenIntent
	CardSummary        = tokens.CardSummary
	TokenIntentRequest = tokens.TokenIntentRequest
	Token              = tokens.Token
	TokenExtras        = tokens.TokenExtras
	TokenRequest       = tokens.TokenRequest
	TokenFilter        = tokens.TokenFilter
	CursorPage[T any]  = tokens.CursorPage[T]
	CursorPagination   = tokens.CursorPagination
	SearchRequest      = tokens.SearchRequest
	UsageReport        = tokens.UsageReport
	TokenReport        = tokens.TokenReport
	TokenTypeMetrics   = tokens.TokenTypeMetrics
)

// Atomic kinds, re-encryption and intent defaults (vault/tokens).
const (
	AtomicCard            = tokens.AtomicCard
	AtomicBank            = tokens.AtomicBank
	DefaultReencryptBatch = tokens.DefaultReencryptBatch
	TokenIntentLifetime   = tokens.TokenIntentLifetime
)

// ExprProblem, ParseMetadataFilter and MetadataFilterKey are the tokens
// domain's (vault/tokens).
var (
	ExprProblem         = tokens.ExprProblem
	ParseMetadataFilter = tokens.ParseMetadataFilter
	MetadataFilterKey   = tokens.MetadataFilterKey
)
