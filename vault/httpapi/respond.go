// Package httpapi is the Basis Theory REST API as ordinary net/http
// handlers over the vault's use-case layer. It knows the wire conventions
// (snake_case JSON, RFC 7807 errors, pagination, trailing slashes, trace
// ids) and nothing about Caddy.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	// No HTML escaping: data comes back as it was sent (`<`, `>`, `&`).
	body, err := jsonorder.Marshal(v)
	if err != nil {
		writeProblem(w, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// WriteProblem writes err as RFC 7807 JSON. Errors that are not a
// *problem.Problem become a generic 500: their text may hold internals.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	auditDenied(r, err)
	p := problem.From(err)
	if r != nil && p.Instance == "" {
		cp := *p
		cp.Instance = r.URL.Path
		p = &cp
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(p.Status)
	w.Write(body)
}

// WriteProblem is writeProblem for the Caddy glue.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) { writeProblem(w, r, err) }

// TraceHeader carries the correlation id.
const TraceHeader = "BT-TRACE-ID"

// ensureTrace echoes the client's correlation id or generates one.
func ensureTrace(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(TraceHeader)
	if id == "" {
		id = uuid.NewString()
		r.Header.Set(TraceHeader, id)
	}
	w.Header().Set(TraceHeader, id)
}

// decode reads a JSON body into dst. An empty body decodes as `{}` so a
// bodiless POST is accepted whatever its content type. Malformed JSON,
// wrong field types and oversized bodies are precise 400/413 problems.
func decode(r *http.Request, maxBody int64, dst any) error {
	body, err := ReadBody(r, maxBody)
	if err != nil {
		return err
	}
	return decodeBytes(body, dst)
}

// ReadBody reads a request body of at most maxBody bytes (413 naming the
// body above it), in one allocation when the length is known.
func ReadBody(r *http.Request, maxBody int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > maxBody {
		return nil, tooLarge(r, maxBody)
	}
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 {
		// The size is known (and enforced by net/http): one allocation.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(r, maxBody)
		}
		return nil, problem.BadRequest("The request body could not be read.")
	}
	if int64(len(body)) > maxBody {
		return nil, tooLarge(r, maxBody)
	}
	return body, nil
}

// maxDrain bounds how much of an oversized body is read and discarded so
// the client gets its 413: a client that writes the whole body before
// reading the answer (most do) would otherwise meet a connection reset,
// because the server closes a connection whose body is left unread.
const maxDrain = 64 << 20

func tooLarge(r *http.Request, maxBody int64) error {
	io.CopyN(io.Discard, r.Body, maxDrain)
	p := problem.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body exceeds the limit of %d bytes.", maxBody))
	p.Errors["body"] = []string{p.Detail}
	return p
}

func decodeBytes(body []byte, dst any) error {
	// encoding/json would silently turn invalid UTF-8 into U+FFFD, storing
	// something other than what was sent.
	if !utf8.Valid(body) {
		return problem.Invalid("body", "The request body is not valid UTF-8.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.Invalid("body", "The request body must contain a single JSON value.")
	}
	return nil
}

// jsonProblem names the offending field of a decoding error.
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return problem.Invalid(field, fmt.Sprintf("The value is not valid: expected %s, got a JSON %s.", jsonTypeName(te.Type.Kind().String()), te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return problem.Invalid("body", fmt.Sprintf("The request body is not valid JSON (at byte %d).", se.Offset))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return problem.Invalid("body", "The request body is not valid JSON (unexpected end).")
	}
	var p *problem.Problem
	if errors.As(err, &p) {
		return p
	}
	return problem.Invalid("body", "The request body is not valid JSON: "+err.Error())
}

func jsonTypeName(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "ptr":
		return "a value"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "a number"
	}
	return kind
}

// page parses `page` and `size` (default 1 and 20, size at most 100).
func page(r *http.Request) (vault.Page, error) {
	q := r.URL.Query()
	pg := vault.Page{Number: 1, Size: 20}
	f := problem.Fields{}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.Add("page", "The page must be a positive integer.")
		}
		pg.Number = n
	}
	if s := q.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.Add("size", "The size must be a positive integer.")
		}
		pg.Size = min(n, 100)
	}
	return pg, f.Err()
}
