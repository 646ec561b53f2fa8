// Package problem is the one error shape of the API: RFC 7807 problem
// details with an `errors` map from field name to messages. Every layer
// returns *Problem for anything the client caused; anything else is a 500
// whose detail never leaks internals.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"syscall"
)

// Problem is an RFC 7807 problem details object.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   map[string][]string `json:"errors"`

	denied bool // made by Forbidden: a permission check refused the caller
}

// Denied reports whether p is a refused permission check (Forbidden), as
// opposed to a 403 chosen by customer code such as a reactor.
func (p *Problem) Denied() bool { return p.denied }

func (p *Problem) Error() string {
	if len(p.Errors) == 0 {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	keys := make([]string, 0, len(p.Errors))
	for k := range p.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s:", p.Status, p.Title)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %s;", k, strings.Join(p.Errors[k], ", "))
	}
	return b.String()
}

// New builds a problem with the standard title for status.
func New(status int, detail string) *Problem {
	return &Problem{
		Type:   "https://httpstatuses.io/" + fmt.Sprint(status),
		Title:  title(status),
		Status: status,
		Detail: detail,
		Errors: map[string][]string{},
	}
}

func title(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "One or more validation errors occurred."
	case http.StatusUnauthorized:
		return "Unauthenticated"
	case http.StatusForbidden:
		return "Forbidden"
	default:
		return http.StatusText(status)
	}
}

// Fields maps a request property ("data.number", "privacy.impact_level") to
// its messages: the "errors" member of a validation problem, and the one
// field-error type of the vault (leaf packages such as token return it).
type Fields map[string][]string

// Add records msg for field.
func (f Fields) Add(field, msg string) { f[field] = append(f[field], msg) }

// Merge copies every message of o, prefixing field names with prefix.
func (f Fields) Merge(prefix string, o map[string][]string) {
	for k, v := range o {
		f[prefix+k] = append(f[prefix+k], v...)
	}
}

// Rename returns a copy of f in which fields equal to from, or starting with
// from + ".", have that prefix replaced by to: the atomic card and bank
// endpoints report "card.number" where token validation says
// "data.number".
func (f Fields) Rename(from, to string) Fields {
	if len(f) == 0 {
		return f
	}
	out := make(Fields, len(f))
	for k, v := range f {
		switch {
		case k == from:
			k = to
		case strings.HasPrefix(k, from+"."):
			k = to + k[len(from):]
		}
		out[k] = append(out[k], v...)
	}
	return out
}

// Err returns a 400 problem when there are errors, else nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	p := New(http.StatusBadRequest, "")
	p.Errors = f
	return p
}

// Invalid is a 400 naming one field.
func Invalid(field, msg string) *Problem {
	p := New(http.StatusBadRequest, msg)
	p.Errors[field] = []string{msg}
	return p
}

// BadRequest is a 400 that concerns the request as a whole.
func BadRequest(detail string) *Problem { return New(http.StatusBadRequest, detail) }

// Unauthorized is the 401 for a missing or unknown credential.
func Unauthorized(detail string) *Problem { return New(http.StatusUnauthorized, detail) }

// Forbidden is the 403 for a credential that lacks a permission.
func Forbidden(detail string) *Problem {
	p := New(http.StatusForbidden, detail)
	p.denied = true
	return p
}

// NotFound is the 404 for an unknown entity (or one of another tenant).
func NotFound(entity string) *Problem { return New(http.StatusNotFound, entity+" not found") }

// Conflict is the 409 for a duplicate.
func Conflict(detail string) *Problem { return New(http.StatusConflict, detail) }

// From returns err as a *Problem: itself when it is one, a 507 for a full
// disk, else a 500 whose detail is generic so that internal errors never
// reach the client.
func From(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return InsufficientStorage()
	}
	// A store that cannot be reached (its database down) is temporary:
	// 503, so clients and load balancers retry instead of giving up.
	var u interface{ Unavailable() bool }
	if errors.As(err, &u) && u.Unavailable() {
		return New(http.StatusServiceUnavailable, "The vault's storage is unavailable; retry later.")
	}
	return New(http.StatusInternalServerError, "An unexpected error occurred.")
}

// InsufficientStorage is the 507 for a write refused because the vault's
// disk is full: nothing was written, and reads still work.
func InsufficientStorage() *Problem {
	const msg = "The vault's storage is full: nothing was written. Reads still work; retry once the operator has freed disk space."
	p := New(http.StatusInsufficientStorage, msg)
	p.Errors["storage"] = []string{msg}
	return p
}

// Is reports whether err is a problem with the given status.
func Is(err error, status int) bool {
	if err == nil {
		return false // errors.As would still allocate p
	}
	var p *Problem
	return errors.As(err, &p) && p.Status == status
}
