package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// recorder is a local upstream that remembers what reached it.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"received":true}`)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) hostPort() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// middlewareCaddyfile composes the handlers the way the README shows:
// vault_auth + vault_detokenize + reverse_proxy to a PSP, and vault_auth +
// vault_tokenize + reverse_proxy in front of an application.
func middlewareCaddyfile(upstream string) string {
	return `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}

http://:{$STRONGROOM_PORT} {
	handle /psp/* {
		vault_auth
		vault_detokenize {
			delimiters "<<" ">>"
			headers X-Card-Last4
			max_tokens 1
			max_body_size 1024
		}
		reverse_proxy ` + upstream + `
	}
	handle /app/* {
		vault_auth
		vault_tokenize {
			field $.card.number card_number
			field $.people[*].ssn social_security_number
			form_field pan card_number
		}
		reverse_proxy ` + upstream + `
	}
	handle {
		vault_api
	}
}
`
}

func TestDetokenizeMiddleware(t *testing.T) {
	up := newRecorder(t)
	s := harness.Start(t, harness.Options{Caddyfile: middlewareCaddyfile(up.hostPort())})
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high", "token:pci:use:proxy")
	tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
	id := tok["id"].(string)

	body := `{"z":"first","amount":10.50,"pan":"<< ` + id + ` >>","bin":"<< ` + id + ` | card_bin >>","raw":"{{ not-an-expression-here }}"}`
	req, _ := harness.NewRequest("POST", s.BaseURL+"/psp/charge?x=1", key, []byte(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Card-Last4", "ends << "+id+" | last4 >>")
	status, _, resp := s.Send(t, req)
	if status != http.StatusOK || string(resp) != `{"received":true}` {
		t.Fatalf("POST /psp/charge: %d %s", status, resp)
	}
	got := up.all()
	if len(got) != 1 {
		t.Fatalf("upstream got %d requests", len(got))
	}
	want := `{"z":"first","amount":10.50,"pan":"4242424242424242","bin":"42424242","raw":"{{ not-an-expression-here }}"}`
	if got[0].body != want {
		t.Errorf("upstream body:\n got  %s\n want %s", got[0].body, want)
	}
	if h := got[0].header.Get("X-Card-Last4"); h != "ends 4242" {
		t.Errorf("X-Card-Last4 reached the upstream as %q", h)
	}
	if h := got[0].header.Get("Bt-Api-Key"); h != "" {
		t.Errorf("the API key reached the upstream: %q", h)
	}
	if got[0].path != "/psp/charge" || got[0].query != "x=1" {
		t.Errorf("upstream path %q query %q", got[0].path, got[0].query)
	}

	// Errors stop the request before the upstream. max_tokens (1 here)
	// counts unique tokens across headers and body together.
	tok2 := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "5555555555554444"}, http.StatusCreated)
	id2 := tok2["id"].(string)
	for _, tc := range []struct {
		name, key, body, header string
		status                  int
	}{
		{"unknown token", key, `{"pan":"<< 3f0c1c6e-2f39-4a3e-9c57-0d2d2d2d2d2d >>"}`, "", http.StatusBadRequest},
		{"no key", "", `{"pan":"<< ` + id + ` >>"}`, "", http.StatusUnauthorized},
		{"no use permission", tokenApp(t, s, "token:pci:read:high"), `{"pan":"<< ` + id + ` >>"}`, "", http.StatusForbidden},
		{"too many tokens in the body", key, `{"a":"<< ` + id + ` >>","b":"<< ` + id2 + ` >>"}`, "", http.StatusBadRequest},
		{"too many tokens across header and body", key, `{"pan":"<< ` + id + ` >>"}`, "<< " + id2 + " | last4 >>", http.StatusBadRequest},
		{"body over max_body_size", key, `{"pan":"<< ` + id + ` >>","pad":"` + strings.Repeat("x", 1024) + `"}`, "", http.StatusRequestEntityTooLarge},
	} {
		req, _ := harness.NewRequest("POST", s.BaseURL+"/psp/charge", tc.key, []byte(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.header != "" {
			req.Header.Set("X-Card-Last4", tc.header)
		}
		st, _, b := s.Send(t, req)
		if st != tc.status || !strings.Contains(string(b), `"errors"`) {
			t.Errorf("%s: %d %s, want %d problem", tc.name, st, b, tc.status)
		}
		if st == http.StatusRequestEntityTooLarge && !strings.Contains(string(b), `"body":[`) {
			t.Errorf("%s: %s does not name the body", tc.name, b)
		}
	}
	if n := len(up.all()); n != 1 {
		t.Errorf("failed requests reached the upstream: %d requests in all", n)
	}
}

func TestTokenizeMiddleware(t *testing.T) {
	up := newRecorder(t)
	s := harness.Start(t, harness.Options{Caddyfile: middlewareCaddyfile(up.hostPort())})
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high", "token:pii:create", "token:pii:read:high")

	body := `{"name":"Ada","card":{"number":"4242424242424242","exp":"12/30"},"people":[{"ssn":"123-45-6789"},{"ssn":"987-65-4320"}]}`
	req, _ := harness.NewRequest("POST", s.BaseURL+"/app/signup", key, []byte(body))
	req.Header.Set("Content-Type", "application/json")
	if st, _, b := s.Send(t, req); st != http.StatusOK {
		t.Fatalf("POST /app/signup: %d %s", st, b)
	}
	got := up.all()
	if len(got) != 1 {
		t.Fatalf("upstream got %d requests", len(got))
	}
	for _, secret := range []string{"4242424242424242", "123-45-6789", "987-65-4320"} {
		if strings.Contains(got[0].body, secret) {
			t.Errorf("plaintext %s reached the application: %s", secret, got[0].body)
		}
	}
	var fwd struct {
		Name   string
		Card   struct{ Number, Exp string }
		People []struct{ SSN string }
	}
	if err := jsonUnmarshal(got[0].body, &fwd); err != nil {
		t.Fatalf("upstream body %s: %v", got[0].body, err)
	}
	if fwd.Name != "Ada" || fwd.Card.Exp != "12/30" || !strings.HasPrefix(got[0].body, `{"name":"Ada","card":{"number":"`) {
		t.Errorf("untouched fields changed: %s", got[0].body)
	}
	for id, want := range map[string]string{fwd.Card.Number: "4242424242424242", fwd.People[0].SSN: "123-45-6789", fwd.People[1].SSN: "987-65-4320"} {
		tok := s.JSON(t, "GET", "/tokens/"+id, key, nil, http.StatusOK)
		if tok["data"] != want {
			t.Errorf("token %s holds %v, want %s", id, tok["data"], want)
		}
	}

	// Form fields.
	form := url.Values{"pan": {"4000056655665556"}, "note": {"keep"}}
	req, _ = harness.NewRequest("POST", s.BaseURL+"/app/form", key, []byte(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if st, _, b := s.Send(t, req); st != http.StatusOK {
		t.Fatalf("POST /app/form: %d %s", st, b)
	}
	got = up.all()
	fwdForm, _ := url.ParseQuery(got[1].body)
	if fwdForm.Get("note") != "keep" || fwdForm.Get("pan") == "4000056655665556" {
		t.Errorf("form reached the application as %s", got[1].body)
	}
	s.JSON(t, "GET", "/tokens/"+fwdForm.Get("pan"), key, nil, http.StatusOK)

	// One invalid field: nothing is created and nothing is forwarded.
	bad := `{"card":{"number":"4242424242424241"},"people":[{"ssn":"123-45-6789"}]}`
	req, _ = harness.NewRequest("POST", s.BaseURL+"/app/signup", key, []byte(bad))
	req.Header.Set("Content-Type", "application/json")
	if st, _, b := s.Send(t, req); st != http.StatusBadRequest || !strings.Contains(string(b), "card.number") {
		t.Errorf("invalid card: %d %s, want 400 naming card.number", st, b)
	}
	if n := len(up.all()); n != 2 {
		t.Errorf("a rejected request reached the application (%d requests)", n)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
