package caddymodules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/jsonpath"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/traffic"
)

func init() {
	caddy.RegisterModule(Proxy{})
	caddy.RegisterModule(Detokenize{})
	caddy.RegisterModule(Tokenize{})
	httpcaddyfile.RegisterHandlerDirective("vault_proxy", parseHandler[Proxy])
	httpcaddyfile.RegisterHandlerDirective("vault_detokenize", parseCaddyfileHandler[Detokenize])
	httpcaddyfile.RegisterHandlerDirective("vault_tokenize", parseCaddyfileHandler[Tokenize])
	httpcaddyfile.RegisterDirectiveOrder("vault_proxy", httpcaddyfile.Before, "file_server")
	httpcaddyfile.RegisterDirectiveOrder("vault_detokenize", httpcaddyfile.Before, "request_header")
	httpcaddyfile.RegisterDirectiveOrder("vault_tokenize", httpcaddyfile.Before, "request_header")
}

// Proxy is `vault_proxy`: the detokenizing `/proxy` endpoint on a route of
// its own (vault_api serves it too).
type Proxy struct {
	api *httpapi.API
}

// CaddyModule returns the Caddy module information.
func (Proxy) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_proxy", New: func() caddy.Module { return new(Proxy) }}
}

// Provision builds the proxy over the vault app.
func (h *Proxy) Provision(ctx caddy.Context) error {
	app, err := vaultApp(ctx)
	if err != nil {
		return err
	}
	h.api = newAPI(app, ctx)
	return nil
}

func (h *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.api.ServeProxy(w, r)
	return nil
}

// principal is the caller put in the context by vault_auth, or the one the
// request's API key names.
func principal(app *App, r *http.Request) (*access.Principal, error) {
	if p := httpapi.PrincipalFrom(r.Context()); p != nil {
		return p, nil
	}
	return httpapi.Authenticate(app.Vault(), r)
}

// Detokenize is `vault_detokenize`: it resolves token expressions in the
// request (body, chosen headers, query) with the caller's permissions
// (`token:use` or a `*:use:proxy` permission on each token), then hands
// the request to the next handler, typically `reverse_proxy` to a PSP.
// BT-* headers (the API key among them) are removed.
//
//	vault_detokenize {
//		delimiters    <left> <right>        # default {{ }}; << >> avoids Caddy placeholders
//		max_tokens    <n>                   # unique tokens per request, default 100
//		headers       <name...>             # header values to resolve
//		query                               # resolve query values too
//		content_types <media type...>       # bodies to touch, default JSON, form and text
//		max_body_size <bytes>               # default the vault's max_body_size
//	}
type Detokenize struct {
	Delimiters   []string `json:"delimiters,omitempty"`
	MaxTokens    int      `json:"max_tokens,omitempty"`
	Headers      []string `json:"headers,omitempty"`
	Query        bool     `json:"query,omitempty"`
	ContentTypes []string `json:"content_types,omitempty"`
	MaxBodySize  int64    `json:"max_body_size,omitempty"`

	app *App
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

func bodyLimit(app *App) int64 {
	if app.MaxBodySize > 0 {
		return app.MaxBodySize
	}
	return httpapi.DefaultMaxBody
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

func (h *Detokenize) rewrite(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(h.app, r)
	if err != nil {
		return err
	}
	if err := h.app.limit(w, ratelimit.Proxy, p); err != nil {
		return err
	}
	ctx, opts := r.Context(), h.options()
	// One memo for headers, query and body: max_tokens counts unique
	// tokens across the whole request, and each is resolved once.
	resolver := expr.Memo(h.app.Vault().Resolver(p, "proxy:invoke"), h.MaxTokens)
	httpapi.ScrubCredentials(r)
	for name := range r.Header {
		if traffic.IsControlHeader(name) {
			r.Header.Del(name)
		}
	}
	for _, name := range h.Headers {
		vals := r.Header.Values(name)
		for i, val := range vals {
			s, err := expr.DetokenizeString(ctx, val, opts, resolver)
			if err != nil {
				return vault.ExprProblem(err)
			}
			vals[i] = s
		}
	}
	if h.Query && r.URL.RawQuery != "" {
		q := r.URL.Query()
		for _, vals := range q {
			for i, val := range vals {
				s, err := expr.DetokenizeString(ctx, val, opts, resolver)
				if err != nil {
					return vault.ExprProblem(err)
				}
				vals[i] = s
			}
		}
		r.URL.RawQuery = q.Encode()
	}
	ct := r.Header.Get("Content-Type")
	if r.Body == nil || r.Body == http.NoBody || !matchesType(ct, h.ContentTypes) {
		return nil
	}
	body, err := httpapi.ReadBody(r, h.MaxBodySize)
	if err != nil {
		return err
	}
	out, err := traffic.DetokenizeBody(ctx, ct, body, opts, resolver)
	if err != nil {
		return vault.ExprProblem(err)
	}
	setBody(r, out)
	return nil
}

// setBody replaces the request body consistently (STYLE 8).
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.TransferEncoding = nil
}

// matchesType reports whether a Content-Type is one of types (which may
// use `*` for a subtype prefix, as in application/*+json).
func matchesType(contentType string, types []string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	for _, t := range types {
		if t == mt || strings.HasPrefix(t, "application/*") && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, strings.TrimPrefix(t, "application/*")) {
			return true
		}
	}
	return false
}

