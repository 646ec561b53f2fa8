package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/problem"
)

// Every entry of the filter table names a route the API serves: a typo in a
// pattern would leave that list unchecked.
func TestListParamsNameServedRoutes(t *testing.T) {
	e := newAPI(t, 0)
	for pattern := range listParams {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.NewReplacer("{id}", "x", "{parent}", "x", "{projectId}", "x").Replace(path)
		r, _ := http.NewRequest(method, path, nil)
		if _, got := e.api.mux.Handler(r); got != pattern {
			t.Errorf("%s: the mux routes %s %s to %q", pattern, method, path, got)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	for _, c := range []struct {
		pattern, query string
		refused        []string
	}{
		{"GET /tokens", "id=a&type=card&metadata.k=v&metadata%5Bk%5D=v&page=1&size=2", nil},
		{"GET /tokens", "colour=red&Size=3", []string{"Size", "colour"}},
		{"GET /applications", "metadata.k=v", []string{"metadata.k"}},
		{"GET /applications", "id=a&type=private&page=1&size=5&start=", nil},
		{"GET /applications", "start=abc", []string{"start"}},
		{"GET /v2/tokens", "start=abc&size=3&container=/a/", nil},
		{"GET /keys", "id=a", []string{"id"}},
		{"GET /tokens/{id}", "anything=1", nil}, // not a list
	} {
		r, _ := http.NewRequest("GET", "/x?"+c.query, nil)
		err := checkQuery(c.pattern, r)
		if len(c.refused) == 0 {
			if err != nil {
				t.Errorf("%s?%s: %v, want accepted", c.pattern, c.query, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s?%s accepted, want %v refused", c.pattern, c.query, c.refused)
			continue
		}
		for _, name := range c.refused {
			if _, named := problem.From(err).Errors[name]; !named {
				t.Errorf("%s?%s: %v does not name %q", c.pattern, c.query, err, name)
			}
		}
	}
}
