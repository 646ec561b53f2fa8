package httpapi

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
)

// queryParams is what one list route reads from its query string.
type queryParams struct {
	names    []string
	metadata bool // metadata.<k> and metadata[<k>] filters
	// offsetOnly: the route pages with page and size only. node-sdk also
	// sends `start` to it; this server issues no cursor there, so a start
	// it could not have issued is refused rather than read as page 1.
	offsetOnly bool
}

// The query parameters of each list route, in one table: a list refuses any
// other parameter, because a filter it silently ignored would widen the
// result (the whole list for a typo), which for a vault is a disclosure, not
// a nicety. Every parameter an official SDK sends is here (node-sdk 5.7.0,
// basis-theory-js 1.22.2).
var (
	tokenListV1 = queryParams{names: []string{"id", "type", "metadata", "page", "size"}, metadata: true}
	offsetList  = func(names ...string) queryParams {
		return queryParams{names: append(names, "page", "size", "start"), offsetOnly: true}
	}
	noParams = queryParams{}

	listParams = map[string]queryParams{
		"GET /tokens": tokenListV1,
		// basis-theory-js listDecrypted also sends decrypt_type.
		"GET /tokens/decrypt":                       {names: append(slices.Clone(tokenListV1.names), "decrypt_type"), metadata: true},
		"GET /tokens/{parent}/children":             tokenListV1,
		"GET /v2/tokens":                            {names: []string{"type", "container", "fingerprint", "metadata", "start", "size"}, metadata: true},
		"GET /atomic/cards":                         {names: []string{"id", "page", "size"}},
		"GET /atomic/banks":                         {names: []string{"id", "page", "size"}},
		"GET /applications":                         offsetList("id", "type"),
		"GET /applications/{id}/keys":               {names: []string{"id", "type"}},
		"GET /proxies":                              offsetList("id", "name"),
		"GET /reactors":                             offsetList("id", "name", "source_token_type"),
		"GET /reactor-formulas":                     {names: []string{"name", "source_token_type", "page", "size"}},
		"GET /logs":                                 {names: []string{"entity_type", "entity_id", "start_date", "end_date", "page", "size", "start"}},
		"GET /logs/entity-types":                    noParams,
		"GET /permissions":                          {names: []string{"application_type"}},
		"GET /projects":                             {names: []string{"page", "size"}},
		"GET /projects/{projectId}/keys":            noParams,
		"GET /projects/{projectId}/payment-methods": {names: []string{"entityId", "limit", "offset"}},
		"GET /webhooks":                             noParams,
		"GET /webhooks/event-types":                 noParams,
		"GET /webhooks/{id}/deliveries":             {names: []string{"page", "size"}},
		"GET /keys":                                 noParams,
	}
)

// checkQuery answers 400 naming every query parameter of r that the list
// route pattern does not read; routes that are not lists read none and are
// not checked.
func checkQuery(pattern string, r *http.Request) error {
	known, isList := listParams[pattern]
	if !isList || r.URL.RawQuery == "" {
		return nil
	}
	q := r.URL.Query()
	f := problem.Fields{}
	var unknown []string
	for name := range q {
		if _, md := vault.MetadataFilterKey(name); md && known.metadata || slices.Contains(known.names, name) {
			continue
		}
		unknown = append(unknown, name)
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		f.Add(name, "Unknown filter; this list accepts "+known.describe()+".")
	}
	if known.offsetOnly && q.Get("start") != "" {
		f.Add("start", "This list pages with page and size; it issues no start cursor.")
	}
	return f.Err()
}

func (k queryParams) describe() string {
	if len(k.names) == 0 && !k.metadata {
		return "no query parameters"
	}
	s := strings.Join(k.names, ", ")
	if k.metadata {
		s += " and metadata.<key>"
	}
	return s
}

// checkedQuery refuses unknown query parameters before a list route runs.
func checkedQuery(pattern string, h handlerFunc) handlerFunc {
	if _, isList := listParams[pattern]; !isList {
		return h
	}
	return func(r *http.Request, p *access.Principal) (int, any, error) {
		if err := checkQuery(pattern, r); err != nil {
			return 0, nil, err
		}
		return h(r, p)
	}
}

// listApplicationKeys serves the key list with the filters node-sdk's
// applicationKeys.list sends: id (key ids) and type (the application's
// type; another type lists nothing).
func listApplicationKeys(v *vault.Vault, r *http.Request, p *access.Principal) ([]vault.ApplicationKey, error) {
	appID, q := r.PathValue("id"), r.URL.Query()
	if types := q["type"]; len(types) > 0 {
		app, err := v.GetApplication(p, appID)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(types, app.Type) {
			return []vault.ApplicationKey{}, nil
		}
	}
	keys, err := v.ListApplicationKeys(p, appID)
	if ids := q["id"]; len(ids) > 0 && err == nil {
		keys = slices.DeleteFunc(keys, func(k vault.ApplicationKey) bool { return !slices.Contains(ids, k.ID) })
	}
	return keys, err
}
