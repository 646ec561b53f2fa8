package test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// cli runs `strongroom vault args...` in dir (a directory with no ./data)
// and returns its output and whether it succeeded.
func cli(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), append([]string{"vault"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err == nil
}

// tokenWriters runs n writers creating tokens until ctx ends; acked
// returns the ids acknowledged (201) so far, with their data.
type tokenWriters struct {
	mu    sync.Mutex
	acked map[string]string // id → data
	wg    sync.WaitGroup
}

func startTokenWriters(ctx context.Context, s *harness.Server, key string, n int) *tokenWriters {
	tw := &tokenWriters{acked: map[string]string{}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for w := range n {
		tw.wg.Add(1)
		go func() {
			defer tw.wg.Done()
			for i := 0; ctx.Err() == nil && i < 100_000; i++ {
				data := fmt.Sprintf("w%d-%d", w, i)
				req, _ := harness.NewRequest("POST", s.BaseURL+"/tokens", key, map[string]any{"type": "token", "data": data})
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var tok struct{ ID string }
				if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &tok) != nil || tok.ID == "" {
					continue
				}
				tw.mu.Lock()
				tw.acked[tok.ID] = data
				tw.mu.Unlock()
			}
		}()
	}
	return tw
}

func (tw *tokenWriters) snapshot() map[string]string {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	out := make(map[string]string, len(tw.acked))
	for k, v := range tw.acked {
		out[k] = v
	}
	return out
}

// checkRestored starts a server on dir and checks it serves every token of
// want with its data.
func checkRestored(t *testing.T, what, dir, masterKey, mgmtKey string, want map[string]string) {
	t.Helper()
	s := harness.Start(t, harness.Options{DataDir: dir, ManagementKey: mgmtKey, Env: []string{"STRONGROOM_MASTER_KEY=" + masterKey}})
	_, reader := privateApp(t, s, "restore reader")
	missing := 0
	for id, data := range want {
		st, _, b := s.Do(t, "GET", "/tokens/"+id, reader, nil)
		var tok struct{ Data string }
		if st != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.Data != data {
			if missing++; missing <= 5 {
				t.Errorf("%s: acknowledged token %s: %d %s", what, id, st, b)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d acknowledged writes missing", what, missing, len(want))
	}
	s.Stop(t)
}

// checkNoMasterKey asserts no file under dir holds the master key, raw or
// hex, nor a master.key file.
func checkNoMasterKey(t *testing.T, dir, masterKeyHex string) {
	t.Helper()
	raw, _ := hex.DecodeString(masterKeyHex)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Name() == "master.key" || d.Name() == "management.key" {
			t.Errorf("the backup holds a key file: %s", path)
		}
		b, err := os.ReadFile(path)
		if err == nil && (bytes.Contains(b, raw) || bytes.Contains(b, []byte(masterKeyHex))) {
			t.Errorf("the backup file %s holds the master key", path)
		}
		return nil
	})
}

// An online backup taken while 8 writers run holds every write
// acknowledged before it started; a server started on it (same master key)
// serves them. A stopped server's data dir backs up the same way. The
// CLI runs from a directory without ./data.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	master := randomMasterKey(t)
	env := []string{"STRONGROOM_MASTER_KEY=" + master}
	s := harness.Start(t, harness.Options{Env: env})
	app := createApp(t, s, map[string]any{"name": "writer", "type": "private", "permissions": []string{"token:create", "token:read"}})
	key := app["key"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tw := startTokenWriters(ctx, s, key, 8)
	time.Sleep(1500 * time.Millisecond)
	before := tw.snapshot()
	if len(before) < 8 {
		t.Fatalf("only %d writes acknowledged before the backup", len(before))
	}
	elsewhere := t.TempDir()
	online := filepath.Join(t.TempDir(), "online")
	out, errOut, ok := cli(t, elsewhere, nil, "backup", "--address", s.AdminAddr, "--output", online)
	if !ok {
		t.Fatalf("online backup failed: %s%s", out, errOut)
	}
	if !strings.Contains(out, online) {
		t.Errorf("the backup command does not name its output: %q", out)
	}
	time.Sleep(300 * time.Millisecond) // writers go on after the backup
	cancel()
	tw.wg.Wait()
	all := tw.snapshot()
	t.Logf("%d writes acknowledged before the backup, %d in all", len(before), len(all))

	// A backup into a directory that is not empty is refused with the
	// server's message, not its raw JSON.
	_, errOut, ok = cli(t, elsewhere, nil, "backup", "--address", s.AdminAddr, "--output", online)
	if ok || !strings.Contains(errOut, "is not empty") || strings.Contains(errOut, `{"error"`) {
		t.Errorf("backup into a non-empty directory: ok=%v, stderr %q", ok, errOut)
	}
	s.Stop(t)

	checkNoMasterKey(t, online, master)
	checkRestored(t, "online backup", online, master, s.ManagementKey, before)

	// The stopped server: --data-dir, no master key needed.
	offline := filepath.Join(t.TempDir(), "offline")
	if out, errOut, ok := cli(t, elsewhere, nil, "backup", "--data-dir", s.DataDir, "--output", offline); !ok {
		t.Fatalf("offline backup failed: %s%s", out, errOut)
	}
	checkNoMasterKey(t, offline, master)
	checkRestored(t, "offline backup", offline, master, s.ManagementKey, all)

	// A data dir that does not exist is an error, and creates nothing.
	missing := filepath.Join(t.TempDir(), "nothing")
	if _, errOut, ok := cli(t, elsewhere, nil, "backup", "--data-dir", missing, "--output", filepath.Join(t.TempDir(), "x")); ok || !strings.Contains(errOut, "nothing") {
		t.Errorf("backup of a missing data dir: ok=%v %q", ok, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("backing up a missing data dir created it")
	}
}

// `caddy vault ... --address` works from any directory (no ./data there),
// and a refused admin call shows the server's message.
func TestCLIAddressFromAnyDirectory(t *testing.T) {
	t.Parallel()
	s := start(t)
	elsewhere := t.TempDir()
	out, errOut, ok := cli(t, elsewhere, nil, "tenant", "list", "--address", s.AdminAddr)
	if !ok || !strings.Contains(out, "Default Tenant") {
		t.Errorf("tenant list --address from a directory without ./data: ok=%v %q %q", ok, out, errOut)
	}
	_, errOut, ok = cli(t, elsewhere, nil, "key", "create", "--tenant", "not-a-tenant", "--address", s.AdminAddr)
	if ok || strings.Contains(errOut, `{"error"`) || !strings.Contains(errOut, "refused") {
		t.Errorf("a refused admin call: ok=%v, stderr %q (want the message, not raw JSON)", ok, errOut)
	}
}
