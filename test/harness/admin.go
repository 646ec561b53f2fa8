package harness

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Config returns the running config as JSON (GET /config/ on Caddy's admin
// API), decoded into generic maps for a test to change and Load back.
func (s *Server) Config(t testing.TB) map[string]any {
	t.Helper()
	status, b := s.admin(t, http.MethodGet, "/config/", nil)
	if status != http.StatusOK {
		t.Fatalf("harness: GET /config/: %d %s", status, b)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("harness: GET /config/: %v", err)
	}
	return cfg
}

// Load replaces the running config with cfg (POST /load), as a reload by
// the admin API or `caddy reload` does, and returns Caddy's answer: 200 when
// the new config runs, 4xx with the reason when Caddy refused it and kept
// the old one.
func (s *Server) Load(t testing.TB, cfg map[string]any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("harness: encode config: %v", err)
	}
	before := s.listeners(t)
	status, out := s.admin(t, http.MethodPost, "/load", b)
	if status == http.StatusOK {
		s.settleReload(t, before)
	}
	return status, out
}

// ReloadCaddyfile loads src (a Caddyfile) through POST /load, even when it
// is the running config (Cache-Control: must-revalidate; Caddy otherwise
// skips an identical config), and fails the test unless Caddy runs it.
func (s *Server) ReloadCaddyfile(t testing.TB, src []byte) {
	t.Helper()
	// Not s.client: a reload closes the API's keep-alive connections, and
	// the tests' API traffic must not share a pool with the reload itself.
	req, err := http.NewRequest(http.MethodPost, "http://"+s.AdminAddr+"/load", bytes.NewReader(src))
	if err != nil {
		t.Fatalf("harness: reload: %v", err)
	}
	req.Header.Set("Content-Type", "text/caddyfile")
	req.Header.Set("Cache-Control", "must-revalidate")
	before := s.listeners(t)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("harness: reload: %v", err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("harness: reload: admin /load answered %d: %s", resp.StatusCode, b)
	}
	s.settleReload(t, before)
}

// listeners counts the sockets listening on the API port now.
func (s *Server) listeners(t testing.TB) int {
	t.Helper()
	n, err := listening(s.Port)
	if err != nil {
		t.Fatalf("harness: count listeners: %v", err)
	}
	return n
}

func (s *Server) admin(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.AdminAddr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("harness: %s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, b
}
