package test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// A restart (same data dir, new process) keeps applications and keys.
func TestRestartKeepsApplicationsAndKeys(t *testing.T) {
	t.Parallel()
	s := start(t)
	appID, key1 := managementApp(t, s, "Survivor", "application:read")
	key2 := s.JSON(t, "POST", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusCreated)["key"].(string)
	before := s.JSON(t, "GET", "/applications/"+appID, s.ManagementKey, nil, http.StatusOK)
	tenant := s.JSON(t, "PUT", "/tenants/self", s.ManagementKey, map[string]any{"name": "Persisted"}, http.StatusOK)

	s.Stop(t)
	if err := s.ExitErr(); err != nil {
		t.Errorf("SIGTERM: the server exited with %v", err)
	}
	if _, err := os.Stat(s.DataDir + "/master.key"); err != nil {
		t.Errorf("no generated master key in the data dir: %v", err)
	}
	s.Restart(t)

	for i, k := range []string{key1, key2} {
		if got := s.JSON(t, "GET", "/applications/key", k, nil, http.StatusOK); got["id"] != appID {
			t.Errorf("after restart key %d resolves to %v, want %s", i+1, got["id"], appID)
		}
	}
	after := s.JSON(t, "GET", "/applications/"+appID, s.ManagementKey, nil, http.StatusOK)
	if js(after) != js(before) {
		t.Errorf("application changed across restart:\nbefore %s\nafter  %s", js(before), js(after))
	}
	list := s.JSON(t, "GET", "/applications", s.ManagementKey, nil, http.StatusOK)
	if _, data := checkPage(t, "list after restart", list, 1, 20); !slices.Contains(ids(data), appID) || len(data) != 2 {
		t.Errorf("after restart the list holds %v, want the management app and %s", ids(data), appID)
	}
	if got := s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK); got["name"] != "Persisted" || got["id"] != tenant["id"] {
		t.Errorf("tenant after restart: %s", js(got))
	}
	if keys := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusOK)); len(keys) != 2 {
		t.Errorf("after restart %d keys, want 2", len(keys))
	}
	// Revocation persists too.
	s.JSON(t, "POST", "/applications/"+appID+"/regenerate", s.ManagementKey, nil, http.StatusOK)
	s.Restart(t)
	mustStatus(t, "regenerated-away key after restart", status(t, s, "GET", "/applications/key", key1), http.StatusUnauthorized)
}

// traffic issues requests continuously until stop is closed and records
// every failure and every created application.
type traffic struct {
	s      *harness.Server
	client *http.Client

	mu      sync.Mutex
	ok      int
	fails   []string
	created []string
}

func newTraffic(s *harness.Server) *traffic {
	return &traffic{s: s, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}}
}

