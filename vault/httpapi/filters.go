package httpapi

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/problem"
)

// Query parameters each token list understands. A list refuses any other
// parameter: a filter it silently ignored would widen the result (the
// whole list for a typo), which for a vault is a disclosure, not a nicety.
var (
	tokenListParams   = []string{"id", "type", "metadata", "page", "size"}
	tokenListV2Params = []string{"type", "container", "fingerprint", "metadata", "start", "size"}
)

// knownFilters answers 400 naming every query parameter of r that is not in
// allowed (metadata.<k> and metadata[<k>] are always metadata filters).
func knownFilters(r *http.Request, allowed []string) error {
	f := problem.Fields{}
	var unknown []string
	for name := range r.URL.Query() {
		if _, md := vault.MetadataFilterKey(name); md || slices.Contains(allowed, name) {
			continue
		}
		unknown = append(unknown, name)
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		f.Add(name, "Unknown filter; this list accepts "+strings.Join(allowed, ", ")+" and metadata.<key>.")
	}
	return f.Err()
}
