package caddymodules

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalKeyWrapper(t *testing.T) {
	for _, tc := range []struct{ name, input, want, err string }{
		{name: "pkcs11", input: "vault {\n key_wrapper pkcs11 {\n module /m.so\n token_label t\n pin {env.P}\n key_label k\n previous_key_label old\n }\n}",
			want: `{"key_label":"k","module":"/m.so","pin":"{env.P}","previous_key_labels":["old"],"token_label":"t","wrapper":"pkcs11"}`},
		{name: "local", input: "vault {\n key_wrapper local {\n key_file /a\n previous_key_file /b\n previous_key_file /c\n }\n}",
			want: `{"key_file":"/a","previous_key_files":["/b","/c"],"wrapper":"local"}`},
		{name: "literal pin", input: "vault {\n key_wrapper pkcs11 {\n pin 1234\n }\n}", err: "pin takes a placeholder"},
		{name: "unknown wrapper", input: "vault {\n key_wrapper kms {\n }\n}", err: "vault.key_wrappers.kms"},
		{name: "no wrapper name", input: "vault {\n key_wrapper\n}", err: "wrong argument count"},
		{name: "unknown pkcs11 setting", input: "vault {\n key_wrapper pkcs11 {\n slot 1\n }\n}", err: `unknown subdirective "slot"`},
		{name: "pkcs11 setting without value", input: "vault {\n key_wrapper pkcs11 {\n module\n }\n}", err: "wrong argument count"},
		{name: "unknown local setting", input: "vault {\n key_wrapper local {\n key /a\n }\n}", err: `unknown subdirective "key"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a App
			err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || string(a.KeyWrapperRaw) != tc.want {
				t.Fatalf("got %s (%v), want %s", a.KeyWrapperRaw, err, tc.want)
			}
		})
	}
}

func TestPKCS11KeyWrapperValidate(t *testing.T) {
	ok := PKCS11KeyWrapper{Module: "/dev/null", TokenLabel: "t", Pin: "{env.P}", KeyLabel: "k"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	for name, c := range map[string]struct {
		mod func(*PKCS11KeyWrapper)
		err string
	}{
		"no key label":   {func(p *PKCS11KeyWrapper) { p.KeyLabel = "" }, "needs module, token_label, pin and key_label"},
		"literal pin":    {func(p *PKCS11KeyWrapper) { p.Pin = "1234" }, "pin takes a placeholder"},
		"missing module": {func(p *PKCS11KeyWrapper) { p.Module = "/nonexistent/libpkcs11.so" }, "no such file"},
	} {
		p := ok
		c.mod(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", name, err, c.err)
		}
	}
}
