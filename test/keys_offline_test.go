package test

import (
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestMasterKeyRotationOffline: `vault master-key rotate --data-dir` on a
// stopped server's directory, then `status`, then a start with the new key.
func TestMasterKeyRotationOffline(t *testing.T) {
	kd := t.TempDir()
	a, b := newKeyFile(t, kd, "a.key"), newKeyFile(t, kd, "b.key")
	opts := harness.Options{Caddyfile: keysCaddyfile(localWrapper(a))}
	s := harness.Start(t, opts)
	key := tokenKey(t, s)
	tokens := writeEveryType(t, s, key)
	s.Stop(t)

	out, errOut, ok := cli(t, t.TempDir(), nil, "master-key", "rotate", "--data-dir", s.DataDir, "--master-key-file", a, "--new-key-file", b)
	if !ok || !strings.Contains(out, "current master key version: 2 (no rotation in progress)") {
		t.Fatalf("offline rotate: %s %s", out, errOut)
	}
	out, errOut, ok = cli(t, t.TempDir(), nil, "master-key", "status", "--data-dir", s.DataDir, "--master-key-file", b)
	if !ok || !strings.Contains(out, "version 1\tretired") || !strings.Contains(out, "version 2\tin use") {
		t.Fatalf("offline status: %s %s", out, errOut)
	}
	if _, errOut, ok = cli(t, t.TempDir(), nil, "master-key", "status", "--data-dir", s.DataDir, "--master-key-file", a); ok || !strings.Contains(errOut, "needs master key version 2") {
		t.Errorf("offline status with the retired key: %s", errOut)
	}
	s2 := harness.Start(t, harness.Options{DataDir: s.DataDir, ManagementKey: s.ManagementKey, Caddyfile: keysCaddyfile(localWrapper(b))})
	checkTokens(t, "after an offline rotation", s2, key, tokens)
}
