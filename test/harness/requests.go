package harness

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Client returns the server's HTTP client (keep-alive, 30 s timeout).
func (s *Server) Client() *http.Client { return s.client }

// Do sends one request and returns status, headers and body. body is nil
// (no body), []byte or string (sent raw), or anything else (sent as JSON).
// A non-nil body is sent with Content-Type application/json. apiKey, when
// non-empty, goes in BT-API-KEY. Transport errors fail the test, so call it
// from the test goroutine only.
func (s *Server) Do(t testing.TB, method, path, apiKey string, body any) (int, http.Header, []byte) {
	t.Helper()
	req, err := NewRequest(method, s.BaseURL+path, apiKey, body)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	return s.Send(t, req)
}

// Send sends a prepared request (see NewRequest) with the server's client.
func (s *Server) Send(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("harness: %s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, b
}

// NewRequest builds a request the way Do sends it.
func NewRequest(method, url, apiKey string, body any) (*http.Request, error) {
	var rd io.Reader
	hasBody := body != nil
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("BT-API-KEY", apiKey)
	}
	return req, nil
}

// JSON sends a request like Do, fails the test unless the status is
// wantStatus (printing the body), and decodes a JSON object body. An empty
// body gives nil; a body that is not a JSON object fails the test.
func (s *Server) JSON(t testing.TB, method, path, apiKey string, body any, wantStatus int) map[string]any {
	t.Helper()
	v := s.JSONValue(t, method, path, apiKey, body, wantStatus)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s %s: want a JSON object, got %T: %s", method, path, v, mustJSON(v))
	}
	return m
}

// JSONValue is JSON for any JSON value (arrays included).
func (s *Server) JSONValue(t testing.TB, method, path, apiKey string, body any, wantStatus int) any {
	t.Helper()
	status, _, b := s.Do(t, method, path, apiKey, body)
	if status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, wantStatus, b)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON (%v): %s", method, path, err, b)
	}
	return v
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
