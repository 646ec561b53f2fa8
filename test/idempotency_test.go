package test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// idem sends one request carrying BT-IDEMPOTENCY-KEY.
func idem(t testing.TB, s *harness.Server, method, path, key, idemKey string, body any) (int, []byte) {
	t.Helper()
	st, _, b := idemFull(t, s, method, path, key, idemKey, body)
	return st, b
}

func idemFull(t testing.TB, s *harness.Server, method, path, key, idemKey string, body any) (int, http.Header, []byte) {
	t.Helper()
	req, err := harness.NewRequest(method, s.BaseURL+path, key, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("BT-IDEMPOTENCY-KEY", idemKey)
	return s.Send(t, req)
}

// countTokens counts the tokens whose metadata tag equals tag.
func countTokens(t testing.TB, s *harness.Server, key, tag string) int {
	t.Helper()
	page := s.JSON(t, "GET", "/v2/tokens?metadata.tag="+tag, key, nil, http.StatusOK)
	data, _ := page["data"].([]any)
	return len(data)
}

// TestIdempotency: BT-IDEMPOTENCY-KEY (wire contract §1.6) replays the first
// successful answer, byte for byte, to the same application; it never runs
// a write twice, is ignored on DELETE and by /proxy, and never replays what
// the caller could no longer read.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(dest.Close)
	s := harness.Start(t, harness.Options{Env: []string{envInsecure}})
	_, writer := privateAppWith(t, s, "idem writer", "token:create", "token:read", "token:update", "token:delete", "proxy:invoke", "token:use", "reactor:invoke")
	tag := "idem" + harness.NewKey()[4:12]
	card := map[string]any{"type": "card", "data": cardData, "metadata": map[string]any{"tag": tag}}

	t.Run("a repeat replays the first answer and creates nothing", func(t *testing.T) {
		st1, b1 := idem(t, s, "POST", "/tokens", writer, "k-create", card)
		st2, b2 := idem(t, s, "POST", "/tokens", writer, "k-create", card)
		if st1 != http.StatusCreated || st2 != http.StatusCreated || !bytes.Equal(b1, b2) {
			t.Fatalf("repeat: %d %s then %d %s; want the same 201 twice", st1, b1, st2, b2)
		}
		// The documented behaviour for a different body: the stored answer.
		other := map[string]any{"type": "token", "data": "other", "metadata": map[string]any{"tag": tag}}
		if st, b := idem(t, s, "POST", "/tokens", writer, "k-create", other); st != http.StatusCreated || !bytes.Equal(b, b1) {
			t.Errorf("repeat with another body: %d %s; want the first answer", st, b)
		}
		if n := countTokens(t, s, writer, tag); n != 1 {
			t.Errorf("%d tokens after three requests with one key, want 1", n)
		}
	})

	t.Run("PATCH and PUT replay the first answer and apply nothing more", func(t *testing.T) {
		id := mkToken(t, s, writer, map[string]any{"type": "token", "data": "patched", "metadata": map[string]any{"v": "0"}})
		st1, b1 := idem(t, s, "PATCH", "/tokens/"+id, writer, "k-patch", map[string]any{"metadata": map[string]any{"v": "1"}})
		st2, b2 := idem(t, s, "PATCH", "/tokens/"+id, writer, "k-patch", map[string]any{"metadata": map[string]any{"v": "2"}})
		if st1 != http.StatusOK || st2 != http.StatusOK || !bytes.Equal(b1, b2) {
			t.Fatalf("PATCH repeat: %d %s then %d %s; want the first answer twice", st1, b1, st2, b2)
		}
		if md := s.JSON(t, "GET", "/tokens/"+id, writer, nil, http.StatusOK)["metadata"].(map[string]any); md["v"] != "1" {
			t.Errorf("after a replayed PATCH the token's metadata is %v, want v=1", md)
		}
		appID, _ := privateAppWith(t, s, "idem put", "token:read")
		put := func(name string) (int, []byte) {
			return idem(t, s, "PUT", "/applications/"+appID, s.ManagementKey, "k-put", map[string]any{"name": name, "permissions": []string{"token:read"}})
		}
		st1, b1 = put("first name")
		st2, b2 = put("second name")
		if st1 != http.StatusOK || !bytes.Equal(b1, b2) {
			t.Fatalf("PUT repeat: %d %s then %d %s", st1, b1, st2, b2)
		}
		if name := s.JSON(t, "GET", "/applications/"+appID, s.ManagementKey, nil, http.StatusOK)["name"]; name != "first name" {
			t.Errorf("after a replayed PUT the application is named %v", name)
		}
	})

	t.Run("a failed first request is not kept", func(t *testing.T) {
		bad := map[string]any{"type": "card", "data": map[string]any{"number": "123"}}
		if st, b := idem(t, s, "POST", "/tokens", writer, "k-fail", bad); st != http.StatusBadRequest {
			t.Fatalf("invalid card: %d %s, want 400", st, b)
		}
		if st, b := idem(t, s, "POST", "/tokens", writer, "k-fail", card); st != http.StatusCreated {
			t.Fatalf("valid retry after a failure: %d %s, want 201 (a new run)", st, b)
		}
	})

	t.Run("keys are scoped per application and per route", func(t *testing.T) {
		_, other := privateAppWith(t, s, "idem other", "token:create", "token:read")
		_, b1 := idem(t, s, "POST", "/tokens", writer, "k-scope", card)
		st, b2 := idem(t, s, "POST", "/tokens", other, "k-scope", card)
		if st != http.StatusCreated || bytes.Equal(b1, b2) {
			t.Errorf("another application's key %q replayed %s", "k-scope", b2)
		}
		st, b3 := idem(t, s, "POST", "/tokenize", writer, "k-scope", map[string]any{"a": "x"})
		if st != http.StatusCreated || bytes.Equal(b3, b1) {
			t.Errorf("the key on another route: %d %s, want a tokenize answer", st, b3)
		}
	})

	t.Run("DELETE ignores the key", func(t *testing.T) {
		id := mkToken(t, s, writer, map[string]any{"type": "token", "data": "to delete"})
		if st, b := idem(t, s, "DELETE", "/tokens/"+id, writer, "k-del", nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d %s", st, b)
		}
		if st, b := idem(t, s, "DELETE", "/tokens/"+id, writer, "k-del", nil); st != http.StatusNotFound {
			t.Errorf("second delete with the same key: %d %s, want 404 (not a replay)", st, b)
		}
	})

	t.Run("the proxy is never replayed", func(t *testing.T) {
		before := hits.Load()
		for i := 0; i < 2; i++ {
			req, _ := harness.NewRequest("POST", s.BaseURL+"/proxy", writer, `{"x":1}`)
			req.Header.Set("BT-PROXY-URL", dest.URL)
			req.Header.Set("BT-IDEMPOTENCY-KEY", "k-proxy")
			if st, _, b := s.Send(t, req); st != http.StatusOK {
				t.Fatalf("proxy: %d %s", st, b)
			}
		}
		if n := hits.Load() - before; n != 2 {
			t.Errorf("destination saw %d requests, want 2", n)
		}
	})

	t.Run("parallel retries create exactly one token", func(t *testing.T) {
		ptag := tag + "p"
		body := map[string]any{"type": "token", "data": "parallel", "metadata": map[string]any{"tag": ptag}}
		const n = 12
		var wg sync.WaitGroup
		sts, bodies := make([]int, n), make([][]byte, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := harness.NewRequest("POST", s.BaseURL+"/tokens", writer, body)
				req.Header.Set("BT-IDEMPOTENCY-KEY", "k-parallel")
				resp, err := s.Client().Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				sts[i], bodies[i] = resp.StatusCode, buf.Bytes()
			}()
		}
		wg.Wait()
		var first []byte
		for i := range sts {
			switch sts[i] {
			case http.StatusCreated:
				if first == nil {
					first = bodies[i]
				} else if !bytes.Equal(first, bodies[i]) {
					t.Errorf("two different 201 answers for one key: %s and %s", first, bodies[i])
				}
			case http.StatusConflict: // in flight: the SDKs retry
			default:
				t.Errorf("parallel request %d: %d %s", i, sts[i], bodies[i])
			}
		}
		if c := countTokens(t, s, writer, ptag); c != 1 {
			t.Errorf("%d tokens from %d parallel requests with one key, want 1", c, n)
		}
	})

	t.Run("a repeat while the first runs is a 409", func(t *testing.T) {
		slow := rxCode(t, s, "idem slow", `module.exports = async () => {
  const end = Date.now() + 2500; while (Date.now() < end) {}
  return { raw: { r: Math.random() } };
};`, nil)
		done := make(chan []byte)
		go func() {
			req, _ := harness.NewRequest("POST", s.BaseURL+"/reactors/"+slow+"/react", writer, map[string]any{})
			req.Header.Set("BT-IDEMPOTENCY-KEY", "k-slow")
			resp, err := s.Client().Do(req)
			if err != nil {
				done <- nil
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			done <- buf.Bytes()
		}()
		time.Sleep(700 * time.Millisecond) // the first request is now running
		st, hdr, b := idemFull(t, s, "POST", "/reactors/"+slow+"/react", writer, "k-slow", map[string]any{})
		first := <-done
		if st != http.StatusConflict {
			t.Fatalf("repeat during the first react: %d %s, want 409", st, b)
		}
		checkProblem(t, "in flight", st, hdr, b, http.StatusConflict)
		if st, b := idem(t, s, "POST", "/reactors/"+slow+"/react", writer, "k-slow", map[string]any{}); st != http.StatusOK || !bytes.Equal(b, first) {
			t.Errorf("repeat after the first react: %d %s, want its answer %s", st, b, first)
		}
	})

	t.Run("no replay after the caller's grants or the token changed", func(t *testing.T) {
		appID, key := privateAppWith(t, s, "idem shrinking", "token:create", "token:read", "token:delete")
		_, b := idem(t, s, "POST", "/tokens", key, "k-grants", card)
		s.JSON(t, "PUT", "/applications/"+appID, s.ManagementKey,
			map[string]any{"name": "idem shrinking", "permissions": []string{"token:create"}}, http.StatusOK)
		st, b2 := idem(t, s, "POST", "/tokens", key, "k-grants", card)
		if st != http.StatusConflict || bytes.Equal(b, b2) {
			t.Errorf("repeat after the application lost token:read: %d %s, want 409", st, b2)
		}
		_, b = idem(t, s, "POST", "/tokens", writer, "k-gone", card)
		id := decodeObj(t, b)["id"].(string)
		s.Do(t, "DELETE", "/tokens/"+id, writer, nil)
		if st, b := idem(t, s, "POST", "/tokens", writer, "k-gone", card); st != http.StatusConflict {
			t.Errorf("repeat after the token was deleted: %d %s, want 409", st, b)
		}
	})

	t.Run("a hostile key is a 400 naming the header", func(t *testing.T) {
		for _, k := range []string{strings.Repeat("k", 256), "with space", "tab\tkey"} {
			st, hdr, b := idemFull(t, s, "POST", "/tokens", writer, k, card)
			checkProblem(t, "idempotency key "+k[:3], st, hdr, b, http.StatusBadRequest, "BT-IDEMPOTENCY-KEY")
		}
	})

	t.Run("kept answers survive kill -9", func(t *testing.T) {
		_, b1 := idem(t, s, "POST", "/tokens", writer, "k-durable", card)
		s.Kill(t)
		s.Restart(t)
		if st, b2 := idem(t, s, "POST", "/tokens", writer, "k-durable", card); st != http.StatusCreated || !bytes.Equal(b1, b2) {
			t.Errorf("after kill -9: %d %s, want the first answer %s", st, b2, b1)
		}
	})
}
