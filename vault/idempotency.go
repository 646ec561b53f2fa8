package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// Idempotency (BT-IDEMPOTENCY-KEY, wire contract §1.6): the first successful
// answer to a write is kept and replayed to repeats of the same key by the
// same application on the same route; a failed first answer is not kept.
//
// The kept answer may hold token data or a reactor's output, so it is sealed
// with the tenant key, and it is replayed only while it reveals nothing the
// caller could not read now: the caller's grants must be unchanged and every
// token the answer shows must still exist as it was. Otherwise the repeat
// gets a 409 and the caller sends a new key.

// IdempotencyRetention is how long an idempotency key is remembered.
const IdempotencyRetention = 24 * time.Hour

// IdempotencyHeader names the request header (and the field of its errors).
const IdempotencyHeader = "BT-IDEMPOTENCY-KEY"

const maxIdempotencyKey = 255

// idemRecord is stored in clear only as far as sweeping needs.
type idemRecord struct {
	ExpiresAt Time   `json:"expires_at"`
	Sealed    []byte `json:"sealed"`
}

// idemAnswer is the sealed part: the answer and what it may be shown to.
type idemAnswer struct {
	Status int               `json:"status"`
	Body   []byte            `json:"body"`
	Grants string            `json:"grants"`
	Tokens map[string]string `json:"tokens,omitempty"` // id → revision
}

// inFlight holds the keys whose first request is still running. It is
// process-local: a request interrupted by a crash leaves nothing behind.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (f *inFlight) claim(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.keys[k]; busy {
		return false
	}
	if f.keys == nil {
		f.keys = map[string]struct{}{}
	}
	f.keys[k] = struct{}{}
	return true
}

func (f *inFlight) release(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, k)
}

// ValidIdempotencyKey checks a BT-IDEMPOTENCY-KEY value.
func ValidIdempotencyKey(key string) error {
	if len(key) == 0 || len(key) > maxIdempotencyKey {
		return problem.Invalid(IdempotencyHeader, "The idempotency key must be 1 to 255 characters long.")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return problem.Invalid(IdempotencyHeader, "The idempotency key may only hold printable ASCII characters without spaces.")
		}
	}
	return nil
}

// Answer is a status and a JSON body (empty for 204).
type Answer struct {
	Status int
	Body   []byte
}

// Idempotent runs the write once per (tenant, application, route, key):
// the first successful answer is kept for IdempotencyRetention and replayed
// to repeats; a repeat while the first still runs is a 409. run reports its
// answer, or an error that is passed through and not kept.
func (v *Vault) Idempotent(p *access.Principal, key, route string, run func() (Answer, error)) (Answer, error) {
	if err := ValidIdempotencyKey(key); err != nil {
		return Answer{}, err
	}
	sum := sha256.Sum256([]byte(route + "\x00" + key))
	rk := store.Key(kernel.IdemCollection, p.TenantID, idemScope(p), hex.EncodeToString(sum[:]))
	unlock := v.Locks.Lock(string(rk))
	prev, err := v.loadAnswer(p.TenantID, rk)
	if err != nil || prev != nil {
		unlock()
		if err != nil {
			return Answer{}, err
		}
		return v.replay(p, prev)
	}
	claimed := v.idemFlights.claim(string(rk))
	unlock()
	if !claimed {
		return Answer{}, problem.Conflict("A request with this idempotency key is still being processed.")
	}
	defer v.idemFlights.release(string(rk))
	if prev, err := v.claimFlight(p, rk); err != nil || prev != nil { // cluster.go: other nodes
		if err != nil {
			return Answer{}, err
		}
		return v.replay(p, prev)
	}
	defer v.releaseFlight(p, rk)

	ans, err := run()
	if err != nil || ans.Status < 200 || ans.Status > 299 {
		return ans, err
	}
	// The answer is kept before it is sent, so a repeat that sees the key
	// released finds the answer. If keeping fails the write still stands:
	// answer it, and a repeat runs again.
	_ = v.keepAnswer(p, rk, ans)
	return ans, nil
}

// idemScope is whose keys a principal shares: its application's, except
// that each session key (which carries its public application's id) is a
// caller of its own, granted on its own.
func idemScope(p *access.Principal) string {
	if p.AppType == SessionAppType {
		return p.ApplicationID + "/session/" + p.KeyID
	}
	return p.ApplicationID
}

func (v *Vault) loadAnswer(tenantID string, rk []byte) (*idemAnswer, error) {
	var rec idemRecord
	if err := kernel.GetJSON(v.Store(), rk, "Idempotency key", &rec); err != nil {
		if problem.Is(err, 404) {
			return nil, nil
		}
		return nil, err
	}
	if !rec.ExpiresAt.After(kernel.Now()) {
		return nil, nil
	}
	k, err := v.TenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	plain, err := crypto.Open(k.Root(), rec.Sealed, rk)
	if err != nil {
		return nil, err
	}
	var a idemAnswer
	if err := json.Unmarshal(plain, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (v *Vault) keepAnswer(p *access.Principal, rk []byte, ans Answer) error {
	a := idemAnswer{Status: ans.Status, Body: ans.Body, Grants: p.Digest(), Tokens: v.tokenRevisions(p.TenantID, ans.Body)}
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	k, err := v.TenantKey(p.TenantID)
	if err != nil {
		return err
	}
	b := v.Store().NewBatch()
	defer b.Close()
	kernel.SetJSON(b, rk, idemRecord{ExpiresAt: Time{Time: kernel.Now().Add(IdempotencyRetention)}, Sealed: crypto.Seal(k.Root(), plain, rk)})
	return b.Commit()
}

// replay answers a repeat with the kept answer when that reveals nothing
// the caller may not read now.
func (v *Vault) replay(p *access.Principal, a *idemAnswer) (Answer, error) {
	stale := problem.Conflict("The first request with this idempotency key can no longer be replayed " +
		"(permissions or its tokens changed since); send the request with a new idempotency key.")
	if a.Grants != p.Digest() {
		return Answer{}, stale
	}
	for id, rev := range a.Tokens {
		if got, ok := v.TokenRevision(p.TenantID, id); !ok || got != rev {
			return Answer{}, stale
		}
	}
	return Answer{Status: a.Status, Body: a.Body}, nil
}

// tokenRevisions finds the tokens of the tenant an answer shows (objects
// with an id, the tenant's id and a token type) and their revisions.
func (v *Vault) tokenRevisions(tenantID string, body []byte) map[string]string {
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	out := map[string]string{}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			id, _ := x["id"].(string)
			tenant, _ := x["tenant_id"].(string)
			typ, _ := x["type"].(string)
			if _, isToken := token.Lookup(typ); isToken && id != "" && tenant == tenantID {
				if rev, ok := v.TokenRevision(tenantID, id); ok {
					out[id] = rev
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}

// purgeExpiredIdempotencyKeys deletes the answers past their retention.
func (v *Vault) purgeExpiredIdempotencyKeys() error {
	return kernel.PurgeExpired(v.Store(), kernel.IdemCollection)
}
