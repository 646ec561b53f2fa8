package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/reactors"
)

// reactorEnv is env with an in-process reactor runtime bound.
func reactorEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	e.v = e.v.Core.Bind(reactor.New(reactor.Limits{}), egress.Policy{AllowInsecure: true}, Settings{})
	return e
}

func reactorCode(v int) *string {
	s := fmt.Sprintf("module.exports = async (req) => ({ raw: { v: %d, conf: req.configuration.K } });", v)
	return &s
}

// invoker is a principal that may invoke reactors.
func (e *env) invoker() *access.Principal {
	e.t.Helper()
	p, _ := e.app("private", []string{"reactor:invoke"})
	return p
}

// reactRaw invokes reactor id and returns its raw output as JSON.
func (e *env) reactRaw(id string) string {
	e.t.Helper()
	out, err := e.v.React(context.Background(), e.invoker(), id, reactors.ReactRequest{})
	if err != nil {
		e.t.Fatalf("React: %v", err)
	}
	b, _ := json.Marshal(out.Raw)
	return string(b)
}

// The react path's cache never serves a reactor or formula past its
// update or delete, nor a deleted tenant's, and a cached record does not
// carry one call's configuration into another.
func TestReactorCacheInvalidation(t *testing.T) {
	e := reactorEnv(t)
	name := "cached"
	r, err := e.v.CreateReactor(e.mgmt, reactors.ReactorRequest{Name: &name, Code: reactorCode(1), Configuration: map[string]string{"K": "one"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := e.reactRaw(r.ID); got != `{"v":1,"conf":"one"}` {
			t.Fatalf("react = %s", got)
		}
	}
	if _, ok := e.v.Core.reactorCaches.Reactors.Load(reactors.CacheKey(e.mgmt.TenantID, r.ID)); !ok {
		t.Fatal("the reactor was not cached by the react path")
	}
	if _, err := e.v.UpdateReactor(e.mgmt, r.ID, reactors.ReactorRequest{Name: &name, Code: reactorCode(2), Configuration: map[string]string{"K": "two"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.reactRaw(r.ID); got != `{"v":2,"conf":"two"}` {
		t.Fatalf("react after update = %s", got)
	}
	if err := e.v.PatchReactor(e.mgmt, r.ID, []byte(`{"configuration":{"K":"three"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := e.reactRaw(r.ID); got != `{"v":2,"conf":"three"}` {
		t.Fatalf("react after patch = %s", got)
	}

	// A formula reactor, its formula updated then deleted.
	typ := "private"
	f, err := e.v.CreateFormula(e.mgmt, reactors.FormulaRequest{Name: &name, Type: &typ, Code: reactorCode(3)})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := e.v.CreateReactor(e.mgmt, reactors.ReactorRequest{Name: &name, Configuration: map[string]string{"K": "f"},
		Formula: &struct {
			ID string `json:"id"`
		}{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.reactRaw(fr.ID); got != `{"v":3,"conf":"f"}` {
		t.Fatalf("formula react = %s", got)
	}
	if _, err := e.v.UpdateFormula(e.mgmt, f.ID, reactors.FormulaRequest{Name: &name, Type: &typ, Code: reactorCode(4)}); err != nil {
		t.Fatal(err)
	}
	if got := e.reactRaw(fr.ID); got != `{"v":4,"conf":"f"}` {
		t.Fatalf("formula react after the formula's update = %s", got)
	}
	if err := e.v.DeleteFormula(e.mgmt, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.React(context.Background(), e.invoker(), fr.ID, reactors.ReactRequest{}); !problem.Is(err, 422) {
		t.Fatalf("react with the formula deleted: %v, want 422", err)
	}

	// The reactor deleted.
	if err := e.v.DeleteReactor(e.mgmt, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.React(context.Background(), e.invoker(), r.ID, reactors.ReactRequest{}); !problem.Is(err, 404) {
		t.Fatalf("react after delete: %v, want 404", err)
	}
}

// A tenant deleted leaves nothing of its reactors in the cache.
func TestReactorCacheTenantDeleted(t *testing.T) {
	e := reactorEnv(t)
	name := "cached"
	r, err := e.v.CreateReactor(e.mgmt, reactors.ReactorRequest{Name: &name, Code: reactorCode(1), Configuration: map[string]string{"K": "one"}})
	if err != nil {
		t.Fatal(err)
	}
	e.reactRaw(r.ID)
	key := reactors.CacheKey(e.mgmt.TenantID, r.ID)
	if _, ok := e.v.Core.reactorCaches.Reactors.Load(key); !ok {
		t.Fatal("the reactor was not cached by the react path")
	}
	if err := e.v.DeleteTenant(e.mgmt); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.v.Core.reactorCaches.Reactors.Load(key); ok {
		t.Fatal("a deleted tenant's reactor is still cached")
	}
}

// BenchmarkReact is the react use case in process, its reactor read from
// the cache and, for comparison, from the store: the two alternate call
// by call, so that a busy shared machine slows both alike, and each
// reports its median (cached-p50-µs, store-p50-µs).
func BenchmarkReact(b *testing.B) {
	e := reactorEnv(b)
	name := "bench"
	r, err := e.v.CreateReactor(e.mgmt, reactors.ReactorRequest{Name: &name, Code: reactorCode(1), Configuration: map[string]string{"K": "one"}})
	if err != nil {
		b.Fatal(err)
	}
	p := e.invoker()
	var took [2][]time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cached := i%2 == 0
		if !cached {
			e.v.Core.reactorCaches.Clear()
		}
		start := time.Now()
		if _, err := e.v.React(context.Background(), p, r.ID, reactors.ReactRequest{}); err != nil {
			b.Fatal(err)
		}
		took[i%2] = append(took[i%2], time.Since(start))
	}
	for i, unit := range []string{"cached-p50-µs", "store-p50-µs"} {
		slices.Sort(took[i])
		if len(took[i]) > 0 {
			b.ReportMetric(float64(took[i][len(took[i])/2].Nanoseconds())/1e3, unit)
		}
	}
}
