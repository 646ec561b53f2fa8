package tokens

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// TokenFilter selects tokens for the list endpoints.
type TokenFilter struct {
	IDs         []string
	Types       []string
	Metadata    map[string]string // v1: case-insensitive exact match, ANDed
	MetadataCS  bool              // v2: case-sensitive
	Container   string
	Fingerprint string
	Match       func(*tokenRecord) bool // further predicate (search)
}

func (f *TokenFilter) matches(r *tokenRecord) bool {
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, r.ID) {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, r.Type) {
		return false
	}
	if f.Container != "" && !slices.Contains(r.Containers, f.Container) {
		return false
	}
	if f.Fingerprint != "" && r.Fingerprint != f.Fingerprint {
		return false
	}
	if len(f.Metadata) > 0 {
		md := metadataMap(r.Metadata)
		for k, want := range f.Metadata {
			got, _ := md[k].(string)
			if _, present := md[k]; !present {
				return false
			}
			if f.MetadataCS && got != want || !f.MetadataCS && !strings.EqualFold(got, want) {
				return false
			}
		}
	}
	return f.Match == nil || f.Match(r)
}

// scanTokens walks the tenant's live tokens newest first from the order
// key start (inclusive; nil = newest), calling fn with each readable token
// that matches f. Tokens the caller may not read are skipped, not refused:
// a list shows what the caller can see.
func (v *Service) scanTokens(p *access.Principal, f *TokenFilter, start []byte, fn func(orderKey []byte, r *tokenRecord) bool) error {
	t := kernel.Now()
	var ferr error
	err := v.Store().ScanReverse(store.Prefix(kernel.OrderIndex, p.TenantID), start, func(k, id []byte) bool {
		var r tokenRecord
		if ferr = kernel.GetJSON(v.Store(), kernel.TokenRecordKey(p.TenantID, string(id)), "Token", &r); ferr != nil {
			if problem.Is(ferr, 404) {
				ferr = nil
				return true
			}
			return false
		}
		if r.expired(t) || !f.matches(&r) {
			return true
		}
		if _, ok := p.TokenTransform("token:read", r.ref()); !ok {
			return true
		}
		return fn(k, &r)
	})
	if err == nil {
		err = ferr
	}
	return err
}

func requireAnyRead(p *access.Principal) error {
	if !p.CanAnywhere("token:read") {
		return problem.Forbidden("The API key does not have permission to read tokens.")
	}
	return nil
}

// ListTokens is the offset-paginated v1 list (GET /tokens).
func (v *Service) ListTokens(p *access.Principal, f TokenFilter, pg kernel.Page) (kernel.Paginated[Token], error) {
	page, total, err := v.pageTokens(p, &f, pg)
	if err != nil {
		return kernel.Paginated[Token]{}, err
	}
	items, err := v.views(p, page)
	return kernel.Paginate(items, total, pg), err
}

// pageTokens returns one offset page of the tokens p can read that match
// f, newest first, and the number of all of them.
func (v *Service) pageTokens(p *access.Principal, f *TokenFilter, pg kernel.Page) ([]*tokenRecord, int, error) {
	if err := requireAnyRead(p); err != nil {
		return nil, 0, err
	}
	var page []*tokenRecord
	total := 0
	err := v.scanTokens(p, f, nil, func(_ []byte, r *tokenRecord) bool {
		if total >= pg.Offset() && len(page) < pg.Size {
			page = append(page, r)
		}
		total++
		return true
	})
	return page, total, err
}

func (v *Service) views(p *access.Principal, recs []*tokenRecord) ([]Token, error) {
	out := make([]Token, 0, len(recs))
	for _, r := range recs {
		t, err := v.readView(p, r)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	v.Metrics().TokensRead(len(out))
	return out, nil
}

// CursorPage is the cursor pagination envelope; `next` and `after` carry
// the same cursor because the two SDK generations read different names.
type CursorPage[T any] struct {
	Pagination CursorPagination `json:"pagination"`
	Data       []T              `json:"data"`
}

// CursorPagination is the cursor envelope's metadata.
type CursorPagination struct {
	PageSize int    `json:"page_size"`
	Next     string `json:"next,omitempty"`
	After    string `json:"after,omitempty"`
}

// ListTokensV2 is the cursor-paginated list (GET /v2/tokens).
func (v *Service) ListTokensV2(p *access.Principal, f TokenFilter, cursor string, size int) (CursorPage[Token], error) {
	if err := requireAnyRead(p); err != nil {
		return CursorPage[Token]{}, err
	}
	var start []byte
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(b), string(store.Prefix(kernel.OrderIndex, p.TenantID))) {
			return CursorPage[Token]{}, problem.Invalid("start", "The cursor is not valid.")
		}
		start = b
	}
	var recs []*tokenRecord
	next := ""
	err := v.scanTokens(p, &f, start, func(k []byte, r *tokenRecord) bool {
		if len(recs) == size {
			next = base64.RawURLEncoding.EncodeToString(k)
			return false
		}
		recs = append(recs, r)
		return true
	})
	if err != nil {
		return CursorPage[Token]{}, err
	}
	items, err := v.views(p, recs)
	if items == nil {
		items = []Token{}
	}
	return CursorPage[Token]{Pagination: CursorPagination{PageSize: size, Next: next, After: next}, Data: items}, err
}

// ParseMetadataFilter reads `metadata.<k>=<v>` parameters, the
// `metadata[<k>]=<v>` form the Go SDK sends, and the JSON object form
// `metadata={"k":"v"}` node-sdk sends.
func ParseMetadataFilter(q map[string][]string) (map[string]string, error) {
	out := map[string]string{}
	for k, vals := range q {
		if key, ok := MetadataFilterKey(k); ok && len(vals) > 0 {
			out[key] = vals[0]
		}
	}
	if raw := q["metadata"]; len(raw) > 0 && raw[0] != "" {
		var m map[string]string
		if err := json.Unmarshal([]byte(raw[0]), &m); err != nil {
			return nil, problem.Invalid("metadata", "The metadata filter must be a JSON object of strings or metadata.<key>=<value> parameters.")
		}
		for k, val := range m {
			out[k] = val
		}
	}
	return out, nil
}

// MetadataFilterKey returns the metadata key named by a query parameter of
// the form `metadata.<k>` or `metadata[<k>]`.
func MetadataFilterKey(param string) (string, bool) {
	if key, ok := strings.CutPrefix(param, "metadata."); ok {
		return key, true
	}
	if rest, ok := strings.CutPrefix(param, "metadata["); ok && strings.HasSuffix(rest, "]") {
		return rest[:len(rest)-1], true
	}
	return "", false
}
