package caddymodules

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func TestUnmarshalGlobalVault(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        App
		err         string
	}{
		{name: "empty block", input: `vault`, want: App{}},
		{name: "all options", input: `vault {
			data_dir /var/lib/strongroom
			master_key_file /etc/strongroom/master.key
			management_key {file./run/secrets/key}
			max_body_size 1048576
		}`, want: App{DataDir: "/var/lib/strongroom", MasterKeyFile: "/etc/strongroom/master.key", ManagementKey: "{file./run/secrets/key}", MaxBodySize: 1048576}},
		{name: "literal management key", input: "vault {\n management_key key_abc\n}", err: "management_key takes a placeholder"},
		{name: "argument on the option", input: `vault extra`, err: "wrong argument count"},
		{name: "missing value", input: "vault {\n data_dir\n}", err: "wrong argument count"},
		{name: "too many values", input: "vault {\n data_dir a b\n}", err: "wrong argument count"},
		{name: "bad size", input: "vault {\n max_body_size lots\n}", err: "max_body_size must be a positive number"},
		{name: "negative size", input: "vault {\n max_body_size -5\n}", err: "max_body_size must be a positive number"},
		{name: "unknown subdirective", input: "vault {\n colour blue\n}", err: `unknown subdirective "colour"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got App
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.DataDir != tc.want.DataDir || got.MasterKeyFile != tc.want.MasterKeyFile ||
				got.ManagementKey != tc.want.ManagementKey || got.MaxBodySize != tc.want.MaxBodySize {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHandlerDirectivesTakeNoArguments(t *testing.T) {
	for _, input := range []string{"vault_api extra", "vault_auth extra", "vault_api {\n foo\n}"} {
		h := httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(input)}
		if _, err := parseHandler[API](h); err == nil {
			t.Errorf("%q: expected an error", input)
		}
	}
}

func TestMiddlewareCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct {
		input string
		h     caddyfile.Unmarshaler
	}{
		{"vault_detokenize {\n delimiters \"<<\"\n}", new(Detokenize)},
		{"vault_detokenize {\n max_tokens zero\n}", new(Detokenize)},
		{"vault_detokenize {\n colour red\n}", new(Detokenize)},
		{"vault_tokenize {\n field card.number card_number\n}", new(Tokenize)},
		{"vault_tokenize {\n field $.card.number\n}", new(Tokenize)},
		{"vault_tokenize extra", new(Tokenize)},
		{"vault_tokenize {\n max_body_size 0\n}", new(Tokenize)},
		{"vault_detokenize {\n max_body_size 1 2\n}", new(Detokenize)},
	} {
		if err := tc.h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err == nil {
			t.Errorf("%q: expected an error", tc.input)
		}
	}
}
