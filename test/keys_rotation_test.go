package test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// custody is one way of holding master keys, for the rotation scenario.
type custody struct {
	keys    [3]string // key refs: file paths or HSM labels, in rotation order
	block   func(current string, previous ...string) string
	wrapper func(current string) keywrap.Wrapper
	flag    string   // the rotate command's flag for a new key
	env     []string // for the server and the CLI (PIN, SOFTHSM2_CONF)
	secrets []string // strings that must never appear in a log
}

// rotationTenants is enough tenants for a rotation to take a while, so a
// kill -9 can land in the middle of it.
const rotationTenants = 6000

// runRotation is the master key rotation scenario: a rotation under load
// with zero failed requests, refusal with only the retired key, start with
// only the new one; then a second rotation killed -9 half way, resumed,
// and finished.
func runRotation(t *testing.T, c custody) {
	dir := t.TempDir()
	began := time.Now()
	addTenants(t, dir, c.wrapper(c.keys[0]), rotationTenants)
	t.Logf("%d tenants created in %s", rotationTenants, time.Since(began).Round(time.Millisecond))
	mgmt := harness.NewKey()
	start := func(current string, previous ...string) *harness.Server {
		return harness.Start(t, harness.Options{DataDir: dir, ManagementKey: mgmt, Caddyfile: keysCaddyfile(c.block(current, previous...)), Env: c.env})
	}
	s := start(c.keys[0])
	key := tokenKey(t, s)
	tokens := writeEveryType(t, s, key)
	rotate := func(s *harness.Server, ref string) (string, bool) {
		out, errOut, ok := cli(t, t.TempDir(), c.env, "master-key", "rotate", "--address", s.AdminAddr, c.flag, ref)
		return out + errOut, ok
	}

	// 1. Rotation under load.
	load := startKeyLoad(s, key, 4, 4)
	time.Sleep(500 * time.Millisecond)
	began = time.Now()
	out, ok := rotate(s, c.keys[1])
	took := time.Since(began)
	acked := load.stop(t, "rotation under load")
	if !ok || !strings.Contains(out, "current master key version: 2 (no rotation in progress)") {
		t.Fatalf("rotate under load: %s", out)
	}
	t.Logf("rotation of %d tenant keys under load: %s", rotationTenants+1, took.Round(time.Millisecond))
	st := masterStatus(t, s)
	if st.Current != 2 || st.Rotating || st.Rewrapped != st.TenantKeys || st.TenantKeys < rotationTenants {
		t.Fatalf("status after rotation: %+v", st)
	}
	s.Stop(t)
	for k, v := range acked {
		tokens[k] = `"` + v + `"`
	}

	code, log := harness.StartFailure(t, harness.Options{DataDir: dir, ManagementKey: s.ManagementKey, Caddyfile: keysCaddyfile(c.block(c.keys[0])), Env: c.env})
	if code == 0 || !strings.Contains(log, "needs master key version 2") {
		t.Errorf("start with only the retired key: exit %d, log:\n%s", code, tail(log))
	}
	s = start(c.keys[1])
	checkTokens(t, "after rotation, new key only", s, key, tokens)

	// 2. kill -9 half way through the next rotation.
	killMidway(t, s, func() string { out, _ := rotate(s, c.keys[2]); return out }, func() (bool, string) {
		st := masterStatus(t, s)
		return st.Current == 3 && st.Rewrapped > 0 && st.Rewrapped < st.TenantKeys, fmt.Sprintf("%+v", st)
	})
	code, log = harness.StartFailure(t, harness.Options{DataDir: dir, ManagementKey: s.ManagementKey, Caddyfile: keysCaddyfile(c.block(c.keys[1])), Env: c.env})
	if code == 0 || !strings.Contains(log, "needs master key version 3") {
		t.Errorf("start mid-rotation without the new key: exit %d, log:\n%s", code, tail(log))
	}
	s = start(c.keys[2], c.keys[1])
	st = masterStatus(t, s)
	if !st.Rotating || st.Rewrapped == 0 || st.Rewrapped == st.TenantKeys {
		t.Errorf("status after kill -9 mid-rotation: %+v", st)
	}
	t.Logf("killed with %d of %d tenant keys re-wrapped", st.Rewrapped, st.TenantKeys)
	checkTokens(t, "mid-rotation, both keys", s, key, tokens)
	if out, ok := rotate(s, c.keys[2]); !ok || !strings.Contains(out, "current master key version: 3 (no rotation in progress)") {
		t.Fatalf("resume the rotation: %s", out)
	}
	s.Stop(t)
	s = start(c.keys[2])
	checkTokens(t, "after the resumed rotation, newest key only", s, key, tokens)
	status, _, _ := s.Do(t, "GET", "/tenants/self", s.ManagementKey, nil)
	mustStatus(t, "management key after rotations", status, http.StatusOK)
	audit, errOut, ok := cli(t, t.TempDir(), nil, "audit", "export", "--tenant", "vault", "--address", s.AdminAddr)
	for _, msg := range []string{"rotation to version 2 started", "rotated to version 2", "rotation to version 3 started", "rotated to version 3"} {
		if !ok || !strings.Contains(audit, msg) {
			t.Errorf("the vault audit log lacks %q (%s)", msg, errOut)
		}
	}
	s.Stop(t)
	for _, secret := range c.secrets {
		if strings.Contains(s.Log(), secret) {
			t.Errorf("the server log holds a secret")
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

func TestMasterKeyRotationFileWrapper(t *testing.T) {
	if testing.Short() {
		t.Skip("rotation scenario")
	}
	kd := t.TempDir()
	c := custody{flag: "--new-key-file"}
	for i := range c.keys {
		c.keys[i] = newKeyFile(t, kd, []string{"a.key", "b.key", "c.key"}[i])
		c.secrets = append(c.secrets, strings.TrimSpace(readFile(t, c.keys[i])))
	}
	c.block = func(current string, previous ...string) string { return localWrapper(current, previous...) }
	c.wrapper = func(current string) keywrap.Wrapper { return &keywrap.Local{KeyFile: current} }
	runRotation(t, c)
}
