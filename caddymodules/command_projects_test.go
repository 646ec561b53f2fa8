package caddymodules

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/spf13/cobra"
)

func TestUnmarshalProjectOptions(t *testing.T) {
	for _, tc := range []struct {
		input          string
		leeway, retain time.Duration
		err            string
	}{
		{input: "vault {\n jwt_leeway 10s\n cvc_retention 15m\n}", leeway: 10 * time.Second, retain: 15 * time.Minute},
		{input: "vault {\n jwt_leeway off\n cvc_retention off\n}", leeway: -1, retain: -1},
		{input: "vault {\n jwt_leeway\n}", err: "wrong argument count"},
		{input: "vault {\n cvc_retention soon\n}", err: "cvc_retention must be a positive duration or off"},
		{input: "vault {\n jwt_leeway -5s\n}", err: "jwt_leeway must be a positive duration or off"},
	} {
		var got App
		err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.input, err, tc.err)
			}
			continue
		}
		if err != nil || got.JWTLeeway != caddy.Duration(tc.leeway) || got.CVCRetention != caddy.Duration(tc.retain) {
			t.Errorf("%q: %+v %v", tc.input, got, err)
		}
	}
}

// TestProjectCommandOffline drives `vault project ...` against a stopped
// data directory: create, generate (private key on stdout only), list,
// add a PEM, remove.
func TestProjectCommandOffline(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, strings.Repeat("ab", 32))
	run := func(args ...string) (string, string, error) {
		t.Helper()
		root := caddyCommandForTest()
		var out, errOut strings.Builder
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(append(args, "--data-dir", dir))
		err := root.Execute()
		return out.String(), errOut.String(), err
	}
	// A fresh data directory gets its bootstrap tenant on first open.
	if _, _, err := run("tenant", "list"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run("project", "create", "--id", "project-abc123", "--name", "Shop"); err != nil || !strings.Contains(out, "project-abc123") {
		t.Fatalf("create: %q %v", out, err)
	}
	priv, info, err := run("project", "key", "generate", "--project", "project-abc123", "--kid", "key-456")
	if err != nil || !strings.HasPrefix(priv, "-----BEGIN PRIVATE KEY-----") || strings.Contains(info, "PRIVATE") {
		t.Fatalf("generate: stdout %.40q stderr %q %v", priv, info, err)
	}
	if out, _, err := run("project", "list"); err != nil || !strings.Contains(out, "project-abc123\t") {
		t.Fatalf("list: %q %v", out, err)
	}
	if out, _, err := run("project", "key", "list", "--project", "project-abc123"); err != nil || !strings.Contains(out, "key-456\tRSA 2048") || strings.Contains(out, "PRIVATE") {
		t.Fatalf("key list: %q %v", out, err)
	}
	if _, _, err := run("project", "key", "add", "--project", "project-abc123", "--kid", "k2", "--pem", "/nonexistent"); err == nil {
		t.Fatal("add with a missing file succeeded")
	}
	if out, _, err := run("project", "key", "remove", "--project", "project-abc123", "--kid", "key-456"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %q %v", out, err)
	}
	if _, _, err := run("project", "key", "remove", "--project", "project-abc123", "--kid", "key-456"); err == nil {
		t.Fatal("removing twice succeeded")
	}
}

func caddyCommandForTest() *cobra.Command {
	root := &cobra.Command{Use: "vault", SilenceUsage: true, SilenceErrors: true}
	vaultCommand(root)
	return root
}
