package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/problem"
)

// DefaultMaxBody is the default request body limit.
const DefaultMaxBody int64 = 2 << 20

// API serves the Basis Theory REST API from a vault.
type API struct {
	Vault   *vault.Vault
	MaxBody int64
	Logger  *zap.Logger
	mux     *http.ServeMux
	proxy   *vault.ProxyGateway
	ops     Ops // ops.go: rate limits, CORS, health
}

// New builds the API handler.
func New(v *vault.Vault, maxBody int64, logger *zap.Logger) *API {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	a := &API{Vault: v, MaxBody: maxBody, Logger: logger, mux: http.NewServeMux()}
	a.routes()
	return a
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p *access.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal put in ctx by WithPrincipal.
func PrincipalFrom(ctx context.Context) *access.Principal {
	p, _ := ctx.Value(principalKey{}).(*access.Principal)
	return p
}

// APIKey returns the request's API key: `BT-API-KEY`, or the legacy
// `X-API-KEY`.
func APIKey(r *http.Request) string {
	if k := r.Header.Get("BT-API-KEY"); k != "" {
		return k
	}
	return r.Header.Get("X-API-KEY")
}

// Authenticate resolves the request's credential to a principal. More than
// one key (a repeated header, or both headers) is refused: which one
// counts would otherwise depend on header order along the way.
func Authenticate(v *vault.Vault, r *http.Request) (*access.Principal, error) {
	if n := len(r.Header.Values("BT-API-KEY")) + len(r.Header.Values("X-API-KEY")); n > 1 {
		return nil, problem.Invalid("BT-API-KEY", "Send exactly one API key, in BT-API-KEY (or the legacy X-API-KEY).")
	}
	p, err := v.AuthenticateFrom(APIKey(r), OriginOf(r))
	if err == nil {
		noteCaller(r, p)
	}
	return p, err
}

// ServeHTTP routes one request. It authenticates the caller itself unless
// an earlier vault_auth handler already did.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ensureTrace(w, r)
	if a.serveOps(w, r) {
		return
	}
	r = withAuditor(r, a.Vault)
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			a.Logger.Error("panic serving request", zap.String("path", r.URL.Path), zap.Any("panic", rec), zap.Stack("stack"))
			writeProblem(w, r, problem.New(http.StatusInternalServerError, "An unexpected error occurred."))
		}
	}()
	pathErr := checkPath(r) // on the path as sent
	// `/x` and `/x/` are the same route (basis-theory-js sends both).
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimSuffix(p, "/")
		r.URL.RawPath = ""
	}
	if isProxyPath(r.URL.Path) {
		// The proxy authenticates itself: a pre-configured proxy may allow
		// anonymous callers, and its errors are wrapped as proxy_error.
		a.serveProxy(w, r)
		return
	}
	if pathErr != nil {
		writeProblem(w, r, pathErr)
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		// Let the mux decide between 404 and 405, then answer in our shape.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if allow := rec.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status := rec.Code
		if status != http.StatusMethodNotAllowed {
			status = http.StatusNotFound
		}
		writeProblem(w, r, problem.New(status, "No route matches "+r.Method+" "+r.URL.Path+"."))
		return
	}
	// Project resources (seed 000) authenticate a Bearer JWT: projects.go.
	r, err := authenticateProject(a.Vault, r)
	if err != nil {
		writeProjectError(w, r, err)
		return
	}
	if PrincipalFrom(r.Context()) == nil && ProjectCallerFrom(r.Context()) == nil {
		p, err := Authenticate(a.Vault, r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		r = r.WithContext(WithPrincipal(r.Context(), p))
	}
	if err := a.limitRoute(w, r, pattern); err != nil {
		WriteAuthError(w, r, err)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// handler adapts a function that returns a status and body (or an error).
type handlerFunc func(r *http.Request, p *access.Principal) (int, any, error)

func (a *API) handle(pattern string, h handlerFunc) {
	h = a.idempotent(pattern, h) // idempotency.go
	h = checkedQuery(pattern, h) // filters.go
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		status, body, err := h(r, PrincipalFrom(r.Context()))
		if err != nil {
			a.logFailure(r, err)
			writeProblem(w, r, err)
			return
		}
		if status == http.StatusNoContent || body == nil {
			w.WriteHeader(status)
			return
		}
		if raw, ok := body.(rawAnswer); ok {
			writeRaw(w, status, raw)
			return
		}
		writeJSON(w, status, body)
	})
}

// ok wraps a (value, error) result as a 200.
func ok[T any](v T, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// created wraps a (value, error) result as a 201.
func created[T any](v T, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v, nil
}

// noContent wraps an error result as a 204.
func noContent(err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) routes() {
	a.tokenRoutes()
	a.proxyRoutes()
	a.formulaRoutes()
	a.reactorRoutes()
	a.applicationRoutes()
	a.projectRoutes()
	a.sessionRoutes() // sessions.go: sessions and token intents
	a.webhookRoutes()
	v := a.Vault
	a.handle("GET /permissions", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.Permissions(r.URL.Query().Get("application_type")), nil)
	})

	// Tenants.
	a.handle("GET /tenants/self", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetTenant(p))
	})
	a.handle("PUT /tenants/self", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.TenantUpdate
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateTenant(p, req))
	})
	a.handle("DELETE /tenants/self", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteTenant(p))
	})
	a.handle("GET /tenants/self/reports/usage", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.UsageReport(p))
	})

	// Logs.
	a.handle("GET /logs", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		f, err := logFilter(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListLogs(p, f, pg, r.URL.Query().Get("start")))
	})
	a.handle("GET /logs/entity-types", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.LogEntityTypes(p))
	})
}

func logFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{EntityType: q.Get("entity_type"), EntityID: q.Get("entity_id")}
	errs := problem.Fields{}
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"start_date", &f.Start}, {"end_date", &f.End}} {
		if s := q.Get(d.name); s != "" {
			t, err := parseDate(s)
			if err != nil {
				errs.Add(d.name, "Must be an ISO 8601 date.")
			}
			*d.dst = t
		}
	}
	return f, errs.Err()
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, problem.BadRequest("invalid date")
}

// logFailure logs a failed request that is the server's or a reactor's
// fault. A problem is logged by status and detail only: its errors map may
// carry what customer code wrote (a reactor's thrown message), which can
// hold plaintext. Other errors are internal and never carry token data.
func (a *API) logFailure(r *http.Request, err error) {
	var p *problem.Problem
	switch {
	case errors.As(err, &p) && p.Status >= 500:
		a.Logger.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", p.Status), zap.String("detail", p.Detail))
	case !errors.As(err, &p):
		a.Logger.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	}
}
