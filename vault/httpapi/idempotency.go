package httpapi

import (
	"net/http"
	"strings"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/jsonorder"
)

// readsOverPost are POST routes that only read: a repeat runs again under
// the caller's permissions of the moment instead of replaying plaintext.
var readsOverPost = map[string]bool{
	"POST /detokenize":       true,
	"POST /tokens/search":    true,
	"POST /v2/tokens/search": true,
}

// rawAnswer is a response body already encoded (a replayed answer).
type rawAnswer []byte

// idempotent wraps a write route with BT-IDEMPOTENCY-KEY handling: POST,
// PUT and PATCH by an API key honour it; GET and DELETE ignore it. The
// proxy never reaches here (it is served before the mux).
func (a *API) idempotent(pattern string, h handlerFunc) handlerFunc {
	method, _, _ := strings.Cut(pattern, " ")
	if method != http.MethodPost && method != http.MethodPut && method != http.MethodPatch || readsOverPost[pattern] {
		return h
	}
	return func(r *http.Request, p *access.Principal) (int, any, error) {
		key, sent := r.Header[http.CanonicalHeaderKey(vault.IdempotencyHeader)]
		if !sent || p == nil {
			return h(r, p)
		}
		ans, err := a.Vault.Idempotent(p, strings.Join(key, ","), r.Method+" "+r.URL.Path, func() (vault.Answer, error) {
			status, body, err := h(r, p)
			if err != nil {
				return vault.Answer{}, err
			}
			if status == http.StatusNoContent || body == nil {
				return vault.Answer{Status: status}, nil
			}
			b, err := jsonorder.Marshal(body)
			return vault.Answer{Status: status, Body: b}, err
		})
		if err != nil {
			return 0, nil, err
		}
		if len(ans.Body) == 0 {
			return ans.Status, nil, nil
		}
		return ans.Status, rawAnswer(ans.Body), nil
	}
}

func writeRaw(w http.ResponseWriter, status int, body rawAnswer) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}
