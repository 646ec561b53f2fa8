package test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

const (
	softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"
	hsmToken      = "strongroom-test"
	hsmPin        = "31415926"
)

// softHSM makes a SoftHSM2 token in a temp dir and points this process
// (and the servers and commands it starts) at it. It skips when SoftHSM2
// is not installed, unless CI=true.
func softHSM(t *testing.T) (env []string) {
	t.Helper()
	if _, err := os.Stat(softHSMModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("softhsm2 is not installed (%v); .ci/run installs it", err)
		}
		t.Skipf("softhsm2 is not installed: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "directories.tokendir = " + filepath.Join(dir, "tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", hsmToken, "--so-pin", "27182818", "--pin", hsmPin).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return []string{"SOFTHSM2_CONF=" + conf, "STRONGROOM_PKCS11_PIN=" + hsmPin}
}

// hsmInit creates an HSM key through the CLI, as an operator does.
func hsmInit(t *testing.T, env []string, label string) {
	t.Helper()
	out, errOut, ok := cli(t, t.TempDir(), env, "hsm", "init", "--pkcs11-module", softHSMModule, "--token-label", hsmToken, "--key-label", label)
	if !ok || !strings.Contains(out, "created HSM key") {
		t.Fatalf("vault hsm init %s: %s %s", label, out, errOut)
	}
}

func pkcs11Block(current string, previous ...string) string {
	b := "key_wrapper pkcs11 {\n\t\t\tmodule " + softHSMModule + "\n\t\t\ttoken_label " + hsmToken +
		"\n\t\t\tpin {env.STRONGROOM_PKCS11_PIN}\n\t\t\tkey_label " + current + "\n"
	for _, p := range previous {
		b += "\t\t\tprevious_key_label " + p + "\n"
	}
	return b + "\t\t}"
}

func pkcs11Wrapper(label string) keywrap.Wrapper {
	return &keywrap.PKCS11{Module: softHSMModule, TokenLabel: hsmToken, Pin: hsmPin, KeyLabel: label}
}

// TestPKCS11WrapperEndToEnd: a server whose master key is in SoftHSM2
// writes tokens of every type and reads them after a restart.
//
// What is provable about secrecy: the master key is created inside the
// token as sensitive and not extractable, so the HSM refuses to give its
// value to anyone (checked below), and no master key file exists. The
// tenant key is the secret the HSM unwraps; the test unwraps it through the
// HSM itself and checks its bytes (raw, hex, base64) appear in no file of
// the data directory and nowhere in the server's log, nor does the PIN.
func TestPKCS11WrapperEndToEnd(t *testing.T) {
	env := softHSM(t)
	hsmInit(t, env, "master-1")
	s := harness.Start(t, harness.Options{Caddyfile: keysCaddyfile(pkcs11Block("master-1")), Env: env})
	key := tokenKey(t, s)
	tokens := writeEveryType(t, s, key)
	s.Restart(t)
	checkTokens(t, "pkcs11 wrapper after restart", s, key, tokens)
	tenantID := s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, 200)["id"].(string)
	s.Stop(t)

	// The HSM key's value cannot be read out.
	ctx, err := crypto11.Configure(&crypto11.Config{Path: softHSMModule, TokenLabel: hsmToken, Pin: hsmPin})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ctx.FindKey(nil, []byte("master-1"))
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[uint]bool{pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false} {
		a, err := ctx.GetAttribute(sk, attr)
		if err != nil || len(a.Value) != 1 || (a.Value[0] == 1) != want {
			t.Errorf("HSM key attribute %#x = %v (%v), want %v", attr, a, err, want)
		}
	}
	if a, err := ctx.GetAttribute(sk, pkcs11.CKA_VALUE); err == nil && len(a.Value) > 0 {
		t.Errorf("the HSM handed out the master key's value")
	}
	ctx.Close()
	if _, err := os.Stat(filepath.Join(s.DataDir, "master.key")); err == nil {
		t.Errorf("a master key file exists beside an HSM-held master key")
	}

	tenantKey := unwrapTenantKeyViaHSM(t, s.DataDir, tenantID, "master-1")
	needles := [][]byte{tenantKey, []byte(hex.EncodeToString(tenantKey)), []byte(base64.StdEncoding.EncodeToString(tenantKey)), []byte(hsmPin)}
	filepath.WalkDir(s.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for i, n := range needles[:3] {
			if bytes.Contains(b, n) {
				t.Errorf("the tenant key (form %d) is in %s", i, path)
			}
		}
		return nil
	})
	for i, n := range needles {
		if strings.Contains(s.Log(), string(n)) {
			t.Errorf("the server log holds secret %d", i)
		}
	}
}

// unwrapTenantKeyViaHSM opens a tenant key record with the HSM key, the
// way the vault does, to learn the bytes that must appear nowhere.
func unwrapTenantKeyViaHSM(t *testing.T, dir, tenantID, label string) []byte {
	t.Helper()
	w := pkcs11Wrapper(label)
	c, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: w})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Bind(nil, egress.Policy{}, vault.Settings{})
	defer v.Close()
	raw, err := v.Store().Get(store.Key("tkey", tenantID))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Keys map[string][]byte `json:"keys"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Keys["1"] == nil {
		t.Fatalf("tenant key record: %v", err)
	}
	k, err := w.Load(label)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := k.Open(rec.Keys["1"], store.Key("tkey", tenantID, "token-ad-v2"))
	if err != nil || len(tk) != 32 {
		t.Fatalf("unwrap the tenant key through the HSM: %v", err)
	}
	return tk
}

func TestMasterKeyRotationPKCS11(t *testing.T) {
	if testing.Short() {
		t.Skip("rotation scenario")
	}
	env := softHSM(t)
	c := custody{keys: [3]string{"master-a", "master-b", "master-c"}, block: pkcs11Block, wrapper: pkcs11Wrapper,
		flag: "--new-key-label", env: env, secrets: []string{hsmPin}}
	for _, l := range c.keys {
		hsmInit(t, env, l)
	}
	runRotation(t, c)
}
