package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/token"
)

// A token create is four steps, each its own function: validate the request
// (every field error at once), derive what follows from the normalised data
// (mask, fingerprint, search indexes), assign the id, and authorize the
// caller on the container the token lands in. Create, child create, update
// and tokenize all plan through planToken.

// tokenPlan is a validated token ready to be written.
type tokenPlan struct {
	rec       *tokenRecord
	plain     []byte
	indexVals []string
	dedupe    bool
	mask      any
	clientID  bool   // the id came from the request, so it may collide
	intentID  string // the token intent this token converts (consumed on write)
}

// tokenInput is a token request whose fields passed validation.
type tokenInput struct {
	typ        token.Type
	normalized any // the data as the type normalises it
	privacy    token.Privacy
	containers []string
	metadata   json.RawMessage
	expiresAt  *kernel.Time
}

// planToken validates req and computes everything derived from its data.
// prefix names fields inside a larger body (tokenize); perm is the
// permission the caller needs on the token's container.
func (v *Service) planToken(p *access.Principal, req *TokenRequest, prefix string, ts time.Time, perm string) (*tokenPlan, error) {
	if err := v.openEncrypted(p.TenantID, req, prefix); err != nil {
		return nil, err
	}
	intentID, err := v.fromIntent(p, req, prefix)
	if err != nil {
		return nil, err
	}
	in, err := validateToken(req, prefix, ts)
	if err != nil {
		return nil, err
	}
	plan, err := v.deriveToken(p, req, in, prefix, ts)
	if err != nil {
		return nil, err
	}
	if err := assignTokenID(plan, req, in.normalized, prefix); err != nil {
		return nil, err
	}
	if _, ok := p.TokenTransform(perm, plan.rec.ref()); !ok {
		return nil, problem.Forbidden("The API key does not have permission (" + perm + ") on tokens in " + plan.rec.container())
	}
	plan.intentID = intentID
	return plan, nil
}

