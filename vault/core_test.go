package vault

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/egress"
)

// Core.Accepts: a second config may share an open Core only when it asks
// for the same master key and management key; the refusal says which and
// shows neither.
func TestCoreAccepts(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, MasterKey: testMaster, ManagementKey: testMgmtKey}
	c, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Accepts(opts); err != nil {
		t.Fatalf("the same options: %v", err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"another management key", Options{DataDir: dir, MasterKey: testMaster, ManagementKey: "key_Other"}, "management key"},
		{"no management key", Options{DataDir: dir, MasterKey: testMaster}, "management key"},
		{"another master key", Options{DataDir: dir, MasterKey: bytes.Repeat([]byte{0x44}, 32), ManagementKey: testMgmtKey}, "master key"},
		{"a master key file", Options{DataDir: dir, MasterKeyFile: filepath.Join(dir, "k"), ManagementKey: testMgmtKey}, filepath.Join(dir, "k")},
		{"another data dir", Options{DataDir: t.TempDir(), MasterKey: testMaster, ManagementKey: testMgmtKey}, "not"},
	} {
		err := c.Accepts(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), testMgmtKey) || strings.Contains(err.Error(), "key_Other") {
			t.Errorf("%s: the refusal shows a key: %v", tc.name, err)
		}
	}
}

// Views of one Core share its data but not their settings.
func TestBindViewsKeepTheirSettings(t *testing.T) {
	c, err := Open(Options{DataDir: t.TempDir(), MasterKey: testMaster, ManagementKey: testMgmtKey})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	strict := c.Bind(nil, egress.Policy{}, Settings{JWTLeeway: -1})
	loose := c.Bind(nil, egress.Policy{AllowInsecure: true}, Settings{JWTLeeway: time.Minute, CVCRetention: -1})
	if strict.JWT.Leeway != 0 || loose.JWT.Leeway != time.Minute || strict.CVCRetention != DefaultCVCRetention || loose.CVCRetention != -1 {
		t.Fatalf("settings leaked between views: strict %v/%v, loose %v/%v", strict.JWT.Leeway, strict.CVCRetention, loose.JWT.Leeway, loose.CVCRetention)
	}
	p, err := strict.Authenticate(testMgmtKey)
	if err != nil {
		t.Fatal(err)
	}
	dest := "http://127.0.0.1:9/"
	name := "loop"
	if _, err := strict.CreateProxy(p, ProxyRequest{Name: &name, DestinationURL: &dest}); err == nil {
		t.Error("the strict view accepted a loopback destination")
	}
	if _, err := loose.CreateProxy(p, ProxyRequest{Name: &name, DestinationURL: &dest}); err != nil {
		t.Errorf("the insecure view refused a loopback destination: %v", err)
	}
	if _, err := strict.CreateProxy(p, ProxyRequest{Name: &name, DestinationURL: &dest}); err == nil {
		t.Error("binding a second view changed the first one's policy")
	}
}
