package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

const module = "github.com/strongroom/strongroom/"

// layers is the dependency order inside vault/, lowest first: a package may
// import packages of a lower layer, and leaves may import other leaves (one
// noun using another; the compiler keeps that acyclic). A package added
// under vault/ must be placed here.
var layers = []struct {
	name     string
	packages []string
}{
	{"leaf", []string{"vault/access", "vault/apitime", "vault/audit", "vault/crypto", "vault/egress", "vault/expr",
		"vault/jsonorder", "vault/jsonpath", "vault/jwtauth", "vault/keywrap", "vault/metrics", "vault/problem", "vault/ratelimit",
		"vault/reactor", "vault/search", "vault/store", "vault/store/postgres", "vault/store/storetest", "vault/token",
		"vault/urlpath", "vault/webhook"}},
	{"traffic", []string{"vault/traffic"}},
	{"kernel", []string{"vault/internal/kernel"}},
	{"tenants", []string{"vault/tenants"}},
	{"tokens", []string{"vault/tokens"}},
	{"projects, reactors", []string{"vault/projects", "vault/reactors"}},
	{"proxies", []string{"vault/proxies"}},
	{"use cases", []string{"vault"}},
	{"wire", []string{"vault/httpapi"}},
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// TestLayering keeps vault/ plain Go in its dependency order: nothing under
// vault/ reaches Caddy (directly or through a dependency), every package
// imports only downward, and plugins build on leaves only.
func TestLayering(t *testing.T) {
	t.Parallel()
	rank := map[string]int{}
	for i, l := range layers {
		for _, p := range l.packages {
			rank[p] = i
		}
	}
	pkgs := listPackages(t, "./vault/...", "./plugins/...")
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[strings.TrimPrefix(p.ImportPath, module)] = true
	}
	for p := range rank {
		if !seen[p] {
			t.Errorf("the layer table names %s, which does not exist", p)
		}
	}
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module)
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/caddyserver/") && strings.HasPrefix(name, "vault") {
				t.Errorf("%s depends on %s: nothing under vault/ may reach Caddy", name, d)
				break
			}
		}
		if strings.HasPrefix(name, "plugins/") {
			for _, imp := range internal(p.Imports) {
				if r, ok := rank[imp]; !ok || r > 0 {
					t.Errorf("plugin %s imports %s: plugins build on leaf packages only", name, imp)
				}
			}
			continue
		}
		mine, ok := rank[name]
		if !ok {
			t.Errorf("%s is in no layer: place it in test/layering_test.go", name)
			continue
		}
		for _, imp := range internal(p.Imports) {
			r, ok := rank[imp]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which is outside vault/", name, imp)
			case r > mine, r == mine && mine > 0:
				t.Errorf("%s (%s) imports %s (%s): imports must point down", name, layers[mine].name, imp, layers[r].name)
			}
		}
	}
}

// internal returns the module's own packages among imports, module prefix
// removed, sorted.
func internal(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if strings.HasPrefix(imp, module) {
			out = append(out, strings.TrimPrefix(imp, module))
		}
	}
	sort.Strings(out)
	return out
}

// listPackages runs `go list -json` in the repository.
func listPackages(t *testing.T, patterns ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = harness.RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
