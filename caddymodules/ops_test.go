package caddymodules

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalOps(t *testing.T) {
	for _, tc := range []struct{ name, input, err string }{
		{"unknown class", "vault {\n rate_limit {\n write 1/s\n }\n}", `unknown rate_limit class "write"`},
		{"bad rate", "vault {\n rate_limit {\n read 10/h\n }\n}", "the unit must be s or m"},
		{"zero rate", "vault {\n rate_limit {\n read 0/s\n }\n}", "positive integer"},
		{"rate without value", "vault {\n rate_limit {\n read\n }\n}", "wrong argument count"},
		{"origin with a path", "vault {\n cors {\n origins https://shop.example/pay\n }\n}", "want scheme://host[:port]"},
		{"wildcard origin", "vault {\n cors {\n origins *\n }\n}", "want scheme://host[:port]"},
		{"no origins", "vault {\n cors {\n origins\n }\n}", "wrong argument count"},
		{"unknown cors option", "vault {\n cors {\n methods GET\n }\n}", `unknown cors subdirective "methods"`},
		{"metrics value", "vault {\n metrics maybe\n}", "metrics takes on or off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a App
			err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
	var a App
	in := "vault {\n rate_limit {\n tokenize 5/s\n react 2/m\n }\n cors {\n origins https://a.example\n origins http://localhost:3000\n }\n metrics on\n}"
	if err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
		t.Fatal(err)
	}
	if len(a.RateLimit) != 2 || a.RateLimit["tokenize"] != "5/s" || a.RateLimit["react"] != "2/m" ||
		len(a.CORS.Origins) != 2 || a.DisableMetrics {
		t.Fatalf("got %+v", a)
	}
}
