package caddymodules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected JSON of testdata/adapt from the adapter's output")

// TestAdaptGolden adapts each testdata/adapt/*.caddyfiletest (a Caddyfile,
// a line of ten dashes, then the JSON it must adapt to, or text the
// adapter's error must contain) with caddytest.CompareAdapt, the way
// Caddy's own adapter tests do. `go test ./caddymodules -run
// TestAdaptGolden -update` rewrites the JSON parts; review the diff.
func TestAdaptGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "adapt", "*.caddyfiletest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatal("no ---------- separator")
			}
			input, expected = strings.TrimSpace(input)+"\n", strings.TrimSpace(expected)
			if *updateGolden && !strings.Contains(file, "-bad-") {
				out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, out, "", "\t"); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(input+"----------\n"+pretty.String()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, file, input, "caddyfile", expected) {
					t.Errorf("%s does not adapt to its expected JSON", file)
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			if expected == "" || err == nil || !strings.Contains(err.Error(), expected) {
				t.Errorf("adapt error %v, want one containing %q", err, expected)
			}
		})
	}
}