// Tokenize is `vault_tokenize`: it replaces selected fields of a JSON (or
// form) request body with token ids before the next handler, so the
// application behind it stores only tokens; optionally the same fields of
// JSON responses too. Every field of one body is tokenized in one atomic
// batch with the caller's `token:create` permission.
//
//	vault_tokenize {
//		field      <jsonpath> <token type>   # e.g. $.card.number card_number
//		form_field <name> <token type>
//		response                             # also tokenize the fields in JSON responses
//		allow_unparsed                       # pass bodies that are not JSON or a form (refused by default)
//		max_body_size <bytes>
//	}
type Tokenize struct {
	Fields      []TokenizeField `json:"fields,omitempty"`
	FormFields  []TokenizeField `json:"form_fields,omitempty"`
	Response    bool            `json:"response,omitempty"`
	MaxBodySize int64           `json:"max_body_size,omitempty"`
	// AllowUnparsed lets bodies that are neither JSON nor a form (or have
	// no Content-Type) through unchanged; by default they are refused (415).
	AllowUnparsed bool `json:"allow_unparsed,omitempty"`

	app   *App
	paths []jsonpath.Path
}

// TokenizeField names a field and the token type its values become.
type TokenizeField struct {
	Path string `json:"path,omitempty"` // JSONPath (fields)
	Name string `json:"name,omitempty"` // form field name (form_fields)
	Type string `json:"type"`
}

// CaddyModule returns the Caddy module information.
func (Tokenize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_tokenize", New: func() caddy.Module { return new(Tokenize) }}
}

// Provision parses the paths.
func (h *Tokenize) Provision(ctx caddy.Context) (err error) {
	if h.app, err = vaultApp(ctx); err != nil {
		return err
	}
	if h.MaxBodySize == 0 {
		h.MaxBodySize = bodyLimit(h.app)
	}
	h.paths = nil
	for _, f := range h.Fields {
		p, err := jsonpath.Parse(f.Path)
		if err != nil {
			return err
		}
		h.paths = append(h.paths, p)
	}
	return nil
}

// Validate checks the field list.
func (h *Tokenize) Validate() error {
	if len(h.Fields)+len(h.FormFields) == 0 {
		return fmt.Errorf("vault_tokenize needs at least one field or form_field")
	}
	for _, f := range append(append([]TokenizeField{}, h.Fields...), h.FormFields...) {
		if f.Type == "" {
			return fmt.Errorf("every field needs a token type")
		}
	}
	return nil
}

func (h *Tokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	p, err := principal(h.app, r)
	if err == nil {
		err = h.app.limit(w, ratelimit.Tokenize, p)
	}
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	httpapi.ScrubCredentials(r)
	if err := h.tokenizeRequest(r, p); err != nil {
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	if !h.Response || len(h.paths) == 0 {
		return next.ServeHTTP(w, r)
	}
	buf := new(bytes.Buffer)
	rec := caddyhttp.NewResponseRecorder(w, buf, func(status int, header http.Header) bool {
		return traffic.IsJSON(header.Get("Content-Type"))
	})
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if !rec.Buffered() {
		return nil
	}
	out, err := h.tokenizeJSON(r.Context(), p, buf.Bytes(), nil)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Header().Del("Etag")
	w.WriteHeader(rec.Status())
	_, err = w.Write(out)
	return err
}

func (h *Tokenize) tokenizeRequest(r *http.Request, p *access.Principal) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if err := h.refuseUnreadable(r); err != nil { // tokenize_guard.go
		return err
	}
	ct := r.Header.Get("Content-Type")
	isJSON, isForm := traffic.IsJSON(ct), matchesType(ct, []string{"application/x-www-form-urlencoded"})
	if !isJSON && !isForm {
		return nil // allow_unparsed
	}
	body, err := httpapi.ReadBody(r, h.MaxBodySize)
	if err != nil {
		return err
	}
	if isJSON {
		body, err = h.tokenizeJSON(r.Context(), p, body, h.refuseJSONLookalikes)
	} else {
		body, err = h.tokenizeForm(p, body)
	}
	if err != nil {
		return err
	}
	setBody(r, body)
	return nil
}

