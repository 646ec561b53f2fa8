package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// fencedBlocks returns the bodies of the README's ``` blocks of lang.
func fencedBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```"+lang:
			cur = new(strings.Builder)
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// Every Caddyfile in the README, the default Caddyfile and the deploy
// example adapt with the built binary's `caddy adapt`, as a reader would
// run them.
func TestReadmeCaddyfilesAdapt(t *testing.T) {
	t.Parallel()
	blocks := fencedBlocks(t, "caddyfile")
	if len(blocks) < 4 {
		t.Fatalf("only %d caddyfile blocks in the README", len(blocks))
	}
	files := map[string]string{}
	for i, b := range blocks {
		f := filepath.Join(t.TempDir(), "Caddyfile")
		if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		files["README block "+string(rune('1'+i))] = f
	}
	files["Caddyfile"] = filepath.Join(harness.RepoRoot(), "Caddyfile")
	files["deploy/Caddyfile"] = filepath.Join(harness.RepoRoot(), "deploy", "Caddyfile")
	for name, f := range files {
		out, err := exec.Command(harness.Binary(t), "adapt", "--config", f, "--adapter", "caddyfile").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"apps"`) {
			src, _ := os.ReadFile(f)
			t.Errorf("%s does not adapt (%v):\n%s\n--- input:\n%s", name, err, out, src)
		}
	}
	// The default Caddyfile listens on localhost only unless told otherwise.
	out, _ := exec.Command(harness.Binary(t), "adapt", "--config", files["Caddyfile"], "--adapter", "caddyfile").Output()
	if !strings.Contains(string(out), `"listen":["localhost:8080"]`) {
		t.Errorf("the default Caddyfile does not listen on localhost only: %s", out)
	}
}

// The README's quickstart works when pasted: its shell block runs against
// a server started with the default Caddyfile, from the directory holding
// data/management.key.
func TestReadmeQuickstart(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the quickstart uses curl")
	}
	var quick string
	for _, b := range fencedBlocks(t, "sh") {
		if strings.Contains(b, "data/management.key") && strings.Contains(b, "/tokens") {
			quick = b
		}
	}
	if quick == "" {
		t.Fatal("no quickstart block (reading data/management.key, creating a token) in the README")
	}
	s := start(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "management.key"), []byte(s.ManagementKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := "set -eu\n" + strings.ReplaceAll(quick, "localhost:8080", strings.TrimPrefix(s.BaseURL, "http://"))
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"data":{"note":"hello vault"}`) || !strings.Contains(string(out), `"name":`) {
		t.Errorf("the quickstart failed (%v):\n%s", err, out)
	}
}

// `caddy vault version` names the Strongroom version and the commit the
// binary was built from; Caddy's build-info lists the same commit.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(harness.Binary(t), "vault", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "strongroom ") || !strings.Contains(string(out), "caddy      v2.") {
		t.Fatalf("vault version (%v): %s", err, out)
	}
	info, _ := exec.Command(harness.Binary(t), "build-info").CombinedOutput()
	rev := ""
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "build\tvcs.revision="); ok {
			rev = v
		}
	}
	if rev == "" {
		t.Skip("the binary carries no VCS stamp (built with -buildvcs=false or outside a checkout)")
	}
	if !strings.Contains(string(out), "commit     "+rev) {
		t.Errorf("vault version does not name the commit build-info lists (%s):\n%s", rev, out)
	}
}
