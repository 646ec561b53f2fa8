package test

import (
	"encoding/json"
	"fmt"
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

// tokenApp creates a server_to_server application with the given
// permissions and returns its key.
func tokenApp(t *testing.T, s *harness.Server, perms ...string) string {
	t.Helper()
	app := s.JSON(t, "POST", "/applications", s.ManagementKey,
		map[string]any{"name": "tokens", "type": "server_to_server", "permissions": perms}, http.StatusCreated)
	return app["key"].(string)
}

// TestTokenizeCrashLosesNothing runs concurrent composite tokenize
// requests, kills the server with SIGKILL mid-load, restarts it, and checks
// that every acknowledged token reads back intact and that no composite was
// half written (each composite's four tokens exist together or not at all).
func TestTokenizeCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	s := start(t)
	key := tokenApp(t, s, "token:general:create", "token:general:read:high")

	type ack struct {
		group string
		ids   map[string]string // id → expected plaintext
	}
	var (
		mu    sync.Mutex
		acks  []ack
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		sent  int
		fails int
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				g := fmt.Sprintf("g%d-%d", w, i)
				body := map[string]any{
					"a": g + "-a",
					"b": map[string]any{"type": "token", "data": g + "-b"},
					"c": []any{g + "-c0", g + "-c1"},
				}
				req, _ := harness.NewRequest("POST", s.BaseURL+"/tokenize", key, body)
				resp, err := client.Do(req)
				mu.Lock()
				sent++
				mu.Unlock()
				if err != nil {
					return // the server died under us: expected
				}
				var out struct {
					A string              `json:"a"`
					B struct{ ID string } `json:"b"`
					C []string            `json:"c"`
				}
				ok := resp.StatusCode == http.StatusCreated && decodeJSON(resp, &out) == nil && len(out.C) == 2
				resp.Body.Close()
				mu.Lock()
				if ok {
					acks = append(acks, ack{g, map[string]string{out.A: g + "-a", out.B.ID: g + "-b", out.C[0]: g + "-c0", out.C[1]: g + "-c1"}})
				} else {
					fails++
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	s.Kill(t)
	close(stop)
	wg.Wait()
	if len(acks) == 0 {
		t.Fatalf("no tokenize request was acknowledged before the kill (%d sent, %d failed)", sent, fails)
	}
	s.Restart(t)

	// Read everything back through the cursor list (one pass, O(n)).
	stored := map[string]string{}
	groups := map[string]int{}
	for cursor := ""; ; {
		list := s.JSON(t, "GET", "/v2/tokens?size=100&start="+cursor, key, nil, http.StatusOK)
		for _, d := range list["data"].([]any) {
			tok := d.(map[string]any)
			v := tok["data"].(string)
			stored[tok["id"].(string)] = v
			groups[v[:strings.LastIndexByte(v, '-')]]++
		}
		next, _ := list["pagination"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	for _, a := range acks {
		for id, want := range a.ids {
			if got, ok := stored[id]; !ok || got != want {
				t.Fatalf("acknowledged token %s of %s: stored %q (present %v), want %q", id, a.group, got, ok, want)
			}
		}
	}
	// No partial composite: every stored composite has all four tokens.
	for g, n := range groups {
		if n != 4 {
			t.Errorf("composite %s has %d of its 4 tokens after the crash", g, n)
		}
	}
	if len(groups) < len(acks) {
		t.Errorf("%d composites stored, fewer than the %d acknowledged", len(groups), len(acks))
	}
	t.Logf("%d composites acknowledged before SIGKILL, %d stored after restart, all intact", len(acks), len(groups))
}

// TestTokensAcrossTenants: a token of another tenant is a 404, never a 403
// that would confirm it exists, and equal card numbers get equal
// fingerprints within a tenant but not across tenants.
func TestTokensAcrossTenants(t *testing.T) {
	dir := t.TempDir()
	s := harness.Start(t, harness.Options{DataDir: dir})
	keyA := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
	s.Stop(t)
	out, err := exec.Command(harness.Binary(t), "vault", "tenant", "create", "--name", "Other", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("vault tenant create: %v\n%s", err, out)
	}
	mgmtB := ""
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "management key:"); ok {
			mgmtB = strings.Fields(rest)[0]
		}
	}
	if !strings.HasPrefix(mgmtB, "key_") {
		t.Fatalf("no management key in CLI output:\n%s", out)
	}
	s.Restart(t)
	appB := s.JSON(t, "POST", "/applications", mgmtB,
		map[string]any{"name": "b", "type": "server_to_server", "permissions": []string{"token:pci:create", "token:pci:read:high"}}, http.StatusCreated)
	keyB := appB["key"].(string)

	card := map[string]any{"type": "card_number", "data": "4242424242424242"}
	a1 := s.JSON(t, "POST", "/tokens", keyA, card, http.StatusCreated)
	a2 := s.JSON(t, "POST", "/tokens", keyA, card, http.StatusCreated)
	b1 := s.JSON(t, "POST", "/tokens", keyB, card, http.StatusCreated)
	if a1["fingerprint"] == nil || a1["fingerprint"] != a2["fingerprint"] {
		t.Errorf("same card in one tenant: fingerprints %v and %v differ", a1["fingerprint"], a2["fingerprint"])
	}
	if a1["fingerprint"] == b1["fingerprint"] {
		t.Errorf("same card in two tenants share fingerprint %v: tenants could correlate", a1["fingerprint"])
	}
	status, _, body := s.Do(t, "GET", "/tokens/"+a1["id"].(string), keyB, nil)
	if status != http.StatusNotFound {
		t.Errorf("tenant B reading tenant A's token: %d %s, want 404", status, body)
	}
	status, _, body = s.Do(t, "DELETE", "/tokens/"+a1["id"].(string), keyB, nil)
	if status != http.StatusNotFound {
		t.Errorf("tenant B deleting tenant A's token: %d %s, want 404", status, body)
	}
	s.JSON(t, "GET", "/tokens/"+a1["id"].(string), keyA, nil, http.StatusOK)
}

// TestPlaintextNeverLeaks creates tokens with distinctive plaintext, reads,
// detokenizes, searches and fails on them, then checks that the plaintext
// appears nowhere in the server log or in any file of the data directory.
func TestPlaintextNeverLeaks(t *testing.T) {
	s := start(t)
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high", "token:pii:create", "token:pii:read:high",
		"token:general:create", "token:general:read:high")
	secrets := []string{"4000056655665556", "987-65-4329", "zebra-plaintext-canary"}
	card := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": secrets[0]}, http.StatusCreated)
	ssn := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "social_security_number", "data": secrets[1]}, http.StatusCreated)
	gen := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": secrets[2],
		"search_indexes": []string{"{{ data }}"}}, http.StatusCreated)
	for _, tok := range []map[string]any{card, ssn, gen} {
		s.JSON(t, "GET", "/tokens/"+tok["id"].(string), key, nil, http.StatusOK)
	}
	s.JSON(t, "POST", "/detokenize", key, map[string]any{"x": "{{ " + card["id"].(string) + " }}"}, http.StatusOK)
	s.JSON(t, "POST", "/tokens/search", key, map[string]any{"query": "data:" + secrets[2]}, http.StatusOK)
	// Failures that carry the plaintext in the request.
	s.Do(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": secrets[0] + "1"})
	s.Do(t, "POST", "/tokens", key, map[string]any{"type": "social_security_number", "data": secrets[1] + "-"})
	s.Do(t, "POST", "/detokenize", key, map[string]any{"x": "{{ " + gen["id"].(string) + " | json: '$.[' }}"})
	s.Stop(t)

	for _, secret := range secrets {
		if strings.Contains(s.Log(), secret) {
			t.Errorf("plaintext %q appears in the server log", secret)
		}
	}
	err := filepath.Walk(s.DataDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range secrets {
			if strings.Contains(string(b), secret) {
				t.Errorf("plaintext %q stored in clear in %s", secret, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