// tokenizeJSON replaces each selected value with the id of a new token.
// check, when set, may refuse the decoded document first.
func (h *Tokenize) tokenizeJSON(_ context.Context, p *access.Principal, body []byte, check func(any) error) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	doc, err := jsonorder.Decode(body)
	if err != nil {
		return nil, problem.Invalid("body", "The request body is not valid JSON.")
	}
	if check != nil {
		if err := check(doc); err != nil {
			return nil, err
		}
	}
	var reqs []*vault.TokenRequest
	var names []string
	var slots []*any
	for i, path := range h.paths {
		typ := h.Fields[i].Type
		path.Replace(doc, func(at string, v any) any {
			if v == nil {
				return nil
			}
			raw, err := jsonorder.Marshal(v)
			if err != nil {
				return v
			}
			t := typ
			reqs = append(reqs, &vault.TokenRequest{Type: &t, Data: raw})
			names = append(names, at)
			slot := new(any)
			slots = append(slots, slot)
			return &lazy{slot}
		})
	}
	if len(reqs) == 0 {
		return body, nil
	}
	toks, err := h.app.Vault().CreateTokens(p, reqs, names)
	if err != nil {
		return nil, err
	}
	for i, t := range toks {
		*slots[i] = t.ID
	}
	return jsonorder.Marshal(doc)
}

// lazy is a placeholder filled once the batch of tokens exists.
type lazy struct{ v *any }

func (l *lazy) MarshalJSON() ([]byte, error) { return json.Marshal(*l.v) }

func (h *Tokenize) tokenizeForm(p *access.Principal, body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, problem.Invalid("body", "The form body is not valid.")
	}
	if err := h.refuseFormLookalikes(form); err != nil {
		return nil, err
	}
	var reqs []*vault.TokenRequest
	var names []string
	type at struct {
		name string
		i    int
	}
	var where []at
	for _, f := range h.FormFields {
		for i, val := range form[f.Name] {
			raw, _ := json.Marshal(val)
			t := f.Type
			reqs = append(reqs, &vault.TokenRequest{Type: &t, Data: raw})
			names = append(names, f.Name)
			where = append(where, at{f.Name, i})
		}
	}
	if len(reqs) == 0 {
		return body, nil
	}
	toks, err := h.app.Vault().CreateTokens(p, reqs, names)
	if err != nil {
		return nil, err
	}
	for i, t := range toks {
		form[where[i].name][where[i].i] = t.ID
	}
	return []byte(form.Encode()), nil
}

// parseCaddyfileHandler builds a handler from its Caddyfile block.
func parseCaddyfileHandler[T any, PT interface {
	*T
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := PT(new(T))
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile parses the vault_detokenize block.
func (h *Detokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "delimiters":
			h.Delimiters = d.RemainingArgs()
			if len(h.Delimiters) != 2 {
				return d.Errf("delimiters takes two values, the left and the right delimiter (e.g. \"<<\" \">>\")")
			}
		case "max_tokens":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n <= 0 {
				return d.Errf("max_tokens must be a positive number: %q", d.Val())
			}
			h.MaxTokens = n
		case "headers":
			h.Headers = append(h.Headers, d.RemainingArgs()...)
			if len(h.Headers) == 0 {
				return d.ArgErr()
			}
		case "query":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Query = true
		case "content_types":
			h.ContentTypes = append(h.ContentTypes, d.RemainingArgs()...)
			if len(h.ContentTypes) == 0 {
				return d.ArgErr()
			}
		case "max_body_size":
			n, err := sizeArg(d)
			if err != nil {
				return err
			}
			h.MaxBodySize = n
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// UnmarshalCaddyfile parses the vault_tokenize block.
func (h *Tokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "field", "form_field":
			which := d.Val()
			var a, typ string
			if !d.AllArgs(&a, &typ) {
				return d.ArgErr()
			}
			if which == "field" {
				if _, err := jsonpath.Parse(a); err != nil {
					return d.Err(err.Error())
				}
				h.Fields = append(h.Fields, TokenizeField{Path: a, Type: typ})
			} else {
				h.FormFields = append(h.FormFields, TokenizeField{Name: a, Type: typ})
			}
		case "response":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Response = true
		case "allow_unparsed":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AllowUnparsed = true
		case "max_body_size":
			n, err := sizeArg(d)
			if err != nil {
				return err
			}
			h.MaxBodySize = n
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

func sizeArg(d *caddyfile.Dispenser) (int64, error) {
	var s string
	if !d.AllArgs(&s) {
		return 0, d.ArgErr()
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, d.Errf("max_body_size must be a positive number of bytes: %q", s)
	}
	return n, nil
}

var (
	_ caddyhttp.MiddlewareHandler = (*Proxy)(nil)
	_ caddyhttp.MiddlewareHandler = (*Detokenize)(nil)
	_ caddyhttp.MiddlewareHandler = (*Tokenize)(nil)
	_ caddy.Provisioner           = (*Detokenize)(nil)
	_ caddy.Validator             = (*Detokenize)(nil)
	_ caddy.Validator             = (*Tokenize)(nil)
	_ caddyfile.Unmarshaler       = (*Detokenize)(nil)
	_ caddyfile.Unmarshaler       = (*Tokenize)(nil)
)
