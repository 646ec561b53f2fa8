// Package jwtauth validates the project-scoped JWTs of seed 000: RS256
// tokens signed with a project's RSA key, whose `iss` is the project id and
// whose `sub` scopes every resource to one end user. It is pure: keys come
// in already parsed (a KeySet per project), the clock is injectable, and
// every failure is an *Error naming the check that failed, in words safe to
// show the client (no key material, no claim values).
package jwtauth

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Check names one rule of the validation list.
type Check string

// The checks, in the order Validate applies them.
const (
	CheckFormat    Check = "format"    // a well-formed compact JWS with JSON claims
	CheckAlgorithm Check = "alg"       // RS256 and nothing else
	CheckKeyID     Check = "kid"       // names a key of the project
	CheckSignature Check = "signature" // verifies with that key
	CheckExpiry    Check = "exp"       // present and in the future
	CheckIssuedAt  Check = "iat"       // present and not in the future
	CheckNotBefore Check = "nbf"       // when present, not in the future
	CheckIssuer    Check = "iss"       // equals the project id of the URL
	CheckSubject   Check = "sub"       // present
	CheckRoles     Check = "roles"     // present: a non-empty array of strings
	CheckRole      Check = "role"      // holds a role the operation accepts (403)
	CheckEntity    Check = "entityId"  // a body's entityId equals sub
)

// Error is a failed check. Message is meant for the client.
type Error struct {
	Check   Check
	Message string
}

func (e *Error) Error() string { return "jwt " + string(e.Check) + ": " + e.Message }

// Status is the HTTP status of the failure: 403 for a valid token that
// lacks the role, 401 for everything else.
func (e *Error) Status() int {
	if e.Check == CheckRole {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

func fail(c Check, msg string) *Error { return &Error{Check: c, Message: msg} }

// Roles of seed 000.
const (
	RolePrivate = "private"
	RolePublic  = "public"
)

// Algorithm is the only signature algorithm accepted.
const Algorithm = jwa.RS256

// MaxTokenLength bounds a bearer token. Seed 000's tokens are under 1 KiB.
const MaxTokenLength = 8 << 10

// ParseBearer extracts the token of an `Authorization: Bearer <token>`
// header value and checks its shape: three non-empty base64url segments
// (no padding) of at most MaxTokenLength bytes. The scheme is
// case-insensitive (RFC 9110 §11.1).
func ParseBearer(header string) (string, error) {
	if header == "" {
		return "", fail(CheckFormat, "Missing or invalid JWT token was provided: the Authorization header is required.")
	}
	scheme, rest, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", fail(CheckFormat, "Missing or invalid JWT token was provided: the Authorization header must use the Bearer scheme.")
	}
	tok := strings.Trim(rest, " \t")
	if tok == "" {
		return "", fail(CheckFormat, "Missing or invalid JWT token was provided: the bearer token is empty.")
	}
	if len(tok) > MaxTokenLength {
		return "", fail(CheckFormat, fmt.Sprintf("The token is longer than %d bytes.", MaxTokenLength))
	}
	segments := 1
	segLen := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return "", fail(CheckFormat, "The token is not a compact JWS: a segment is empty.")
			}
			segments++
			segLen = 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			segLen++
		default:
			return "", fail(CheckFormat, "The token is not a compact JWS: it holds a character outside base64url.")
		}
	}
	if segments != 3 || segLen == 0 {
		return "", fail(CheckFormat, "The token is not a compact JWS: it must have three non-empty segments.")
	}
	return tok, nil
}

// Claims are the validated claims of a token.
type Claims struct {
	KeyID     string
	Subject   string
	Issuer    string
	Roles     []string
	IssuedAt  time.Time
	Expiry    time.Time
	NotBefore time.Time // zero when absent
}

// HasRole reports whether the token holds one of roles.
func (c *Claims) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(c.Roles, r) {
			return true
		}
	}
	return false
}

// RequireRole is the role check: a 403 *Error unless the token holds one
// of roles.
func (c *Claims) RequireRole(roles ...string) error {
	if c.HasRole(roles...) {
		return nil
	}
	return fail(CheckRole, "The token's roles do not allow this operation (requires "+strings.Join(roles, " or ")+").")
}

// CheckEntity is the subject check of POST bodies: an entityId, when
// given, must equal sub.
func (c *Claims) CheckEntity(entityID string) error {
	if entityID != "" && entityID != c.Subject {
		return fail(CheckEntity, "The entityId of the request does not match the token's subject (sub).")
	}
	return nil
}

// KeySet is a project's verification keys, parsed once when they are
// loaded or registered, with a cache of tokens already verified against
// them. A KeySet is immutable: a key change builds a new one, which drops
// every cached verification at once.
type KeySet struct {
	keys     map[string]*rsa.PublicKey
	verified sync.Map // sha256(token) → *verifiedToken
	size     atomic.Int64
}

