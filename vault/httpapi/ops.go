package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/ratelimit"
)

// Ops are the API's operational settings, all off when zero.
type Ops struct {
	// Limits are the per-caller rate limits (nil: none).
	Limits *ratelimit.Limiter
	// CORS lets browser pages of these origins call the API (nil: none).
	CORS *CORS
	// ClientIP is the client address anonymous callers are limited by;
	// nil means the request's peer address.
	ClientIP func(*http.Request) string
}

// EnableOps sets the operational settings.
func (a *API) EnableOps(o Ops) { a.ops = o }

// serveOps answers what comes before routing: CORS (headers, and the whole
// preflight) and the health endpoints. It reports whether it answered.
func (a *API) serveOps(w http.ResponseWriter, r *http.Request) bool {
	if a.ops.CORS.apply(w, r) {
		return true
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "/readyz":
		if a.Vault.Ready() != nil {
			p := problem.New(http.StatusServiceUnavailable, "The vault is not ready: its store does not answer.")
			p.Errors["store"] = []string{"unavailable"}
			writeProblem(w, r, p)
			return true
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	default:
		return false
	}
	return true
}

// routeClasses maps the routes that rate limits count to their class.
var routeClasses = func() map[string]string {
	m := map[string]string{
		"POST /tokens": ratelimit.Tokenize, "POST /tokenize": ratelimit.Tokenize,
		"POST /tokens/{parent}/children":             ratelimit.Tokenize,
		"POST /projects/{projectId}/payment-methods": ratelimit.Tokenize,

		"GET /tokens": ratelimit.Read, "GET /v2/tokens": ratelimit.Read, "GET /tokens/decrypt": ratelimit.Read,
		"GET /tokens/{id}": ratelimit.Read, "GET /tokens/{id}/decrypt": ratelimit.Read,
		"GET /tokens/{parent}/children": ratelimit.Read,
		"POST /tokens/search":           ratelimit.Read, "POST /v2/tokens/search": ratelimit.Read,
		"POST /detokenize":                                            ratelimit.Read,
		"GET /projects/{projectId}/payment-methods":                   ratelimit.Read,
		"GET /projects/{projectId}/payment-methods/{paymentMethodId}": ratelimit.Read,

		"POST /reactors/{id}/react": ratelimit.React,
	}
	for _, k := range []vault.AtomicKind{vault.AtomicCard, vault.AtomicBank} {
		base := "/atomic/" + string(k) + "s"
		m["POST "+base] = ratelimit.Tokenize
		m["GET "+base], m["GET "+base+"/{id}"], m["GET "+base+"/{id}/decrypt"] = ratelimit.Read, ratelimit.Read, ratelimit.Read
		m["POST "+base+"/{id}/react"] = ratelimit.React
	}
	return m
}()

// limitRoute applies the rate limit of the route's class to the
// authenticated caller of r.
func (a *API) limitRoute(w http.ResponseWriter, r *http.Request, pattern string) error {
	class, ok := routeClasses[pattern]
	if !ok || a.ops.Limits == nil {
		return nil
	}
	return a.limit(w, class, callerKey(r))
}

// callerKey names the authenticated caller of r for rate limits: its
// application (whichever of its keys it used) or its project subject.
// Never key material.
func callerKey(r *http.Request) string {
	if p := PrincipalFrom(r.Context()); p != nil {
		return AppCaller(p)
	}
	if c := ProjectCallerFrom(r.Context()); c != nil {
		if c.Principal != nil {
			return AppCaller(c.Principal)
		}
		if c.Claims != nil {
			return "jwt:" + c.ProjectID + ":" + c.Claims.Subject
		}
	}
	return "anonymous"
}

// AppCaller names an application caller for rate limits.
func AppCaller(p *access.Principal) string { return "app:" + p.ApplicationID }

// proxyCaller names the caller of /proxy: the application that
// authenticated, or the client address for a proxy that needs none.
func (a *API) proxyCaller(r *http.Request, p *access.Principal, anonymous bool) string {
	if anonymous || p == nil {
		return "ip:" + a.clientIP(r)
	}
	return AppCaller(p)
}

func (a *API) clientIP(r *http.Request) string {
	if a.ops.ClientIP != nil {
		if ip := a.ops.ClientIP(r); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *API) limit(w http.ResponseWriter, class, caller string) error {
	return Limit(w, a.Vault, a.ops.Limits, class, caller)
}

// Limit takes one request of caller in class from l: over the limit it is
// a 429 problem with Retry-After (set on w; the caller writes the problem).
func Limit(w http.ResponseWriter, v *vault.Vault, l *ratelimit.Limiter, class, caller string) error {
	ok, wait := l.Allow(class, caller)
	if ok {
		return nil
	}
	v.Metrics().RateLimited(class)
	rate, _ := l.Limit(class)
	secs := ratelimit.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	p := problem.New(http.StatusTooManyRequests, fmt.Sprintf("Too many %s requests: the limit is %s per application.", class, rate))
	p.Errors[class] = []string{fmt.Sprintf("Rate limit of %s exceeded; retry after %d s.", rate, secs)}
	return p
}

// CORS is the browser access policy: which origins may call the API.
type CORS struct {
	origins map[string]bool
}

// corsHeaders are the request headers a page may send: the ones the
// Basis Theory SDKs and the proxy use.
const corsHeaders = "BT-API-KEY, X-API-KEY, Authorization, Content-Type, BT-TRACE-ID, BT-IDEMPOTENCY-KEY, BT-PROXY-URL, BT-PROXY-KEY"

// NewCORS builds the policy for origins, each `scheme://host[:port]`.
func NewCORS(origins []string) (*CORS, error) {
	c := &CORS{origins: map[string]bool{}}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("cors origin %q: want scheme://host[:port]", o)
		}
		c.origins[strings.ToLower(o)] = true
	}
	return c, nil
}

// apply adds the CORS headers for an allowed origin and answers its
// preflight (204); it reports whether it answered. A request from any
// other origin gets no CORS header, so the browser withholds the answer.
func (c *CORS) apply(w http.ResponseWriter, r *http.Request) bool {
	if c == nil {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !c.origins[strings.ToLower(origin)] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", "BT-TRACE-ID, BT-PROXY-DESTINATION-STATUS, Retry-After")
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
