package tokens

import (
	"errors"
	"slices"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/search"
)

// SearchRequest is the body of POST /tokens/search (page/size) and
// POST /v2/tokens/search (start/size).
type SearchRequest struct {
	Query string `json:"query"`
	Page  *int   `json:"page"`
	Size  *int   `json:"size"`
	Start string `json:"start"`
}

// searchFields exposes a token record to the query evaluator.
type searchFields struct {
	r   *tokenRecord
	md  map[string]any
	key []byte
}

func (s *searchFields) Value(field string) (string, bool) {
	switch field {
	case "id":
		return s.r.ID, true
	case "type":
		return s.r.Type, true
	case "fingerprint":
		return s.r.Fingerprint, s.r.Fingerprint != ""
	case "container":
		return s.r.container(), true
	case "created_at":
		if s.r.CreatedAt == nil {
			return "", false
		}
		return s.r.CreatedAt.Format("2006-01-02T15:04:05.999999999Z07:00"), true
	case "expires_at":
		if s.r.ExpiresAt == nil {
			return "", false
		}
		return s.r.ExpiresAt.Format("2006-01-02T15:04:05.999999999Z07:00"), true
	}
	if len(field) > len("metadata.") && field[:len("metadata.")] == "metadata." {
		if s.md == nil {
			s.md = metadataMap(s.r.Metadata)
		}
		v, ok := s.md[field[len("metadata."):]].(string)
		return v, ok
	}
	return "", false
}

// DataMatches compares the keyed digest of v with the token's indexes, so
// a data search never needs the plaintext.
func (s *searchFields) DataMatches(v string) bool {
	return slices.Contains(s.r.IndexMACs, indexMAC(s.key, v))
}

func (v *Service) searchFilter(p *access.Principal, query string) (*TokenFilter, search.Query, error) {
	q, err := search.Parse(query)
	if err != nil {
		var se *search.SyntaxError
		if errors.As(err, &se) {
			return nil, q, problem.Invalid("query", se.Error())
		}
		return nil, q, problem.Invalid("query", "The query is not valid.")
	}
	if !p.CanAnywhere("token:search") {
		return nil, q, problem.Forbidden("The API key does not have permission to search tokens.")
	}
	secrets, err := v.secrets(p.TenantID)
	if err != nil {
		return nil, q, err
	}
	usesData := q.UsesData()
	f := &TokenFilter{Match: func(r *tokenRecord) bool {
		// Matching on data reveals it: it needs search permission on the
		// token's container, which the v1 mapping grants only at
		// plaintext read level.
		if usesData {
			if _, ok := p.TokenTransform("token:search", r.ref()); !ok {
				return false
			}
		}
		return q.Match(&searchFields{r: r, key: secrets.search})
	}}
	return f, q, nil
}

// SearchTokens is the v1 search with offset pagination.
func (v *Service) SearchTokens(p *access.Principal, req SearchRequest) (kernel.Paginated[Token], error) {
	pg := kernel.Page{Number: 1, Size: 20}
	fe := problem.Fields{}
	if req.Page != nil {
		if *req.Page < 1 {
			fe.Add("page", "The page must be a positive integer.")
		}
		pg.Number = *req.Page
	}
	if req.Size != nil {
		if *req.Size < 1 {
			fe.Add("size", "The size must be a positive integer.")
		}
		pg.Size = min(*req.Size, 100)
	}
	if err := fe.Err(); err != nil {
		return kernel.Paginated[Token]{}, err
	}
	f, _, err := v.searchFilter(p, req.Query)
	if err != nil {
		return kernel.Paginated[Token]{}, err
	}
	return v.ListTokens(p, *f, pg)
}

// SearchTokensV2 is the v2 search: one term (plus an optional container
// term), cursor pagination.
func (v *Service) SearchTokensV2(p *access.Principal, req SearchRequest) (CursorPage[Token], error) {
	size := 20
	if req.Size != nil {
		if *req.Size < 1 {
			return CursorPage[Token]{}, problem.Invalid("size", "The size must be a positive integer.")
		}
		size = min(*req.Size, 100)
	}
	f, q, err := v.searchFilter(p, req.Query)
	if err != nil {
		return CursorPage[Token]{}, err
	}
	if req.Query != "" {
		term, _, ok := q.Simple()
		if key, isMetadata := term.MetadataKey(); ok && isMetadata {
			// v2 metadata matching is case-sensitive (v1 ignores case).
			match := f.Match
			f.Match = func(r *tokenRecord) bool {
				v, _ := metadataMap(r.Metadata)[key].(string)
				return match(r) && v == term.Value
			}
		}
		if !ok {
			return CursorPage[Token]{}, problem.Invalid("query", "Only one search term is supported, optionally ANDed with a container term.")
		}
		_, isMetadata := term.MetadataKey()
		if f := term.Field; f != "" && f != search.FieldType && f != search.FieldData && f != search.FieldFingerprint && !isMetadata {
			return CursorPage[Token]{}, problem.Invalid("query", "The field '"+f+"' cannot be searched; use container, type, fingerprint, metadata.<key> or data.")
		}
	}
	return v.ListTokensV2(p, *f, req.Start, size)
}