// maxVerified bounds the verified-token cache of one key set.
const maxVerified = 50_000

type verifiedToken struct {
	claims Claims
}

// NewKeySet builds a key set from parsed keys by kid.
func NewKeySet(keys map[string]*rsa.PublicKey) *KeySet {
	return &KeySet{keys: keys}
}

// Len is the number of keys.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

func (s *KeySet) key(kid string) (*rsa.PublicKey, bool) {
	if s == nil {
		return nil, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

func (s *KeySet) cached(sum [32]byte) (*verifiedToken, bool) {
	if s == nil {
		return nil, false
	}
	v, ok := s.verified.Load(sum)
	if !ok {
		return nil, false
	}
	return v.(*verifiedToken), true
}

func (s *KeySet) remember(sum [32]byte, v *verifiedToken) {
	if s == nil {
		return
	}
	if s.size.Add(1) > maxVerified {
		s.verified.Clear()
		s.size.Store(1)
	}
	s.verified.Store(sum, v)
}

// Validator applies the validation list.
type Validator struct {
	// Leeway tolerates clock skew on exp, iat and nbf.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxLifetime bounds exp − iat; zero means no bound. A leaked token is
	// then useful for at most this long, however far its signer set exp.
	MaxLifetime time.Duration
}

// DefaultMaxLifetime is the longest accepted exp − iat when none is
// configured.
const DefaultMaxLifetime = 24 * time.Hour

// DefaultLeeway is the clock skew tolerated when none is configured.
const DefaultLeeway = 30 * time.Second

// Validate checks token (as returned by ParseBearer) for the project
// projectID whose keys are keys (nil when the project is unknown), in the
// order of seed 000's list: well-formed, RS256 only (checked before any
// verification, so `none`, HS256 with the public key as secret, or any
// other algorithm never reaches a verifier), kid names a project key,
// signature, exp and iat (and nbf) against the clock with leeway, iss is
// the project, sub and roles present. The role and entityId checks depend
// on the operation: see Claims.RequireRole and Claims.CheckEntity.
func (v Validator) Validate(token, projectID string, keys *KeySet) (*Claims, error) {
	sum := sha256.Sum256([]byte(token))
	var c *Claims
	if hit, ok := keys.cached(sum); ok {
		// Shape, algorithm, kid and signature were checked when this exact
		// token was verified against this exact key set.
		c = &hit.claims
	} else {
		vt, err := v.verify(token, keys)
		if err != nil {
			return nil, err
		}
		keys.remember(sum, vt)
		c = &vt.claims
	}
	if err := v.checkClaims(c, projectID); err != nil {
		return nil, err
	}
	out := *c
	return &out, nil
}

// ValidateOne is Validate for a project id held by several tenants: sets
// are the key sets of each, and exactly one must verify the token, which
// names the tenant (its index). A token no set verifies fails with the most
// telling error (a claim check of the set whose key verified it before
// another set's unknown kid); a token two sets verify is refused, so a key
// registered in one tenant never lets another tenant's tokens in.
func (v Validator) ValidateOne(token, projectID string, sets []*KeySet) (*Claims, int, error) {
	if len(sets) == 0 {
		_, err := v.Validate(token, projectID, nil)
		return nil, -1, err
	}
	found, claims := -1, (*Claims)(nil)
	var best error
	for i, set := range sets {
		c, err := v.Validate(token, projectID, set)
		if err != nil {
			if best == nil || rank(err) > rank(best) {
				best = err
			}
			continue
		}
		if found >= 0 {
			return nil, -1, fail(CheckSignature, "The token's signature does not identify one key of the project.")
		}
		found, claims = i, c
	}
	if found < 0 {
		return nil, -1, best
	}
	return claims, found, nil
}

// rank orders failures by how much of the token was checked: an unknown
// kid, then a bad signature, then anything else.
func rank(err error) int {
	e, ok := err.(*Error)
	switch {
	case !ok:
		return 3 // not a validation failure: report it
	case e.Check == CheckKeyID:
		return 0
	case e.Check == CheckSignature:
		return 1
	}
	return 2
}

// verify runs the checks that depend only on the token and the keys.
func (v Validator) verify(token string, keys *KeySet) (*verifiedToken, error) {
	if _, err := ParseBearer("Bearer " + token); err != nil {
		return nil, err
	}
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fail(CheckFormat, "The token is not a well-formed JWT: its header or encoding is invalid.")
	}
	sig := msg.Signatures()[0]
	hdr := sig.ProtectedHeaders()
	if alg := hdr.Algorithm(); alg != Algorithm {
		return nil, fail(CheckAlgorithm, fmt.Sprintf("The token's algorithm %q is not accepted: only RS256 is.", clip(alg.String())))
	}
	if len(hdr.Critical()) > 0 {
		return nil, fail(CheckFormat, "The token's header lists critical extensions (crit), which are not supported.")
	}
	if _, ok := hdr.Get("b64"); ok {
		return nil, fail(CheckFormat, "The token's header uses the b64 extension, which is not supported.")
	}
	kid := hdr.KeyID()
	if kid == "" {
		return nil, fail(CheckKeyID, "The token's header has no kid.")
	}
	pub, ok := keys.key(kid)
	if !ok {
		return nil, fail(CheckKeyID, "The token's kid does not name a key of the project.")
	}
	verifier, err := jws.NewVerifier(Algorithm)
	if err != nil {
		return nil, err
	}
	// The signing input is exactly the bytes received, up to the last dot.
	signingInput := token[:strings.LastIndexByte(token, '.')]
	if err := verifier.Verify([]byte(signingInput), sig.Signature(), pub); err != nil {
		return nil, fail(CheckSignature, "The token's signature is not valid for the key it names.")
	}
	claims, err := parseClaims(msg.Payload())
	if err != nil {
		return nil, err
	}
	claims.KeyID = kid
	return &verifiedToken{claims: *claims}, nil
}

func parseClaims(payload []byte) (*Claims, error) {
	if len(payload) == 0 || payload[0] != '{' {
		return nil, fail(CheckFormat, "The token's payload is not a JSON object of claims.")
	}
	if err := checkNumericDates(payload); err != nil {
		return nil, err
	}
	tok, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return nil, fail(CheckFormat, "The token's claims are not valid (a registered claim has the wrong type).")
	}
	c := &Claims{Subject: tok.Subject(), Issuer: tok.Issuer(), IssuedAt: tok.IssuedAt(),
		Expiry: tok.Expiration(), NotBefore: tok.NotBefore()}
	if raw, ok := tok.Get("roles"); ok {
		list, isList := raw.([]any)
		if !isList {
			return nil, fail(CheckRoles, "The token's roles claim must be an array of strings.")
		}
		for _, r := range list {
			s, isString := r.(string)
			if !isString {
				return nil, fail(CheckRoles, "The token's roles claim must be an array of strings.")
			}
			c.Roles = append(c.Roles, s)
		}
	}
	return c, nil
}

