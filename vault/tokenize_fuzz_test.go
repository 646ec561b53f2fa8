package vault

import (
	"encoding/json"
	"testing"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// FuzzTokenize drives the tokenize walker with arbitrary JSON on a real
// store: it never panics; it either fails with a client error and writes
// nothing, or returns a document of the same shape in which every leaf
// that was a primitive is now a token id that reads back the original.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		`{"first":"John","card":{"type":"card","data":{"number":"4242424242424242","expiration_month":12,"expiration_year":2030}}}`,
		`["a",1,true,null,{"type":"token","data":{"x":[1,2]}}]`,
		`{"type":"card_number","data":"4242424242424241"}`,
		`{"nested":{"deeper":[{"type":"social_security_number","data":"123-45-6789"}]}}`,
		`"just a string"`, `{}`, `[]`,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	p, _ := e.app(access.TypeServerToServer, []string{"token:general:create", "token:general:read:high",
		"token:pci:create", "token:pii:create"})
	f.Fuzz(func(t *testing.T, in string) {
		doc, err := jsonorder.Decode([]byte(in))
		if err != nil {
			return
		}
		before := e.v.tokenCount(p.TenantID)
		out, err := e.v.Tokenize(p, doc)
		if err != nil {
			if pr := problem.From(err); pr.Status >= 500 {
				t.Fatalf("%s: server error %v", in, err)
			}
			if after := e.v.tokenCount(p.TenantID); after != before {
				t.Fatalf("%s: failed tokenize wrote %d tokens", in, after-before)
			}
			return
		}
		if _, err := jsonorder.Marshal(out); err != nil {
			t.Fatalf("%s: result does not encode: %v", in, err)
		}
		checkShape(t, in, doc, out, p, e.v)
	})
}

// checkShape walks input and output together.
func checkShape(t *testing.T, in string, want, got any, p *access.Principal, v *Vault) {
	switch w := want.(type) {
	case *jsonorder.Object:
		if _, isReq := w.Get("type"); isReq {
			if _, hasData := w.Get("data"); hasData {
				if _, ok := got.(*Token); !ok {
					t.Fatalf("%s: token request became %T", in, got)
				}
				return
			}
		}
		g, ok := got.(*jsonorder.Object)
		if !ok || len(g.Keys) != len(w.Keys) {
			t.Fatalf("%s: object became %T", in, got)
		}
		for i, k := range w.Keys {
			if g.Keys[i] != k {
				t.Fatalf("%s: member order changed", in)
			}
			checkShape(t, in, w.Values[k], g.Values[k], p, v)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Fatalf("%s: array became %T", in, got)
		}
		for i := range w {
			checkShape(t, in, w[i], g[i], p, v)
		}
	case nil:
		if got != nil {
			t.Fatalf("%s: null became %v", in, got)
		}
	default:
		id, ok := got.(string)
		if !ok {
			t.Fatalf("%s: primitive became %T", in, got)
		}
		tok, err := v.GetToken(p, id)
		if err != nil {
			t.Fatalf("%s: token %s: %v", in, id, err)
		}
		wantRaw, _ := json.Marshal(w)
		if string(*tok.Data) != string(wantRaw) {
			t.Fatalf("%s: token %s holds %s, want %s", in, id, *tok.Data, wantRaw)
		}
	}
}

// tokenCount counts the tenant's stored tokens.
func (v *Vault) tokenCount(tenantID string) int {
	n := 0
	err := v.Store().Scan(store.Prefix(kernel.TokenCollection, tenantID), nil, func(_, _ []byte) bool {
		n++
		return true
	})
	if err != nil {
		return -1
	}
	return n
}
