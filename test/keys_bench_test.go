package test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// TestLoadKeyWrappers measures durable token creation and reads of random
// tokens with the master key in SoftHSM2 (pkcs11 wrapper) against the
// local wrapper, in interleaved rounds of one run, and prints the ratios.
// The HSM is touched only to unwrap a tenant key once, so both should be
// close to 1 (reads: target >= 0.95). It asserts only that every request
// succeeded.
func TestLoadKeyWrappers(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	env := softHSM(t)
	hsmInit(t, env, "bench")
	const (
		concurrency = 32
		perRun      = 2 * time.Second
		rounds      = 4
	)
	type target struct {
		name           string
		s              *harness.Server
		create, read   func(context.Context) (*http.Request, error)
		creates, reads []harness.LoadResult
	}
	setup := func(name, wrapper string) *target {
		s := harness.Start(t, harness.Options{Caddyfile: keysCaddyfile(wrapper), Env: env})
		key := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
		var ids []string
		for range 200 {
			tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
			ids = append(ids, tok["id"].(string))
		}
		s.Restart(t) // reads start with the tenant key still wrapped
		body := []byte(`{"type":"card_number","data":"4242424242424242","metadata":{"order":"1234"}}`)
		rng := rand.New(rand.NewPCG(1, 2))
		return &target{name: name, s: s,
			create: func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "POST", s.BaseURL+"/tokens", bytes.NewReader(body))
				if err == nil {
					req.Header.Set("BT-API-KEY", key)
					req.Header.Set("Content-Type", "application/json")
				}
				return req, err
			},
			read: func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "GET", s.BaseURL+"/tokens/"+ids[rng.IntN(len(ids))], nil)
				if err == nil {
					req.Header.Set("BT-API-KEY", key)
				}
				return req, err
			}}
	}
	local := setup("local ", localWrapper(newKeyFile(t, t.TempDir(), "bench.key")))
	hsm := setup("pkcs11", pkcs11Block("bench"))
	ctx := context.Background()
	for _, x := range []*target{local, hsm} {
		harness.LoadRequests(ctx, "warm-up", x.read, 8, 300*time.Millisecond)
		harness.LoadRequests(ctx, "warm-up", x.create, 8, 300*time.Millisecond)
	}
	for round := 1; round <= rounds; round++ {
		order := []*target{local, hsm}
		if round%2 == 0 { // alternate who goes first: the machine is shared
			order = []*target{hsm, local}
		}
		for _, x := range order {
			c := harness.LoadRequests(ctx, "POST /tokens", x.create, concurrency, perRun)
			r := harness.LoadRequests(ctx, "GET /tokens/{id}", x.read, concurrency, perRun)
			x.creates, x.reads = append(x.creates, c), append(x.reads, r)
			report(t, "round %d  %s  POST /tokens      %s", round, x.name, c)
			report(t, "round %d  %s  GET /tokens/{id}  %s", round, x.name, r)
			for _, res := range []harness.LoadResult{c, r} {
				if res.Errors > 0 || res.Requests == 0 {
					t.Errorf("%s %s: %d of %d failed (statuses %v; first: %s)", x.name, res.URL, res.Errors, res.Requests, res.Statuses, res.FirstError)
				}
			}
		}
	}
	lc, lr := harness.Combine(local.creates...), harness.Combine(local.reads...)
	hc, hr := harness.Combine(hsm.creates...), harness.Combine(hsm.reads...)
	report(t, "pkcs11 vs local wrapper: create throughput %.2f, read throughput %.2f (target >= 0.95); read p99 %v vs %v",
		hc.RPS/lc.RPS, hr.RPS/lr.RPS, hr.P99.Round(10*time.Microsecond), lr.P99.Round(10*time.Microsecond))
}

// TestLoadMasterKeyRotation times re-wrapping the tenant keys of 10,000
// tenants, local wrapper and pkcs11 (SoftHSM2) in one run. The tenants
// are created directly through the vault package (16 goroutines, so their
// commits group) rather than 10,000 API calls; the rotation runs in the
// same process through Vault.RotateMasterKey, what the admin route calls.
func TestLoadMasterKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	env := softHSM(t)
	const tenants = 10_000
	kd := t.TempDir()
	measure := func(name string, w keywrap.Wrapper, newRef string) time.Duration {
		dir := t.TempDir()
		addTenants(t, dir, w, tenants)
		c, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: w})
		if err != nil {
			t.Fatal(err)
		}
		v := c.Bind(nil, egress.Policy{}, vault.Settings{})
		defer v.Close()
		began := time.Now()
		st, err := v.RotateMasterKey(newRef)
		took := time.Since(began)
		if err != nil || st.Rotating || st.Rewrapped != st.TenantKeys || st.TenantKeys < tenants {
			t.Fatalf("%s rotation: %+v %v", name, st, err)
		}
		report(t, "%s: master key rotation of %d tenant keys: %v (%.0f tenant keys/s)", name, st.TenantKeys,
			took.Round(time.Millisecond), float64(st.TenantKeys)/took.Seconds())
		return took
	}
	l := measure("local ", &keywrap.Local{KeyFile: newKeyFile(t, kd, "a.key")}, newKeyFile(t, kd, "b.key"))
	hsmInit(t, env, "rot-a")
	hsmInit(t, env, "rot-b")
	h := measure("pkcs11", pkcs11Wrapper("rot-a"), "rot-b")
	report(t, "pkcs11 vs local rotation time: %.2fx", h.Seconds()/l.Seconds())
}
