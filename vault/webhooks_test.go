package vault

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/webhook"
)

// The tests' own httptest servers are the receivers: let the egress
// policy's self-listener check allow them (effective under go test only).
func init() { egress.AllowSelfForTests() }

func TestWebhookCRUDAndValidation(t *testing.T) {
	e := newEnv(t)
	m := e.mgmt
	req := func(name, url string, events ...string) WebhookRequest {
		return WebhookRequest{Name: &name, URL: &url, Events: events}
	}
	_, err := e.v.CreateWebhook(m, WebhookRequest{Events: []string{"token.nope"}})
	wantProblem(t, err, 400, "name", "url", "events[0]")
	_, err = e.v.CreateWebhook(m, WebhookRequest{Name: ptr("x"), URL: ptr("https://example.com"), NotifyEmail: ptr("not an email")})
	wantProblem(t, err, 400, "events", "notify_email")
	_, err = e.v.CreateWebhook(e.writer(), req("x", "https://example.com", "token.created"))
	wantProblem(t, err, 403)

	w, err := e.v.CreateWebhook(m, req("hook", "https://example.com/hook", "token:created", "token.deleted"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != "enabled" || strings.Join(w.Events, ",") != "token.created,token.deleted" || w.CreatedBy == "" {
		t.Fatalf("created %+v", w)
	}
	u, err := e.v.UpdateWebhook(m, w.ID, req("renamed", "https://example.com/2", "token.updated"))
	if err != nil || u.Name != "renamed" || u.ModifiedAt == nil || strings.Join(u.Events, ",") != "token.updated" {
		t.Fatalf("updated %+v, %v", u, err)
	}
	list, err := e.v.ListWebhooks(m)
	if err != nil || len(list.Data) != 1 || list.Data[0].Name != "renamed" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if err := e.v.DeleteWebhook(m, w.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.v.GetWebhook(m, w.ID)
	wantProblem(t, err, 404)

	// Each change is in the audit log under an entity type the log lists.
	logs, err := e.v.ListLogs(m, audit.Filter{EntityType: "webhook", EntityID: w.ID}, Page{Number: 1, Size: 10}, "")
	if err != nil || len(logs.Data) != 3 {
		t.Fatalf("webhook audit entries %+v, %v", logs.Data, err)
	}
	types, _ := e.v.LogEntityTypes(m)
	if !slices.Contains(types, EntityType{"Webhook", "webhook"}) || !slices.Contains(types, EntityType{"Client Encryption Key", "key"}) {
		t.Fatalf("entity types %v", types)
	}
}

// The webhook URL is decided by the proxy's egress policy: in production
// mode every private, loopback, link-local, metadata and plain-http
// destination is refused at create time (and each address again at dial
// time, see vault/egress).
func TestWebhookDestinationPolicy(t *testing.T) {
	e := newEnv(t)
	e.v = e.v.Core.Bind(nil, egress.Policy{}, Settings{}) // production policy
	for _, url := range []string{"http://127.0.0.1:9000/hook", "https://10.0.0.1/", "https://169.254.169.254/latest",
		"https://[::1]/", "http://receiver.example/", "https://receiver.example:8443/", "https://user:pw@receiver.example/"} {
		name := "hook"
		_, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created"}})
		wantProblem(t, err, 400, "url")
	}
	url, name := "https://receiver.example/hook", "hook"
	if _, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created"}}); err != nil {
		t.Fatalf("a public https destination was refused: %v", err)
	}
}

// receiver is a loopback HTTP server answering with the next status of a
// script (then 200), recording what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	got    []received
}

type received struct {
	body    []byte
	headers http.Header
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{b, req.Header.Clone()})
		status := 200
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

func runDeliveries(t *testing.T, v *Vault, attempts int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.RunWebhookDeliveries(ctx, DeliveryOptions{Client: egress.Policy{AllowInsecure: true, Timeout: 5 * time.Second}.Client(),
			Retry: webhook.Retry{Attempts: attempts, Base: 20 * time.Millisecond}})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func waitDelivery(t *testing.T, v *Vault, p *access.Principal, webhookID string, status string) Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pg, err := v.ListWebhookDeliveries(p, webhookID, Page{Number: 1, Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Data) > 0 && pg.Data[0].Status == status {
			return pg.Data[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s delivery: %+v", status, pg.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhookDeliveryRetriedSignedAndRecorded(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 500, 503)
	name, url := "hook", rcv.URL+"/hook"
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created", "token.deleted"}})
	if err != nil {
		t.Fatal(err)
	}
	runDeliveries(t, e.v, 5)
	wr := e.writer()
	tok := mustCreate(t, e.v, wr, TokenRequest{Type: ptr("token"), Data: raw(`"top-secret-plaintext"`), Metadata: raw(`{"k":"v"}`)})
	d := waitDelivery(t, e.v, e.mgmt, w.ID, "delivered")
	if len(d.Attempts) != 3 || d.Attempts[0].StatusCode != 500 || d.Attempts[1].StatusCode != 503 || d.Attempts[2].StatusCode != 200 {
		t.Fatalf("attempts %+v", d.Attempts)
	}
	signer, _ := e.v.WebhookSigner()
	blk, _ := pem.Decode([]byte(signer.PublicKeyPEM()))
	pub, _ := x509.ParsePKIXPublicKey(blk.Bytes)
	rcv.mu.Lock()
	last := rcv.got[len(rcv.got)-1]
	rcv.mu.Unlock()
	if last.headers.Get("BT-SIGNATURE-VERSION") != "v1" {
		t.Fatalf("headers %v", last.headers)
	}
	canon, _ := webhook.Canonical(last.body)
	if err := webhook.Verify(pub.(*rsa.PublicKey), canon, last.headers.Get("BT-SIGNATURE")); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if strings.Contains(string(last.body), "top-secret-plaintext") {
		t.Fatal("the delivery carries token data")
	}
	var env struct {
		Event struct {
			ID   string `json:"id"`
			Data struct {
				Token struct {
					ID       string            `json:"id"`
					Data     any               `json:"data"`
					Metadata map[string]string `json:"metadata"`
				} `json:"token"`
				Actor struct{ ID, Type string } `json:"actor"`
			} `json:"data"`
		} `json:"event"`
		DeliveredAt string `json:"delivered_at"`
	}
	if err := json.Unmarshal(last.body, &env); err != nil {
		t.Fatal(err)
	}
	tk := env.Event.Data.Token
	if tk.ID != tok.ID || tk.Data != nil || tk.Metadata["k"] != "v" || env.Event.Data.Actor.ID != wr.ApplicationID || env.DeliveredAt == "" {
		t.Fatalf("payload %s", last.body)
	}
	if !strings.Contains(string(last.body), `"type":"token.created"`) {
		t.Fatalf("event type missing: %s", last.body)
	}

	// Not subscribed: no delivery for an update; a delete is delivered.
	n := rcv.count()
	if _, err := e.v.UpdateToken(wr, tok.ID, []byte(`{"metadata":{"k":"w"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.v.DeleteToken(wr, tok.ID); err != nil {
		t.Fatal(err)
	}
	d = waitDelivery(t, e.v, e.mgmt, w.ID, "delivered")
	if d.EventType != "token.deleted" || rcv.count() != n+1 {
		t.Fatalf("after update+delete: %+v, %d deliveries (want %d)", d, rcv.count(), n+1)
	}
}

func TestWebhookDeliveryGivesUpAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 500, 500, 500, 500)
	name, url := "hook", rcv.URL
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created"}})
	if err != nil {
		t.Fatal(err)
	}
	runDeliveries(t, e.v, 2)
	mustCreate(t, e.v, e.writer(), tokReq("token", `"x"`))
	d := waitDelivery(t, e.v, e.mgmt, w.ID, "failed")
	time.Sleep(100 * time.Millisecond)
	if len(d.Attempts) != 2 || rcv.count() != 2 || d.NextAttemptAt != nil {
		t.Fatalf("delivery %+v after %d requests", d, rcv.count())
	}
}

// A failed attempt is recorded in the proxy's words: never the address a
// name resolved to, nor the transport's text.
func TestWebhookAttemptErrorHidesResolvedAddress(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	port := rcv.URL[strings.LastIndexByte(rcv.URL, ':')+1:]
	rcv.Close() // nothing listens there any more
	name, url := "hook", "http://localhost:"+port+"/hook"
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created"}})
	if err != nil {
		t.Fatal(err)
	}
	runDeliveries(t, e.v, 1)
	mustCreate(t, e.v, e.writer(), tokReq("token", `"x"`))
	d := waitDelivery(t, e.v, e.mgmt, w.ID, "failed")
	msg := d.Attempts[0].Error
	if msg != "The destination could not be reached." {
		t.Fatalf("attempt error %q", msg)
	}
}

// Deleting a webhook while its delivery is in flight drops the delivery
// instead of writing it back.
func TestWebhookDeletedDuringDelivery(t *testing.T) {
	e := newEnv(t)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
		w.WriteHeader(500)
	}))
	t.Cleanup(srv.Close)
	name, url := "hook", srv.URL
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.created"}})
	if err != nil {
		t.Fatal(err)
	}
	runDeliveries(t, e.v, 5)
	mustCreate(t, e.v, e.writer(), tokReq("token", `"x"`))
	select {
	case <-arrived: // the attempt is waiting on the receiver
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery never reached the receiver")
	}
	if err := e.v.DeleteWebhook(e.mgmt, w.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	// The attempt ends after the deletion; a record it wrote back would stay
	// for good, so wait (bounded) for none to be left.
	n := -1
	for deadline := time.Now().Add(10 * time.Second); n != 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n = 0
		_ = e.v.Store().Scan([]byte(kernel.DeliveryCollection+"\x00"), nil, func(_, _ []byte) bool { n++; return true })
		_ = e.v.Store().Scan([]byte(kernel.QueuePrefix+"\x00"), nil, func(_, _ []byte) bool { n++; return true })
	}
	if n != 0 {
		t.Fatalf("%d delivery records outlived their webhook", n)
	}
}

// A token removed by the expiry sweep raises token.expired, by the system.
func TestWebhookTokenExpired(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	name, url := "hook", rcv.URL
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.expired"}})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().UTC().Add(time.Hour)
	tok := mustCreate(t, e.v, e.writer(), TokenRequest{Type: ptr("token"), Data: raw(`"x"`), ExpiresAt: ptr(raw(`"` + exp.Format(time.RFC3339) + `"`))})
	move := setClock(t, time.Now().UTC())
	move(exp.Add(time.Minute))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	runDeliveries(t, e.v, 3)
	d := waitDelivery(t, e.v, e.mgmt, w.ID, "delivered")
	var ev struct {
		Type string
		Data struct {
			Token struct{ ID string }
			Actor struct{ Type string }
		}
	}
	_ = json.Unmarshal(d.Event, &ev)
	if d.EventType != "token.expired" || ev.Data.Token.ID != tok.ID || ev.Data.Actor.Type != "system" {
		t.Fatalf("delivery %+v: %s", d, d.Event)
	}
}
