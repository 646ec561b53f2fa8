package caddymodules

import (
	"encoding/json"
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
			management_key key_abc
			max_body_size 1048576
		}`, want: App{DataDir: "/var/lib/strongroom", MasterKeyFile: "/etc/strongroom/master.key", ManagementKey: "key_abc", MaxBodySize: 1048576}},
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

// TestAdaptCaddyfile adapts a whole Caddyfile and checks the JSON the
// directives produce: the app, the handlers and their default order.
func TestAdaptCaddyfile(t *testing.T) {
	input := "{\n\tvault {\n\t\tdata_dir /tmp/vault\n\t}\n}\n\nhttp://:8080 {\n\trespond /health \"ok\"\n\tvault_api\n\tvault_auth\n}\n"
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	out, warnings, err := adapter.Adapt([]byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	var cfg struct {
		Apps struct {
			Vault App `json:"vault"`
			HTTP  struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Handler string `json:"handler"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Apps.Vault.DataDir != "/tmp/vault" {
		t.Errorf("vault app data_dir %q, want /tmp/vault\n%s", cfg.Apps.Vault.DataDir, out)
	}
	var order []string
	for _, srv := range cfg.Apps.HTTP.Servers {
		for _, r := range srv.Routes {
			for _, h := range r.Handle {
				order = append(order, h.Handler)
			}
		}
	}
	// vault_auth runs first; vault_api answers every request it gets, so
	// it runs late, after respond (whatever the order in the file).
	if got := strings.Join(order, ","); got != "vault_auth,static_response,vault_api" {
		t.Fatalf("handler order %q, want vault_auth,static_response,vault_api\n%s", got, out)
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

// TestAdaptMiddleware adapts the README's composition and checks the JSON
// of each handler and their order in front of reverse_proxy.
func TestAdaptMiddleware(t *testing.T) {
	input := "http://:8080 {\n\treverse_proxy psp.example:443\n\tvault_tokenize {\n\t\tfield $.card.number card_number\n\t\tform_field pan card_number\n\t\tresponse\n\t}\n\tvault_detokenize {\n\t\tdelimiters \"<<\" \">>\"\n\t\theaders Authorization\n\t\tquery\n\t\tmax_tokens 20\n\t}\n\tvault_auth\n}\n"
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	out, warnings, err := adapter.Adapt([]byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var handlers []string
	for _, srv := range cfg.Apps.HTTP.Servers {
		for _, r := range srv.Routes {
			for _, h := range r.Handle {
				handlers = append(handlers, string(h))
			}
		}
	}
	want := []string{
		`{"handler":"vault_auth"}`,
		`{"delimiters":["\u003c\u003c","\u003e\u003e"],"handler":"vault_detokenize","headers":["Authorization"],"max_tokens":20,"query":true}`,
		`{"fields":[{"path":"$.card.number","type":"card_number"}],"form_fields":[{"name":"pan","type":"card_number"}],"handler":"vault_tokenize","response":true}`,
	}
	if len(handlers) != 4 {
		t.Fatalf("handlers %v\n%s", handlers, out)
	}
	for i, w := range want {
		if handlers[i] != w {
			t.Errorf("handler %d:\n got  %s\n want %s", i, handlers[i], w)
		}
	}
	if !strings.Contains(handlers[3], `"handler":"reverse_proxy"`) {
		t.Errorf("reverse_proxy must run last, got %s", handlers[3])
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
	} {
		if err := tc.h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err == nil {
			t.Errorf("%q: expected an error", tc.input)
		}
	}
}