func (tr *traffic) do(method, path string, body any, want int) (map[string]any, bool) {
	req, err := harness.NewRequest(method, tr.s.BaseURL+path, tr.s.ManagementKey, body)
	if err != nil {
		panic(err)
	}
	if method == "POST" {
		// A graceful reload closes the old server's idle keep-alive
		// connections; a POST written onto one at that instant meets EOF
		// before the server read it. HTTP lets clients retry only what is
		// replayable, and Go's transport treats a request carrying an
		// Idempotency-Key header as such: it resends it on a fresh
		// connection only when the server closed the reused one without
		// answering, i.e. never processed it. GETs get this for free.
		req.Header.Set("Idempotency-Key", fmt.Sprint(time.Now().UnixNano()))
	}
	resp, err := tr.client.Do(req)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err != nil {
		tr.fails = append(tr.fails, fmt.Sprintf("%s %s at %s: %v", method, path, time.Now().Format("15:04:05.000"), err))
		return nil, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != want {
		tr.fails = append(tr.fails, fmt.Sprintf("%s %s at %s: status %d (%v): %s", method, path, time.Now().Format("15:04:05.000"), resp.StatusCode, err, b))
		return nil, false
	}
	tr.ok++
	var m map[string]any
	json.Unmarshal(b, &m)
	return m, true
}

// Reloading the same config through the admin API keeps serving and keeps
// the data: the vault is shared across the old and new config.
func TestConfigReloadKeepsServing(t *testing.T) {
	t.Parallel()
	s := start(t)
	preID, preKey := managementApp(t, s, "Before reload", "application:read")

	tr := newTraffic(s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // reader
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			tr.do("GET", "/applications/key", nil, http.StatusOK)
			tr.do("GET", "/applications/"+preID, nil, http.StatusOK)
		}
	}()
	go func() { // writer
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if m, ok := tr.do("POST", "/applications", map[string]any{"name": fmt.Sprintf("during reload %d", i),
				"type": "private", "permissions": []string{"token:read"}}, http.StatusCreated); ok {
				tr.mu.Lock()
				tr.created = append(tr.created, m["id"].(string))
				tr.mu.Unlock()
			}
		}
	}()

	caddyfile, err := os.ReadFile(harness.RepoRoot() + "/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	loadsBefore := strings.Count(s.Log(), `"load complete"`)
	time.Sleep(300 * time.Millisecond)
	for range 2 {
		s.ReloadCaddyfile(t, caddyfile) // the unchanged config, twice
		time.Sleep(400 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	if n := strings.Count(s.Log(), `"load complete"`) - loadsBefore; n != 2 || strings.Contains(s.Log(), "config is unchanged") {
		t.Errorf("expected two real reloads in the log, saw %d load completions", n)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t.Logf("%d requests succeeded during two reloads, %d applications created", tr.ok, len(tr.created))
	if len(tr.fails) > 0 {
		t.Errorf("%d requests failed during reload; first ones:\n%s", len(tr.fails), strings.Join(tr.fails[:min(10, len(tr.fails))], "\n"))
	}
	if tr.ok < 20 || len(tr.created) == 0 {
		t.Errorf("too little traffic during the reloads (%d ok, %d created)", tr.ok, len(tr.created))
	}
	if got := s.JSON(t, "GET", "/applications/key", preKey, nil, http.StatusOK); got["id"] != preID {
		t.Errorf("key created before the reload resolves to %v", got["id"])
	}
	for _, id := range tr.created {
		mustStatus(t, "application created during reload "+id, status(t, s, "GET", "/applications/"+id, s.ManagementKey), http.StatusOK)
	}
	list := s.JSON(t, "GET", "/applications?size=1", s.ManagementKey, nil, http.StatusOK)
	if total := num(list["pagination"].(map[string]any)["total_items"]); total != len(tr.created)+2 {
		t.Errorf("total_items %d, want %d (management + pre-reload + %d created)", total, len(tr.created)+2, len(tr.created))
	}
}

// `kill -9` while writers run: every write the server acknowledged (201)
// is there after a restart (Pebble batches are committed with Sync).
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	s := start(t)
	const writers = 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"name":"w%d-%d","type":"private","permissions":["token:read"]}`, w, i)
				req, _ := harness.NewRequest("POST", s.BaseURL+"/applications", s.ManagementKey, body)
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					return // the server is gone
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusCreated {
					continue // not acknowledged
				}
				var app struct{ ID string }
				if json.Unmarshal(b, &app) != nil || app.ID == "" {
					continue
				}
				mu.Lock()
				acked = append(acked, app.ID)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2500 * time.Millisecond)
	s.Kill(t) // writers are mid-flight
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < writers {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}
	t.Logf("%d writes acknowledged before kill -9", len(acked))

	s.Restart(t)
	missing := 0
	for _, id := range acked {
		if st := status(t, s, "GET", "/applications/"+id, s.ManagementKey); st != http.StatusOK {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged application %s: GET after kill -9 and restart = %d", id, st)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost", missing, len(acked))
	}
	list := s.JSON(t, "GET", "/applications?size=1", s.ManagementKey, nil, http.StatusOK)
	if total := num(list["pagination"].(map[string]any)["total_items"]); total < len(acked)+1 {
		t.Errorf("total_items %d < %d acknowledged + management", total, len(acked)+1)
	}
	// The store is healthy: writes work after recovery.
	createApp(t, s, map[string]any{"name": "after recovery", "type": "private", "permissions": []string{"token:read"}})
}

func randomMasterKey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// A data dir opened with another master key refuses to start, saying why.
func TestWrongMasterKeyRefusesToStart(t *testing.T) {
	t.Parallel()
	keyA, keyB := randomMasterKey(t), randomMasterKey(t)
	s := harness.Start(t, harness.Options{Env: []string{"STRONGROOM_MASTER_KEY=" + keyA}})
	appID, _ := privateApp(t, s, "Guarded")
	s.Stop(t)
	if _, err := os.Stat(s.DataDir + "/master.key"); err == nil {
		t.Errorf("a master key file was generated although STRONGROOM_MASTER_KEY was set")
	}

	code, log := harness.StartFailure(t, harness.Options{DataDir: s.DataDir, ManagementKey: s.ManagementKey,
		Env: []string{"STRONGROOM_MASTER_KEY=" + keyB}})
	if code == 0 {
		t.Errorf("wrong master key: exit code 0, want non-zero")
	}
	if !strings.Contains(log, "master key does not match") {
		t.Errorf("wrong master key: the log does not say the master key does not match:\n%s", log)
	}
	if strings.Contains(log, keyA) || strings.Contains(log, keyB) {
		t.Errorf("the log prints a master key")
	}
	// Without the env var the data dir has no master.key file: no key is
	// generated for a store that holds data.
	code, log = harness.StartFailure(t, harness.Options{DataDir: s.DataDir, ManagementKey: s.ManagementKey})
	if code == 0 || !strings.Contains(log, "a new key is generated only for an empty store") {
		t.Errorf("no master key: exit code %d, log:\n%s", code, log)
	}

	// The right key still opens the data.
	s2 := harness.Start(t, harness.Options{DataDir: s.DataDir, ManagementKey: s.ManagementKey,
		Env: []string{"STRONGROOM_MASTER_KEY=" + keyA}})
	mustStatus(t, "application after a refused start", status(t, s2, "GET", "/applications/"+appID, s2.ManagementKey), http.StatusOK)

	// A malformed key is refused too.
	code, log = harness.StartFailure(t, harness.Options{DataDir: t.TempDir(), Env: []string{"STRONGROOM_MASTER_KEY=not-hex"}})
	if code == 0 || !strings.Contains(log, "STRONGROOM_MASTER_KEY") {
		t.Errorf("malformed master key: exit code %d, log:\n%s", code, log)
	}
}
