package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestProxyNeverReachesItself: with allow_insecure_destinations on, /proxy
// (ephemeral and pre-configured) still refuses the server's own listeners:
// Caddy's admin endpoint (which lists tenants and mints keys) and its own
// API site, by any loopback spelling; a local upstream stays reachable.
func TestProxyNeverReachesItself(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := proxyServer(t)
	key := invokerKey(t, s)
	adminPort := s.AdminAddr[strings.LastIndex(s.AdminAddr, ":")+1:]
	var dests []string
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.0.0.1"} {
		dests = append(dests, fmt.Sprintf("http://%s:%s/vault/tenants", host, adminPort), fmt.Sprintf("http://%s:%d/tenants/self", host, s.Port))
	}
	for _, d := range dests {
		st, hdr, b := pcall{key: key, dest: d, method: http.MethodGet}.do(t, s)
		// ::1 may not be bound at all (502, nothing reached); otherwise 400.
		refused := st == http.StatusBadRequest && strings.Contains(string(b), "this server itself") ||
			strings.Contains(d, "[::1]") && st == http.StatusBadGateway
		if !refused || hdr.Get("BT-PROXY-DESTINATION-STATUS") != "" {
			t.Errorf("%s: %d %s, want a 400 proxy_error that reached nothing", d, st, b)
		}
	}
	_, mk := managementApp(t, s, "proxy admin", "proxy:create")
	px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "self", "destination_url": "http://127.0.0.1:" + adminPort + "/vault/tenants"}, http.StatusCreated)
	st, _, b := pcall{key: key, method: http.MethodGet, header: map[string]string{"BT-PROXY-KEY": px["key"].(string)}}.do(t, s)
	if st != http.StatusBadRequest || strings.Contains(string(b), "tenant_id") {
		t.Errorf("pre-configured proxy to the admin endpoint: %d %s", st, b)
	}
	pcall{key: key, dest: up.URL, body: `{}`}.ok(t, s, up, "a local upstream")
}
