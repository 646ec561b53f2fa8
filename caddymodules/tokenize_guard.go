package caddymodules

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/traffic"
)

// vault_tokenize fails closed: a body it cannot read, or a member that
// looks like a configured field without being it (`Card.Number`, `PAN`,
// `pan[]`), is refused before anything reaches the next handler, since
// the raw value would pass untokenized. AllowUnparsed lets bodies that are
// neither JSON nor a form through unchanged.

// refuseUnreadable checks a request body's media type.
func (h *Tokenize) refuseUnreadable(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if traffic.IsJSON(ct) || matchesType(ct, []string{"application/x-www-form-urlencoded"}) || h.AllowUnparsed {
		return nil
	}
	if ct == "" {
		return problem.New(http.StatusUnsupportedMediaType, "The request body has no Content-Type; this route tokenizes JSON or form bodies only.")
	}
	return problem.New(http.StatusUnsupportedMediaType, "This route tokenizes JSON or form bodies only; the body's Content-Type is not one of them.")
}

// fieldNames are the normalised names of every configured member.
func (h *Tokenize) fieldNames() map[string]bool {
	names := map[string]bool{}
	for _, p := range h.paths {
		for _, k := range p.Keys() {
			names[normalName(k)] = true
		}
	}
	for _, f := range h.FormFields {
		names[normalName(f.Name)] = true
	}
	return names
}

// normalName folds case and drops bracket suffixes: `PAN`, `pan[]` and
// `pan[0]` all name `pan`.
func normalName(s string) string {
	if i := strings.IndexByte(s, '['); i > 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// lookalike reports a member name that normalises to a configured one
// without being exactly it.
func lookalike(name string, exact, names map[string]bool) bool {
	return !exact[name] && names[normalName(name)]
}

// refuseJSONLookalikes walks a decoded body for look-alike member names.
func (h *Tokenize) refuseJSONLookalikes(doc any) error {
	exact := map[string]bool{}
	for _, p := range h.paths {
		for _, k := range p.Keys() {
			exact[k] = true
		}
	}
	names := h.fieldNames()
	var walk func(v any, at string) error
	walk = func(v any, at string) error {
		switch n := v.(type) {
		case *jsonorder.Object:
			for _, k := range n.Keys {
				if lookalike(k, exact, names) {
					return problem.Invalid(at+"."+k, "This member looks like a field this route tokenizes but does not match it exactly; send it as configured.")
				}
				if err := walk(n.Values[k], at+"."+k); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range n {
				if err := walk(e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(doc, "$")
}

// refuseFormLookalikes checks form field names.
func (h *Tokenize) refuseFormLookalikes(form url.Values) error {
	exact := map[string]bool{}
	for _, f := range h.FormFields {
		exact[f.Name] = true
	}
	names := h.fieldNames()
	for k := range form {
		if lookalike(k, exact, names) {
			return problem.Invalid(k, "This form field looks like a field this route tokenizes but does not match it exactly; send it as configured.")
		}
	}
	return nil
}
