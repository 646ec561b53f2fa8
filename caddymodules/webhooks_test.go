package caddymodules

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        WebhookConfig
		err         string
	}{
		{name: "all", input: "vault {\n webhooks {\n max_attempts 3\n retry_base 1s\n retry_max 1m\n timeout 5s\n }\n}",
			want: WebhookConfig{MaxAttempts: 3, RetryBase: caddy.Duration(time.Second), RetryMax: caddy.Duration(time.Minute), Timeout: caddy.Duration(5 * time.Second)}},
		{name: "empty", input: "vault {\n webhooks\n}"},
		{name: "argument", input: "vault {\n webhooks on\n}", err: "wrong argument count"},
		{name: "zero attempts", input: "vault {\n webhooks {\n max_attempts 0\n }\n}", err: "max_attempts must be a positive number"},
		{name: "bad duration", input: "vault {\n webhooks {\n retry_base soon\n }\n}", err: "retry_base must be a positive duration"},
		{name: "unknown", input: "vault {\n webhooks {\n colour 1s\n }\n}", err: `unknown webhooks subdirective "colour"`},
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
			if err != nil || got.Webhooks != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got.Webhooks, err, tc.want)
			}
		})
	}
}