// checkClaims runs the checks that depend on the clock and the request.
func (v Validator) checkClaims(c *Claims, projectID string) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	switch {
	case c.Expiry.IsZero():
		return fail(CheckExpiry, "The token has no expiration time (exp).")
	case !now.Before(c.Expiry.Add(v.Leeway)):
		return fail(CheckExpiry, "The token has expired (exp).")
	case c.IssuedAt.IsZero():
		return fail(CheckIssuedAt, "The token has no issued-at time (iat).")
	case c.IssuedAt.After(now.Add(v.Leeway)):
		return fail(CheckIssuedAt, "The token's issued-at time (iat) is in the future.")
	case v.MaxLifetime > 0 && c.Expiry.Sub(c.IssuedAt) > v.MaxLifetime:
		return fail(CheckExpiry, fmt.Sprintf("The token's lifetime (exp - iat) exceeds the maximum of %s.", v.MaxLifetime))
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(v.Leeway)):
		return fail(CheckNotBefore, "The token is not valid yet (nbf).")
	case c.Issuer == "":
		return fail(CheckIssuer, "The token has no issuer (iss).")
	case c.Issuer != projectID:
		return fail(CheckIssuer, "The token's issuer (iss) does not match the project of the URL.")
	case c.Subject == "":
		return fail(CheckSubject, "The token has no subject (sub).")
	case len(c.Roles) == 0:
		return fail(CheckRoles, "The token has no roles.")
	}
	return nil
}

// clip bounds a client-supplied value echoed in a message.
func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// checkNumericDates refuses exp, iat and nbf that are not JSON numbers:
// RFC 7519 §2 makes them NumericDates, and a parser that also reads
// strings ("exp": "9999999999") accepts what other verifiers refuse.
func checkNumericDates(payload []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return fail(CheckFormat, "The token's payload is not a JSON object of claims.")
	}
	for _, c := range []struct {
		name  string
		check Check
	}{{"exp", CheckExpiry}, {"iat", CheckIssuedAt}, {"nbf", CheckNotBefore}} {
		v, ok := raw[c.name]
		if !ok {
			continue
		}
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return fail(c.check, "The token's "+c.name+" claim must be a number of seconds (RFC 7519 NumericDate).")
		}
	}
	return nil
}
