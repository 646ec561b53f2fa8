package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
)

// The project-scoped API of seed 000 (`/projects/{projectId}/...`) speaks
// its own generation's conventions: `Authorization: Bearer <JWT>`,
// camelCase bodies, limit/offset with X-* headers, and errors shaped
// `{"error":{"status","type","title","message"}}`. Project management
// (`/projects`, `/projects/{id}`, `/projects/{id}/keys`) belongs to the
// management API: API key, snake_case, RFC 7807.

// projectResources are the JWT-protected collections under a project.
var projectResources = map[string]bool{"payment-methods": true}

// ProjectResource reports whether path names a JWT-protected project
// resource, and its project id.
func ProjectResource(path string) (projectID string, ok bool) {
	rest, found := strings.CutPrefix(path, "/projects/")
	if !found {
		return "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || !projectResources[parts[1]] {
		return "", false
	}
	return parts[0], true
}

type projectCallerKey struct{}

// WithProjectCaller returns ctx carrying an authenticated project caller.
func WithProjectCaller(ctx context.Context, c *vault.ProjectCaller) context.Context {
	return context.WithValue(ctx, projectCallerKey{}, c)
}

// ProjectCallerFrom returns the caller put in ctx by WithProjectCaller.
func ProjectCallerFrom(ctx context.Context) *vault.ProjectCaller {
	c, _ := ctx.Value(projectCallerKey{}).(*vault.ProjectCaller)
	return c
}

// authenticateProject authenticates a request for a project resource: a
// Bearer JWT (every seed-000 check but the operation's role and the body's
// entityId, which the use-case layer applies), or an API key when one is
// sent. Other requests, and requests already authenticated, pass unchanged.
func authenticateProject(v *vault.Vault, r *http.Request) (*http.Request, error) {
	if PrincipalFrom(r.Context()) != nil || ProjectCallerFrom(r.Context()) != nil {
		return r, nil
	}
	projectID, ok := ProjectResource(r.URL.Path)
	if !ok {
		return r, nil
	}
	if APIKey(r) != "" {
		p, err := Authenticate(v, r)
		if err != nil {
			return r, err
		}
		return r.WithContext(WithPrincipal(r.Context(), p)), nil
	}
	header := r.Header.Get("Authorization")
	tok, err := jwtauth.ParseBearer(header)
	if err != nil && header == "" {
		v.Metrics().AuthFailure()
		return r, err // no credential presented: nothing to audit
	}
	c, err := v.AuthenticateJWTFrom(projectID, tok, err, OriginOf(r))
	if err != nil {
		return r, err
	}
	return r.WithContext(WithProjectCaller(r.Context(), c)), nil
}

// AuthenticateRequest is the one authentication of a request, for
// vault_auth: a project JWT (or API key) on project resources, an API key
// everywhere else. The returned request carries the result.
func AuthenticateRequest(v *vault.Vault, r *http.Request) (*http.Request, error) {
	r = withAuditor(r, v)
	r, err := authenticateProject(v, r)
	if err != nil || PrincipalFrom(r.Context()) != nil || ProjectCallerFrom(r.Context()) != nil {
		return r, err
	}
	p, err := Authenticate(v, r)
	if err != nil {
		return r, err
	}
	return r.WithContext(WithPrincipal(r.Context(), p)), nil
}

// WriteAuthError writes an authentication failure in the shape of the
// API generation the path belongs to.
func WriteAuthError(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := ProjectResource(r.URL.Path); ok {
		writeProjectError(w, r, err)
		return
	}
	writeProblem(w, r, err)
}

// ProjectError is the error object of the project-scoped API (seed 000).
// Errors lists validation messages by field, when there are any.
type ProjectError struct {
	Status  int                 `json:"status"`
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

var projectErrorTypes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusInternalServerError:   "internal_server_error",
}

func writeProjectError(w http.ResponseWriter, r *http.Request, err error) {
	auditDenied(r, err)
	var e ProjectError
	var je *jwtauth.Error
	if errors.As(err, &je) {
		e.Status, e.Message = je.Status(), je.Message
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	} else {
		p := problem.From(err)
		e.Status, e.Message = p.Status, p.Detail
		if len(p.Errors) > 0 {
			e.Errors = p.Errors
			if e.Message == "" {
				e.Message = "One or more validation errors occurred: " + joinFieldErrors(p.Errors)
			}
		}
	}
	e.Title = http.StatusText(e.Status)
	e.Type = projectErrorTypes[e.Status]
	if e.Type == "" {
		e.Type = strings.ReplaceAll(strings.ToLower(e.Title), " ", "_")
	}
	writeJSON(w, e.Status, map[string]ProjectError{"error": e})
}

func joinFieldErrors(errs map[string][]string) string {
	fields := make([]string, 0, len(errs))
	for f := range errs {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f + ": " + strings.Join(errs[f], " "))
	}
	return b.String()
}