// validateToken checks every field of req that does not need the tenant:
// type, data (normalised by its type), privacy, containers, metadata and
// expiry. Field errors are reported together.
func validateToken(req *TokenRequest, prefix string, ts time.Time) (*tokenInput, error) {
	f := problem.Fields{}
	typeName := kernel.Deref(req.Type)
	typ, known := token.Lookup(typeName)
	switch {
	case req.Type == nil || typeName == "":
		f.Add(prefix+"type", "The type field is required.")
	case !known:
		f.Add(prefix+"type", fmt.Sprintf("'%s' is not a valid token type.", typeName))
	}
	if len(req.Data) == 0 || string(req.Data) == "null" {
		f.Add(prefix+"data", "The data field is required.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	data, err := kernel.DecodeData(req.Data)
	if err != nil {
		return nil, problem.Invalid(prefix+"data", "The data field is not valid JSON.")
	}
	in := &tokenInput{typ: typ}
	var ferrs problem.Fields
	in.normalized, ferrs = token.ValidateData(typeName, data)
	f.Merge(prefix, ferrs)
	in.privacy, ferrs = token.ResolvePrivacy(typ, req.Privacy)
	f.Merge(prefix, ferrs)
	in.containers = validateContainers(f, req.Containers, in.privacy, prefix)
	var merr string
	if in.metadata, merr = validateMetadata(req.Metadata); merr != "" {
		f.Add(prefix+"metadata", merr)
	}
	in.expiresAt = validateExpiry(f, req.ExpiresAt, prefix, ts)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return in, nil
}

// validateContainers gives the token's containers: the one requested, or
// the default for its privacy.
func validateContainers(f problem.Fields, requested []string, privacy token.Privacy, prefix string) []string {
	if requested == nil {
		return []string{token.DefaultContainer(privacy)}
	}
	if len(requested) != 1 {
		f.Add(prefix+"containers", "Exactly one container is supported.")
	}
	containers := make([]string, 0, len(requested))
	for i, c := range requested {
		n, err := token.ValidateContainer(c)
		if err != nil {
			f.Add(fmt.Sprintf("%scontainers[%d]", prefix, i), err.Error())
		}
		containers = append(containers, n)
	}
	return containers
}

// validateExpiry parses expires_at: a future time within the bound, or nil.
func validateExpiry(f problem.Fields, raw *json.RawMessage, prefix string, ts time.Time) *kernel.Time {
	if raw == nil || string(*raw) == "null" {
		return nil
	}
	var t kernel.Time
	switch {
	case json.Unmarshal(*raw, &t) != nil:
		f.Add(prefix+"expires_at", "Must be an ISO 8601 date-time with a time zone.")
	case !t.After(ts):
		f.Add(prefix+"expires_at", "Must be in the future.")
	case t.After(kernel.MaxExpiresAt):
		f.Add(prefix+"expires_at", "Must be no later than "+kernel.MaxExpiresAt.Format(time.RFC3339)+".")
	default:
		return &t
	}
	return nil
}

// deriveToken builds the record and computes what follows from the
// normalised data: the stored bytes, the mask, the fingerprint (and whether
// to deduplicate on it) and the search indexes.
func (v *Service) deriveToken(p *access.Principal, req *TokenRequest, in *tokenInput, prefix string, ts time.Time) (*tokenPlan, error) {
	typeName := in.typ.Name
	plain, err := json.Marshal(in.normalized)
	if err != nil {
		return nil, err
	}
	if typeName == token.TypeToken {
		plain = req.Data // free-form data is kept byte for byte as sent
	}
	rec := &tokenRecord{TenantID: p.TenantID, Type: typeName, Privacy: in.privacy, Containers: in.containers,
		Metadata: in.metadata, ExpiresAt: in.expiresAt, Order: kernel.OrderKey(ts)}
	rec.Created(p, ts)
	plan := &tokenPlan{rec: rec, plain: plain}

	// Mask: the token's own expression, or the type's default.
	if len(req.Mask) > 0 && string(req.Mask) != "null" {
		m, err := kernel.DecodeData(req.Mask)
		if err != nil {
			return nil, problem.Invalid(prefix+"mask", "The mask is not valid JSON.")
		}
		if plan.mask, err = expr.EvalMask(m, in.normalized); err != nil {
			return nil, problem.Invalid(prefix+"mask", exprMessage(err))
		}
		rec.Mask = req.Mask
	} else if m, ok := token.DefaultMask(typeName, in.normalized); ok {
		plan.mask = m
	}

	secrets, err := v.secrets(p.TenantID)
	if err != nil {
		return nil, err
	}
	settings := v.Settings(p.TenantID)
	vars := map[string]any{"data": in.normalized, "metadata": metadataMap(in.metadata)}
	if err := fingerprintToken(plan, req, in, secrets, settings, vars, prefix); err != nil {
		return nil, err
	}
	if err := indexToken(plan, req, secrets, vars, prefix); err != nil {
		return nil, err
	}
	return plan, nil
}

// fingerprintToken sets the fingerprint: an explicit expression, else the
// type's default where the type is fingerprinted (seed 001) or the tenant
// asks for all; and whether the create deduplicates on it.
func fingerprintToken(plan *tokenPlan, req *TokenRequest, in *tokenInput, secrets tenantSecrets, settings map[string]string, vars map[string]any, prefix string) error {
	rec := plan.rec
	var fpValue string
	var hasFP bool
	if req.FingerprintExpression != nil && *req.FingerprintExpression != "" {
		rec.FingerprintExpression = *req.FingerprintExpression
		s, err := expr.EvalString(rec.FingerprintExpression, vars)
		if err != nil {
			return problem.Invalid(prefix+"fingerprint_expression", exprMessage(err))
		}
		fpValue, hasFP = s, s != ""
	} else if in.typ.Fingerprinted || settings["fingerprint_tokens"] == "true" {
		fpValue, hasFP = token.DefaultFingerprintValue(rec.Type, in.normalized)
	}
	if hasFP {
		rec.Fingerprint = token.Fingerprint(secrets.fingerprint, rec.Type, fpValue)
	}
	plan.dedupe = rec.Fingerprint != "" && (req.DeduplicateToken != nil && *req.DeduplicateToken ||
		req.DeduplicateToken == nil && settings["deduplicate_tokens"] == "true")
	return nil
}

// indexToken computes the search indexes: the type's defaults and each
// expression, which must give one non-empty value.
func indexToken(plan *tokenPlan, req *TokenRequest, secrets tenantSecrets, vars map[string]any, prefix string) error {
	rec := plan.rec
	rec.SearchIndexes = req.SearchIndexes
	vals := token.DefaultSearchIndexes(rec.Type, vars["data"])
	for i, e := range req.SearchIndexes {
		s, err := expr.EvalString(e, vars)
		if err != nil {
			return problem.Invalid(fmt.Sprintf("%ssearch_indexes[%d]", prefix, i), exprMessage(err))
		}
		if strings.TrimSpace(s) == "" {
			return problem.Invalid(fmt.Sprintf("%ssearch_indexes[%d]", prefix, i), "The search index expression evaluated to an empty value.")
		}
		vals = append(vals, s)
	}
	for _, s := range vals {
		mac := indexMAC(secrets.search, s)
		if !slices.Contains(rec.IndexMACs, mac) {
			rec.IndexMACs = append(rec.IndexMACs, mac)
		}
	}
	plan.indexVals = vals
	return nil
}

// assignTokenID gives the token its id: generated, literal, or an alias
// expression over the data.
func assignTokenID(plan *tokenPlan, req *TokenRequest, normalized any, prefix string) error {
	rec := plan.rec
	plan.clientID = req.ID != nil && *req.ID != ""
	switch {
	case !plan.clientID:
		rec.ID = uuid.NewString()
	case token.IsAliasExpression(*req.ID):
		s, err := expr.EvalString(*req.ID, map[string]any{"data": normalized})
		if err != nil {
			return problem.Invalid(prefix+"id", exprMessage(err))
		}
		rec.ID = s
	default:
		rec.ID = *req.ID
	}
	if err := token.ValidateID(rec.ID); err != nil {
		return problem.Invalid(prefix+"id", err.Error())
	}
	return nil
}

func exprMessage(err error) string {
	var ee *expr.ExprError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	return "The expression could not be evaluated."
}

// validateMetadata accepts a JSON object of string values, kept verbatim.
func validateMetadata(raw json.RawMessage) (json.RawMessage, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "The metadata must be an object of string values."
	}
	for _, val := range m {
		if _, ok := val.(string); !ok {
			return nil, "The metadata must be an object of string values."
		}
	}
	return raw, ""
}

func metadataMap(raw json.RawMessage) map[string]any {
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}
