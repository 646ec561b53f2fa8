package traffic

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/expr"
)

// FuzzQuery: resolving a query never adds, drops or reorders a parameter
// nor changes a key, and leaves a parameter without an expression byte for
// byte; DropParam removes exactly the named parameters.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"b=1&a=hello%20world", "pan=%7B%7B+" + cardID + "+%7D%7D&x", "&&=&%zz=%7B%7B", "bt-proxy-key=k&bt%2Dproxy%2Dkey&x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		in := strings.Split(raw, "&")
		out, err := NewDetokenizer(expr.Options{}, resolver).Query(context.Background(), raw)
		if err == nil {
			got := strings.Split(out, "&")
			if raw == "" && out != "" || raw != "" && len(got) != len(in) {
				t.Fatalf("Query(%q) = %q: parameters added or lost", raw, out)
			}
			for i, p := range in {
				key, value, _ := strings.Cut(p, "=")
				v, uerr := url.QueryUnescape(value)
				if got[i] != p && (uerr != nil || !strings.Contains(v, "{{") || !strings.HasPrefix(got[i], key+"=")) {
					t.Fatalf("Query(%q) = %q: parameter %q became %q", raw, out, p, got[i])
				}
			}
		}
		var kept []string
		for _, p := range in {
			rawKey, _, _ := strings.Cut(p, "=")
			if k, err := url.QueryUnescape(rawKey); p == "" || err != nil || k != "bt-proxy-key" {
				kept = append(kept, p)
			}
		}
		if got, want := DropParam(raw, "bt-proxy-key"), strings.Join(kept, "&"); got != want {
			t.Fatalf("DropParam(%q) = %q, want %q", raw, got, want)
		}
	})
}
