package caddymodules

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/traffic"
)

func init() {
	caddy.RegisterModule(Tokenize{})
}

// Tokenize is `vault_tokenize`: it replaces selected fields of a JSON (or
// form) request body with token ids before the next handler, so the
// application behind it stores only tokens; optionally the same fields of
// JSON responses too. Every field of one body is tokenized in one atomic
// batch with the caller's `token:create` permission. It fails closed
// (traffic.Tokenizer): a body it cannot read, or a look-alike member, is
// refused. Caddyfile syntax: caddyfile.go.
type Tokenize struct {
	Fields      []TokenizeField `json:"fields,omitempty"`
	FormFields  []TokenizeField `json:"form_fields,omitempty"`
	Response    bool            `json:"response,omitempty"`
	MaxBodySize int64           `json:"max_body_size,omitempty"`
	// AllowUnparsed lets bodies that are neither JSON nor a form (or have
	// no Content-Type) through unchanged; by default they are refused (415).
	AllowUnparsed bool `json:"allow_unparsed,omitempty"`

	app       *App
	tokenizer *traffic.Tokenizer
}

// TokenizeField names a field and the token type its values become.
type TokenizeField = traffic.Field

// maxTokenizedAnswer bounds an answer decoded for response mode.
const maxTokenizedAnswer = 8 << 20

// CaddyModule returns the Caddy module information.
func (Tokenize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_tokenize", New: func() caddy.Module { return new(Tokenize) }}
}

// Provision compiles the fields.
func (h *Tokenize) Provision(ctx caddy.Context) (err error) {
	if h.app, err = vaultApp(ctx); err != nil {
		return err
	}
	if h.MaxBodySize == 0 {
		h.MaxBodySize = bodyLimit(h.app)
	}
	h.tokenizer, err = traffic.NewTokenizer(h.Fields, h.FormFields)
	return err
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
	create := h.creator(p)
	if err := h.tokenizeRequest(r, create); err != nil {
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	if !h.Response || !h.tokenizer.HasJSONFields() {
		return next.ServeHTTP(w, r)
	}
	return h.tokenizeResponse(w, r, next, create)
}

// creator creates a body's tokens as p, in one atomic batch.
func (h *Tokenize) creator(p *access.Principal) traffic.Creator {
	return func(news []traffic.NewToken) ([]string, error) {
		reqs := make([]*vault.TokenRequest, len(news))
		names := make([]string, len(news))
		for i, n := range news {
			reqs[i], names[i] = &vault.TokenRequest{Type: &n.Type, Data: n.Data}, n.Field
		}
		toks, err := h.app.Vault().CreateTokens(p, reqs, names)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(toks))
		for i, t := range toks {
			ids[i] = t.ID
		}
		return ids, nil
	}
}

func (h *Tokenize) tokenizeRequest(r *http.Request, create traffic.Creator) error {
	// A request with no body (a GET) has nothing to tokenize or refuse.
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if err := traffic.RefuseUnreadable(ct, h.AllowUnparsed); err != nil {
		return err
	}
	isJSON, isForm := traffic.IsJSON(ct), traffic.IsForm(ct)
	if !isJSON && !isForm {
		return nil // allow_unparsed
	}
	body, err := httpapi.ReadBody(r, h.MaxBodySize)
	if err != nil {
		return err
	}
	if isJSON {
		body, err = h.tokenizer.JSON(body, create, true)
	} else {
		body, err = h.tokenizer.Form(body, create)
	}
	if err != nil {
		return err
	}
	traffic.SetBody(r, body)
	return nil
}

// tokenizeResponse buffers a JSON answer of the next handler (only those:
// others stream), decodes its Content-Encoding, tokenizes its fields and
// sends it unencoded with its new length. An answer that cannot be
// tokenized is not sent: a 502 takes its place, without the answer's
// entity headers.
func (h *Tokenize) tokenizeResponse(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, create traffic.Creator) error {
	buf := new(bytes.Buffer)
	rec := caddyhttp.NewResponseRecorder(w, buf, func(_ int, header http.Header) bool {
		return traffic.IsJSON(header.Get("Content-Type"))
	})
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if !rec.Buffered() {
		return nil
	}
	header := w.Header()
	body, err := traffic.Decode(header.Get("Content-Encoding"), buf.Bytes(), maxTokenizedAnswer)
	if err != nil {
		err = problem.New(http.StatusBadGateway, "The answer could not be decoded to tokenize it.")
	} else if body, err = h.tokenizer.JSON(body, create, false); err != nil {
		err = answerProblem(err)
	}
	for _, name := range []string{"Content-Encoding", "Content-Length", "Etag", "Last-Modified", "Accept-Ranges", "Content-Range"} {
		header.Del(name)
	}
	if err != nil {
		header.Del("Content-Type")
		httpapi.WriteProblem(w, r, err)
		return nil
	}
	// A bodiless answer (HEAD, 204, 304) cannot tell the new length.
	if status := rec.Status(); r.Method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified {
		header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rec.Status())
	_, err = w.Write(body)
	return err
}

// answerProblem is the 502 for an answer whose fields could not be
// tokenized (a value that is not a valid token, JSON that does not parse):
// the upstream's fault, not the client's, so never a 4xx.
func answerProblem(err error) error {
	p := problem.From(err)
	if p.Status >= 500 {
		return err
	}
	out := problem.New(http.StatusBadGateway, "The answer could not be tokenized: "+p.Detail)
	out.Errors = p.Errors
	return out
}

var (
	_ caddyhttp.MiddlewareHandler = (*Tokenize)(nil)
	_ caddy.Provisioner           = (*Tokenize)(nil)
	_ caddy.Validator             = (*Tokenize)(nil)
)
