package vault

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// Kept answers expire after IdempotencyRetention: the key then runs as a
// new request, and Sweep removes the record from the store.
func TestIdempotencyRetentionAndSweep(t *testing.T) {
	e := newEnv(t)
	move := setClock(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	p, _ := e.app(access.TypePrivate, []string{"token:create"})
	runs := 0
	run := func() (Answer, error) {
		runs++
		tok, err := e.v.CreateToken(p, tokReq("token", `"x"`))
		if err != nil {
			return Answer{}, err
		}
		return Answer{Status: http.StatusCreated, Body: []byte(`{"id":"` + tok.ID + `"}`)}, nil
	}
	a1, err := e.v.Idempotent(p, "k1", "POST /tokens", run)
	if err != nil {
		t.Fatal(err)
	}
	move(time.Date(2030, 1, 1, 23, 59, 0, 0, time.UTC))
	a2, err := e.v.Idempotent(p, "k1", "POST /tokens", run)
	if err != nil || runs != 1 || !bytes.Equal(a1.Body, a2.Body) {
		t.Fatalf("within 24 h: runs %d, %s vs %s, %v; want one run and the same answer", runs, a1.Body, a2.Body, err)
	}
	kept := func() int {
		n := 0
		e.v.Store().Scan(store.Prefix(kernel.IdemCollection), nil, func(_, _ []byte) bool { n++; return true })
		return n
	}
	if kept() != 1 {
		t.Fatalf("%d kept answers, want 1", kept())
	}
	move(time.Date(2030, 1, 2, 0, 0, 1, 0, time.UTC))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if kept() != 0 {
		t.Errorf("%d kept answers after 24 h and a sweep, want 0", kept())
	}
	if _, err := e.v.Idempotent(p, "k1", "POST /tokens", run); err != nil || runs != 2 {
		t.Errorf("after retention: runs %d (%v), want a second run", runs, err)
	}
}

// The kept answer is sealed: neither the body nor a token id is in the
// store in clear.
func TestIdempotencyAnswerIsSealed(t *testing.T) {
	e := newEnv(t)
	p, _ := e.app(access.TypePrivate, []string{"token:create"})
	secret := []byte("reactor-output-4242424242424242")
	if _, err := e.v.Idempotent(p, "k", "POST /reactors/x/react", func() (Answer, error) {
		return Answer{Status: 200, Body: append(append([]byte(`{"raw":"`), secret...), '"', '}')}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.v.Store().Scan(store.Prefix(kernel.IdemCollection), nil, func(_, val []byte) bool {
		if bytes.Contains(val, secret) {
			t.Errorf("kept answer holds the body in clear: %s", val)
		}
		return true
	})
}

// A session can be granted only what its authorizer holds, transform
// included, on every container the grant covers.
func TestSessionGrantsNeverEscalate(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.app(access.TypePublic, []string{"token:create"})
	authz, _ := e.app(access.TypePrivate, nil,
		access.Rule{Priority: 1, Container: "/pci/high/", Transform: access.Mask, Permissions: []string{"token:read"}},
		access.Rule{Priority: 2, Container: "/", Transform: access.Reveal, Permissions: []string{"token:read", "token:create"}})
	for name, req := range map[string]AuthorizeSessionRequest{
		"reveal over a masked sub-container": {Rules: []access.Rule{{Priority: 1, Container: "/pci/", Transform: access.Reveal, Permissions: []string{"token:read"}}}},
		"a permission it lacks":              {Permissions: []string{"token:delete"}},
		"an invocation it lacks":             {Permissions: []string{"reactor:invoke"}},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := e.v.CreateSession(pub)
			if err != nil {
				t.Fatal(err)
			}
			req.Nonce = &s.Nonce
			wantProblem(t, e.v.AuthorizeSession(authz, req), 403)
		})
	}
	s, _ := e.v.CreateSession(pub)
	ok := AuthorizeSessionRequest{Nonce: &s.Nonce, Rules: []access.Rule{{Priority: 1, Container: "/general/", Transform: access.Reveal, Permissions: []string{"token:read"}}}}
	if err := e.v.AuthorizeSession(authz, ok); err != nil {
		t.Fatalf("a grant the authorizer holds: %v", err)
	}
	wantProblem(t, e.v.AuthorizeSession(authz, ok), 400, "nonce") // one-time nonce
}

// Intents expire after 24 h and are swept.
func TestTokenIntentExpiry(t *testing.T) {
	e := newEnv(t)
	move := setClock(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	p, _ := e.app(access.TypePrivate, []string{"token-intent:create", "token-intent:read", "token:create"})
	it, err := e.v.CreateTokenIntent(p, TokenIntentRequest{Type: ptr("card"), Data: raw(`{"number":"4242424242424242","expiration_month":12,"expiration_year":2031,"cvc":"123"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC); !it.ExpiresAt.Equal(want) {
		t.Errorf("expires_at %v, want %v", it.ExpiresAt, want)
	}
	move(time.Date(2030, 1, 2, 0, 0, 1, 0, time.UTC))
	wantProblem(t, func() error { _, err := e.v.GetTokenIntent(p, it.ID); return err }(), 404)
	_, err = e.v.CreateToken(p, TokenRequest{TokenIntentID: &it.ID})
	wantProblem(t, err, 400, "token_intent_id")
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Store().Get(kernel.TokenIntentKey(p.TenantID, it.ID)); err == nil {
		t.Error("expired intent still stored after a sweep")
	}
}

// Two sessions of one public application, granted alike, are two callers:
// one's idempotency key never replays the other's answer.
func TestIdempotencyScopedPerSession(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.app(access.TypePublic, []string{"token:create"})
	authz, _ := e.app(access.TypePrivate, []string{"token:create", "token:read"})
	session := func() *access.Principal {
		s, err := e.v.CreateSession(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.v.AuthorizeSession(authz, AuthorizeSessionRequest{Nonce: &s.Nonce, Permissions: []string{"token:create", "token:read"}}); err != nil {
			t.Fatal(err)
		}
		return e.auth(s.SessionKey)
	}
	a, b := session(), session()
	runs := 0
	run := func() (Answer, error) {
		runs++
		return Answer{Status: http.StatusCreated, Body: []byte(`{"run":` + string(rune('0'+runs)) + `}`)}, nil
	}
	first, err := e.v.Idempotent(a, "shared", "POST /tokens", run)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.v.Idempotent(a, "shared", "POST /tokens", run)
	if err != nil || !bytes.Equal(again.Body, first.Body) || runs != 1 {
		t.Fatalf("the same session's repeat: %s, %v, %d runs", again.Body, err, runs)
	}
	other, err := e.v.Idempotent(b, "shared", "POST /tokens", run)
	if err != nil || bytes.Equal(other.Body, first.Body) || runs != 2 {
		t.Fatalf("another session got %s (%v, %d runs), want a run of its own", other.Body, err, runs)
	}
}
