package test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// keysCaddyfile is a server config with the given key_wrapper block.
func keysCaddyfile(wrapper string) string {
	return `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		` + wrapper + `
	}
}
http://:{$STRONGROOM_PORT} {
	bind localhost
	vault_api
}
`
}

func localWrapper(keyFile string, previous ...string) string {
	b := "key_wrapper local {\n\t\t\tkey_file " + keyFile + "\n"
	for _, p := range previous {
		b += "\t\t\tprevious_key_file " + p + "\n"
	}
	return b + "\t\t}"
}

func newKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(crypto.NewKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// everyType is one valid token of each token type, by type.
var everyType = map[string]any{
	"token":                  map[string]any{"nested": []any{"a", 1.5, true}},
	"card":                   map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2031, "cvc": "123"},
	"bank":                   map[string]any{"routing_number": "110000000", "account_number": "000123456789"},
	"card_number":            "5555555555554444",
	"us_bank_account_number": "000123456789",
	"us_bank_routing_number": "110000000",
	"social_security_number": "123-45-6789",
	"employer_id_number":     "12-3456789",
}

// writeEveryType creates one token of each type and returns id → data JSON.
func writeEveryType(t *testing.T, s *harness.Server, key string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for typ, data := range everyType {
		tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": typ, "data": data}, http.StatusCreated)
		b, _ := json.Marshal(data)
		out[tok["id"].(string)] = string(b)
	}
	return out
}

// checkTokens reads every token back and compares its data.
func checkTokens(t *testing.T, what string, s *harness.Server, key string, want map[string]string) {
	t.Helper()
	bad := 0
	for id, data := range want {
		st, _, body := s.Do(t, "GET", "/tokens/"+id, key, nil)
		var tok struct{ Data json.RawMessage }
		if st != http.StatusOK || json.Unmarshal(body, &tok) != nil || !sameJSON(tok.Data, data) {
			if bad++; bad <= 5 {
				t.Errorf("%s: token %s: %d %s, want data %s", what, id, st, body, data)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d tokens do not read back", what, bad, len(want))
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// tokenKey is an application key that creates and reads tokens of every
// classification.
func tokenKey(t *testing.T, s *harness.Server) string {
	var perms []string
	for _, c := range []string{"general", "bank", "pci", "pii"} {
		perms = append(perms, "token:"+c+":create", "token:"+c+":read:high")
	}
	return tokenApp(t, s, perms...)
}

// keyLoad runs writers and readers until stopped; any answer but 201/200
// (or a transport error before stop) is a failure.
type keyLoad struct {
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	writes, reads atomic.Int64
	mu            sync.Mutex
	failures      []string
	acked         map[string]string
}

func startKeyLoad(s *harness.Server, key string, writers, readers int) *keyLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &keyLoad{cancel: cancel, acked: map[string]string{}}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: writers + readers}}
	do := func(method, path string, body any) (int, []byte, bool) {
		req, _ := harness.NewRequest(method, s.BaseURL+path, key, body)
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			if ctx.Err() == nil {
				l.fail(fmt.Sprintf("%s %s: %v", method, path, err))
			}
			return 0, nil, false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, true
	}
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				data := fmt.Sprintf("load-%d-%d", w, i)
				st, b, ok := do("POST", "/tokens", map[string]any{"type": "token", "data": data})
				if !ok {
					continue
				}
				var tok struct{ ID string }
				if st != http.StatusCreated || json.Unmarshal(b, &tok) != nil {
					l.fail(fmt.Sprintf("create: %d %s", st, b))
					continue
				}
				l.writes.Add(1)
				l.mu.Lock()
				l.acked[tok.ID] = data
				l.mu.Unlock()
			}
		}()
	}
	for range readers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				id, data := l.any()
				if id == "" {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				st, b, ok := do("GET", "/tokens/"+id, nil)
				if !ok {
					continue
				}
				if st != http.StatusOK || !strings.Contains(string(b), data) {
					l.fail(fmt.Sprintf("read %s: %d %s", id, st, b))
					continue
				}
				l.reads.Add(1)
			}
		}()
	}
	return l
}

func (l *keyLoad) fail(msg string) {
	l.mu.Lock()
	l.failures = append(l.failures, msg)
	l.mu.Unlock()
}

func (l *keyLoad) any() (string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, data := range l.acked {
		return id, data
	}
	return "", ""
}

// stop ends the load and returns the acknowledged tokens.
func (l *keyLoad) stop(t *testing.T, what string) map[string]string {
	t.Helper()
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%s: %d writes, %d reads", what, l.writes.Load(), l.reads.Load())
	for i, f := range l.failures {
		if i == 5 {
			break
		}
		t.Errorf("%s: %s", what, f)
	}
	if n := len(l.failures); n > 0 {
		t.Errorf("%s: %d failed requests", what, n)
	}
	return l.acked
}

// addTenants creates n tenants directly through the vault package on a
// stopped server's data directory (the API would add a network hop and an
// fsync per tenant; this groups commits across goroutines).
func addTenants(t testing.TB, dir string, w keywrap.Wrapper, n int) {
	t.Helper()
	c, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: w})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Bind(nil, egress.Policy{}, vault.Settings{})
	defer v.Close()
	var wg sync.WaitGroup
	var failed atomic.Int64
	const workers = 16
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += workers {
				if _, _, err := v.CreateTenant(fmt.Sprintf("tenant %d", i), vault.TenantProduction); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d tenants not created", failed.Load())
	}
}

// adminGet decodes a GET of the running server's admin API.
func adminGet[T any](t *testing.T, s *harness.Server, path string) T {
	t.Helper()
	var out T
	resp, err := http.Get("http://" + s.AdminAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return out
}

func masterStatus(t *testing.T, s *harness.Server) vault.MasterKeyStatus {
	return adminGet[vault.MasterKeyStatus](t, s, "/vault/keys/master")
}

// killMidway runs job (a CLI call) and kills the server -9 as soon as
// midway reports the job half done; the test fails if the job ends first.
func killMidway(t *testing.T, s *harness.Server, job func() string, midway func() (bool, string)) {
	t.Helper()
	done := make(chan string, 1)
	go func() { done <- job() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, state := midway()
		if ok {
			s.Kill(t)
			<-done
			return
		}
		select {
		case out := <-done:
			t.Fatalf("the job finished before it was seen half way (%s): %s", state, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress seen: %s", state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
