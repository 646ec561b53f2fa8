// Command release builds the release Caddy binary from xcaddy.json, the
// manifest in xcaddy's own Builder shape (Caddy version, plugins and
// replacements):
//
//	go run ./cmd/release [-manifest xcaddy.json] [-o strongroom]
//
// Relative replacement paths are taken relative to the manifest.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/caddyserver/xcaddy"
)

func main() {
	manifest := flag.String("manifest", "xcaddy.json", "build manifest (xcaddy Builder JSON)")
	output := flag.String("o", "strongroom", "output binary")
	flag.Parse()

	raw, err := os.ReadFile(*manifest)
	if err != nil {
		log.Fatal(err)
	}
	var b xcaddy.Builder
	if err := json.Unmarshal(raw, &b); err != nil {
		log.Fatalf("%s: %v", *manifest, err)
	}
	base, err := filepath.Abs(filepath.Dir(*manifest))
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range b.Replacements {
		if p := string(r.New); strings.HasPrefix(p, ".") {
			b.Replacements[i].New = xcaddy.ReplacementPath(filepath.Join(base, p))
		}
	}
	// A dependency gets no VCS stamp from the Go toolchain: stamp the
	// commit `caddy vault version` shows.
	if rev, err := exec.Command("git", "-C", base, "rev-parse", "HEAD").Output(); err == nil {
		b.BuildFlags = strings.TrimSpace(b.BuildFlags + " -ldflags '-X github.com/strongroom/strongroom/caddymodules.Commit=" +
			strings.TrimSpace(string(rev)) + "'")
	}
	out, err := filepath.Abs(*output)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := b.Build(ctx, out); err != nil {
		log.Fatal(err)
	}
	log.Printf("built %s", out)
}