// projectHandlerFunc serves a project resource for an authenticated caller.
type projectHandlerFunc func(w http.ResponseWriter, r *http.Request, c *vault.ProjectCaller) (int, any, error)

func (a *API) handleProject(pattern string, h projectHandlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := a.projectCaller(r)
		status, body := 0, any(nil)
		if err == nil {
			err = checkQuery(pattern, r) // filters.go
		}
		if err == nil {
			status, body, err = h(w, r, c)
		}
		if err != nil {
			if p := problem.From(err); p.Status >= 500 && !isJWTError(err) {
				a.Logger.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
			}
			writeProjectError(w, r, err)
			return
		}
		if status == http.StatusNoContent || body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	})
}

func isJWTError(err error) bool {
	var je *jwtauth.Error
	return errors.As(err, &je)
}

// projectCaller is the caller of a project resource: the JWT validated for
// this very project, or the request's API key.
func (a *API) projectCaller(r *http.Request) (*vault.ProjectCaller, error) {
	projectID := r.PathValue("projectId")
	if c := ProjectCallerFrom(r.Context()); c != nil {
		if c.ProjectID != projectID {
			return nil, &jwtauth.Error{Check: jwtauth.CheckIssuer, Message: "The token's issuer (iss) does not match the project of the URL."}
		}
		return c, nil
	}
	return a.Vault.ProjectCallerForKey(PrincipalFrom(r.Context()), projectID)
}

func (a *API) projectRoutes() {
	v := a.Vault

	// Project management (management API key).
	a.handle("POST /projects", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ProjectRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateProject(p, req))
	})
	a.handle("GET /projects", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListProjects(p, pg))
	})
	a.handle("GET /projects/{projectId}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetProject(p, r.PathValue("projectId")))
	})
	a.handle("PUT /projects/{projectId}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ProjectRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateProject(p, r.PathValue("projectId"), req))
	})
	a.handle("DELETE /projects/{projectId}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteProject(p, r.PathValue("projectId")))
	})
	a.handle("POST /projects/{projectId}/keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ProjectKeyRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.AddProjectKeys(p, r.PathValue("projectId"), req))
	})
	a.handle("GET /projects/{projectId}/keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.ListProjectKeys(p, r.PathValue("projectId")))
	})
	a.handle("DELETE /projects/{projectId}/keys/{kid}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.RemoveProjectKey(p, r.PathValue("projectId"), r.PathValue("kid")))
	})

	// Payment methods (seed 000; JWT, or an API key of the tenant).
	a.handleProject("POST /projects/{projectId}/payment-methods", func(_ http.ResponseWriter, r *http.Request, c *vault.ProjectCaller) (int, any, error) {
		var req vault.PaymentMethodRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreatePaymentMethod(c, req))
	})
	a.handleProject("GET /projects/{projectId}/payment-methods", func(w http.ResponseWriter, r *http.Request, c *vault.ProjectCaller) (int, any, error) {
		limit, offset, err := limitOffset(r)
		if err != nil {
			return 0, nil, err
		}
		pg, err := v.ListPaymentMethods(c, r.URL.Query().Get("entityId"), limit, offset)
		if err != nil {
			return 0, nil, err
		}
		h := w.Header()
		h.Set("X-Total-Count", strconv.Itoa(pg.Total))
		h.Set("X-Limit", strconv.Itoa(pg.Limit))
		h.Set("X-Offset", strconv.Itoa(pg.Offset))
		h.Set("X-Has-Next", strconv.FormatBool(pg.HasNext()))
		h.Set("X-Has-Previous", strconv.FormatBool(pg.HasPrevious()))
		return http.StatusOK, pg.Items, nil
	})
	a.handleProject("GET /projects/{projectId}/payment-methods/{paymentMethodId}", func(_ http.ResponseWriter, r *http.Request, c *vault.ProjectCaller) (int, any, error) {
		return ok(v.GetPaymentMethod(c, r.PathValue("paymentMethodId")))
	})
	a.handleProject("DELETE /projects/{projectId}/payment-methods/{paymentMethodId}", func(_ http.ResponseWriter, r *http.Request, c *vault.ProjectCaller) (int, any, error) {
		return noContent(v.DeletePaymentMethod(c, r.PathValue("paymentMethodId")))
	})
}

// Defaults and bounds of limit/offset pagination.
const (
	defaultLimit = 20
	maxLimit     = 100
)

func limitOffset(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	limit = defaultLimit
	f := problem.Fields{}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.Add("limit", "The limit must be a positive integer.")
		}
		limit = min(n, maxLimit)
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			f.Add("offset", "The offset must be a non-negative integer.")
		}
		offset = n
	}
	return limit, offset, f.Err()
}
