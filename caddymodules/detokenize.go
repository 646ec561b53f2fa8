package caddymodules

import (
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/traffic"
)

func init() {
	caddy.RegisterModule(Detokenize{})
}

// Detokenize is `vault_detokenize`: it resolves token expressions in the
// request (body, chosen headers, query) with the caller's permissions
// (`token:use` or a `*:use:proxy` permission on each token), then hands
// the request to the next handler, typically `reverse_proxy` to a PSP.
// BT-* headers (the API key among them) are removed. Parts without an
// expression reach the next handler byte for byte. Caddyfile syntax:
// caddyfile.go.
type Detokenize struct {
	Delimiters   []string `json:"delimiters,omitempty"`
	MaxTokens    int      `json:"max_tokens,omitempty"`
	Headers      []string `json:"headers,omitempty"`
	Query        bool     `json:"query,omitempty"`
	ContentTypes []string `json:"content_types,omitempty"`
	MaxBodySize  int64    `json:"max_body_size,omitempty"`

	app     *App
	headers []string // canonical names of Headers
}

// CaddyModule returns the Caddy module information.
func (Detokenize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_detokenize", New: func() caddy.Module { return new(Detokenize) }}
}

// Provision applies defaults.
func (h *Detokenize) Provision(ctx caddy.Context) (err error) {
	if h.app, err = vaultApp(ctx); err != nil {
		return err
	}
	if h.MaxTokens == 0 {
		h.MaxTokens = 100
	}
	if len(h.ContentTypes) == 0 {
		h.ContentTypes = []string{"application/json", "application/*+json", "application/x-www-form-urlencoded", "text/plain"}
	}
	if h.MaxBodySize == 0 {
		h.MaxBodySize = bodyLimit(h.app)
	}
	h.headers = make([]string, len(h.Headers))
	for i, name := range h.Headers {
		h.headers[i] = textproto.CanonicalMIMEHeaderKey(name)
	}
	return nil
}

// Validate checks the delimiters.
func (h *Detokenize) Validate() error {
	if len(h.Delimiters) != 0 && (len(h.Delimiters) != 2 || h.Delimiters[0] == "" || h.Delimiters[1] == "") {
		return fmt.Errorf("delimiters takes two non-empty values: left and right")
	}
	if h.MaxTokens < 0 {
		return fmt.Errorf("max_tokens must be positive")
	}
	return nil
}

func (h *Detokenize) options() expr.Options {
	o := expr.Options{MaxTokens: h.MaxTokens, StringPrimitives: true}
	if len(h.Delimiters) == 2 {
		o.Left, o.Right = h.Delimiters[0], h.Delimiters[1]
	}
	return o
}

func (h *Detokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := h.rewrite(w, r); err != nil {
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	return next.ServeHTTP(w, r)
}

// rewrite resolves the configured parts of r in place; on an error
// nothing of r is to be forwarded.
func (h *Detokenize) rewrite(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(h.app, r)
	if err != nil {
		return err
	}
	if err := h.app.limit(w, ratelimit.Proxy, p); err != nil {
		return err
	}
	httpapi.ScrubCredentials(r)
	for name := range r.Header {
		if traffic.IsControlHeader(name) {
			r.Header.Del(name)
		}
	}
	ctx := r.Context()
	d := traffic.NewDetokenizer(h.options(), h.app.Vault().Resolver(p, "proxy:invoke"))
	header, err := d.Header(ctx, r.Header, h.headers)
	if err != nil {
		return vault.ExprProblem(err)
	}
	r.Header = header
	if h.Query {
		if r.URL.RawQuery, err = d.Query(ctx, r.URL.RawQuery); err != nil {
			return vault.ExprProblem(err)
		}
	}
	ct := r.Header.Get("Content-Type")
	if r.Body == nil || r.Body == http.NoBody || !traffic.MatchesType(ct, h.ContentTypes) {
		return nil
	}
	body, err := httpapi.ReadBody(r, h.MaxBodySize)
	if err != nil {
		return err
	}
	out, err := d.Body(ctx, ct, body)
	if err != nil {
		return vault.ExprProblem(err)
	}
	traffic.SetBody(r, out)
	return nil
}

var (
	_ caddyhttp.MiddlewareHandler = (*Detokenize)(nil)
	_ caddy.Provisioner           = (*Detokenize)(nil)
	_ caddy.Validator             = (*Detokenize)(nil)
)
