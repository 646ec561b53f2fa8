package caddymodules

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	_ "github.com/strongroom/strongroom/plugins/bterrors"
	_ "github.com/strongroom/strongroom/plugins/fetch"
	_ "github.com/strongroom/strongroom/plugins/helpers"
)

func TestReactorModuleSubdirective(t *testing.T) {
	var c ReactorConfig
	d := caddyfile.NewTestDispenser("reactor {\n module fetch {\n  timeout 3s\n }\n module bt_errors\n max_concurrent 4\n}")
	d.Next()
	if err := c.unmarshal(d); err != nil {
		t.Fatal(err)
	}
	if len(c.ModulesRaw) != 2 || c.MaxConcurrent != 4 {
		t.Fatalf("modules %s, max_concurrent %d", c.ModulesRaw, c.MaxConcurrent)
	}
	if got := string(c.ModulesRaw[0]); !strings.Contains(got, `"module":"fetch"`) || !strings.Contains(got, `"timeout":3000000000`) {
		t.Errorf("fetch module: %s", got)
	}
	if got := string(c.ModulesRaw[1]); got != `{"module":"bt_errors"}` {
		t.Errorf("bt_errors module: %s", got)
	}
	for input, want := range map[string]string{
		"reactor {\n module\n}":                       "wrong argument count",
		"reactor {\n module nope\n}":                  `unknown reactor module "nope"`,
		"reactor {\n module helpers {\n  x\n }\n}":    `takes no settings`,
		"reactor {\n module fetch {\n  colour\n }\n}": "colour",
	} {
		var c ReactorConfig
		d := caddyfile.NewTestDispenser(input)
		d.Next()
		if err := c.unmarshal(d); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", input, err, want)
		}
	}
}
