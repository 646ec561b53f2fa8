package httpapi

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// tokenRoutes serve tokens: create, read, list, update and delete, then
// children, search and the atomic kinds.
func (a *API) tokenRoutes() {
	v := a.Vault
	a.handle("POST /tokens", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.TokenRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateToken(p, req))
	})
	a.handle("GET /tokens", func(r *http.Request, p *access.Principal) (int, any, error) {
		f, pg, err := tokenListQuery(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListTokens(p, f, pg))
	})
	// Deprecated v1 decrypt list: the same read rules as the list.
	a.handle("GET /tokens/decrypt", func(r *http.Request, p *access.Principal) (int, any, error) {
		f, pg, err := tokenListQuery(r)
		if err != nil {
			return 0, nil, err
		}
		// basis-theory-js listDecrypted names the types to decrypt; every
		// token listed here is decrypted, so it selects them like type.
		if dt := r.URL.Query()["decrypt_type"]; len(dt) > 0 {
			if len(f.Types) > 0 {
				return 0, nil, problem.Invalid("decrypt_type", "Send type or decrypt_type, not both.")
			}
			f.Types = dt
		}
		return ok(v.ListTokens(p, f, pg))
	})
	a.handle("GET /v2/tokens", func(r *http.Request, p *access.Principal) (int, any, error) {
		q := r.URL.Query()
		md, err := vault.ParseMetadataFilter(q)
		if err != nil {
			return 0, nil, err
		}
		size, err := cursorSize(r)
		if err != nil {
			return 0, nil, err
		}
		f := vault.TokenFilter{Types: nonEmpty(q.Get("type")), Container: q.Get("container"),
			Fingerprint: q.Get("fingerprint"), Metadata: md, MetadataCS: true}
		return ok(v.ListTokensV2(p, f, q.Get("start"), size))
	})
	a.handle("GET /tokens/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetToken(p, r.PathValue("id")))
	})
	a.handle("GET /tokens/{id}/decrypt", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetToken(p, r.PathValue("id")))
	})
	a.handle("PATCH /tokens/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		body, err := a.readMergePatch(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateToken(p, r.PathValue("id"), body))
	})
	a.handle("DELETE /tokens/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteToken(p, r.PathValue("id")))
	})
	a.tokenChildRoutes()
	a.tokenSearchRoutes()
	a.atomicRoutes()
}

// tokenChildRoutes serve a token's children.
func (a *API) tokenChildRoutes() {
	v := a.Vault
	a.handle("POST /tokens/{parent}/children", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.TokenRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateChildToken(p, r.PathValue("parent"), req))
	})
	a.handle("GET /tokens/{parent}/children", func(r *http.Request, p *access.Principal) (int, any, error) {
		f, pg, err := tokenListQuery(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListChildTokens(p, r.PathValue("parent"), f, pg))
	})
	a.handle("POST /tokens/{parent}/children/{child}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.AssociateTokens(p, r.PathValue("parent"), r.PathValue("child")))
	})
	a.handle("DELETE /tokens/{parent}/children/{child}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DissociateTokens(p, r.PathValue("parent"), r.PathValue("child")))
	})
}

// tokenSearchRoutes serve searching, and tokenizing and detokenizing whole
// documents.
func (a *API) tokenSearchRoutes() {
	v := a.Vault
	a.handle("POST /tokens/search", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.SearchRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.SearchTokens(p, req))
	})
	a.handle("POST /v2/tokens/search", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.SearchRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.SearchTokensV2(p, req))
	})
	a.handle("POST /tokenize", func(r *http.Request, p *access.Principal) (int, any, error) {
		body, err := a.readOrderedJSON(r)
		if err != nil {
			return 0, nil, err
		}
		return created(v.Tokenize(p, body))
	})
	a.handle("POST /detokenize", func(r *http.Request, p *access.Principal) (int, any, error) {
		body, err := requiredBody(r, a.MaxBody)
		if err != nil {
			return 0, nil, err
		}
		var probe any
		if err := decodeBytes(body, &probe); err != nil {
			return 0, nil, err
		}
		out, err := v.Detokenize(r.Context(), p, body)
		return ok(json.RawMessage(out), err)
	})
}

// atomicRoutes serve the deprecated atomic cards and banks.
func (a *API) atomicRoutes() {
	v := a.Vault
	for _, k := range []vault.AtomicKind{vault.AtomicCard, vault.AtomicBank} {
		base := "/atomic/" + string(k) + "s"
		a.handle("POST "+base, func(r *http.Request, p *access.Principal) (int, any, error) {
			var req vault.AtomicRequest
			if err := decode(r, a.MaxBody, &req); err != nil {
				return 0, nil, err
			}
			return created(v.CreateAtomic(p, k, req))
		})
		a.handle("GET "+base, func(r *http.Request, p *access.Principal) (int, any, error) {
			pg, err := page(r)
			if err != nil {
				return 0, nil, err
			}
			return ok(v.ListAtomic(p, k, r.URL.Query()["id"], pg))
		})
		a.handle("GET "+base+"/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
			return ok(v.GetAtomic(p, k, r.PathValue("id"), false))
		})
		a.handle("GET "+base+"/{id}/decrypt", func(r *http.Request, p *access.Principal) (int, any, error) {
			return ok(v.GetAtomic(p, k, r.PathValue("id"), true))
		})
		a.handle("PATCH "+base+"/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
			var req vault.AtomicRequest
			if err := decode(r, a.MaxBody, &req); err != nil {
				return 0, nil, err
			}
			return ok(v.UpdateAtomic(p, k, r.PathValue("id"), req))
		})
		a.handle("DELETE "+base+"/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
			return noContent(v.DeleteAtomic(p, k, r.PathValue("id")))
		})
	}
}

// readOrderedJSON reads a required JSON body keeping its object member
// order.
func (a *API) readOrderedJSON(r *http.Request) (any, error) {
	body, err := requiredBody(r, a.MaxBody)
	if err != nil {
		return nil, err
	}
	var probe any
	if err := decodeBytes(body, &probe); err != nil {
		return nil, err
	}
	v, err := jsonorder.Decode(body)
	if err != nil {
		return nil, problem.Invalid("body", "The request body is not valid JSON.")
	}
	return v, nil
}

// readMergePatch reads a merge-patch body: the content type must be
// merge-patch (or plain) JSON and the body a JSON object.
func (a *API) readMergePatch(r *http.Request) ([]byte, error) {
	if err := mergePatchContentType(r); err != nil {
		return nil, err
	}
	body, err := ReadBody(r, a.MaxBody)
	if err != nil {
		return nil, err
	}
	var probe map[string]any
	if err := decodeBytes(body, &probe); err != nil {
		return nil, err
	}
	return body, nil
}

// mergePatchContentType accepts application/merge-patch+json (and plain
// JSON, which the v1 SDKs send); anything else is a 415.
func mergePatchContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/merge-patch+json" || mt == "application/json") {
		return nil
	}
	return problem.New(http.StatusUnsupportedMediaType, "PATCH requires Content-Type: application/merge-patch+json.")
}

func tokenListQuery(r *http.Request) (vault.TokenFilter, vault.Page, error) {
	pg, err := page(r)
	if err != nil {
		return vault.TokenFilter{}, pg, err
	}
	q := r.URL.Query()
	md, err := vault.ParseMetadataFilter(q)
	return vault.TokenFilter{IDs: q["id"], Types: q["type"], Metadata: md}, pg, err
}

func cursorSize(r *http.Request) (int, error) {
	s := r.URL.Query().Get("size")
	if s == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, problem.Invalid("size", "The size must be a positive integer.")
	}
	return min(n, 100), nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
