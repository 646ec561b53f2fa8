package caddymodules

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// The vault's admin routes (`/vault/...` on Caddy's admin endpoint) mint
// management keys and create tenants without any API key: whoever reaches
// the admin endpoint is the operator. So they answer only when that
// endpoint is local to the machine: a unix socket that only its owner may
// use (mode 0600, no group or other bits), or a TCP listener bound to a
// loopback address. A wildcard or other bind, and Caddy's remote admin
// endpoint, get a 403.

// adminListenerLocal reports whether the admin server that received r
// listens only locally; the error says why not.
func adminListenerLocal(r *http.Request) error {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil || srv.Addr == "" {
		return fmt.Errorf("the admin endpoint's address is unknown")
	}
	na, err := caddy.ParseNetworkAddress(srv.Addr)
	if err != nil {
		return fmt.Errorf("the admin endpoint's address %q cannot be parsed", srv.Addr)
	}
	if na.IsUnixNetwork() {
		path, _, _ := strings.Cut(na.Host, "|") // unix//path|0600 carries the mode
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("the admin socket cannot be checked")
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("the admin socket %s is mode %#o; make it 0600 (admin unix/%s|0600)", path, fi.Mode().Perm(), path)
		}
		return nil
	}
	if na.IsFdNetwork() {
		return fmt.Errorf("an admin endpoint on an inherited descriptor cannot be checked")
	}
	if strings.EqualFold(na.Host, "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(na.Host, "[]")); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("the admin endpoint listens on %s, not only on loopback or a 0600 unix socket", srv.Addr)
}

// requireLocalAdmin is the gate of every vault admin route.
func requireLocalAdmin(r *http.Request) error {
	if err := adminListenerLocal(r); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusForbidden, Err: fmt.Errorf("vault admin routes are refused: %w", err)}
	}
	return nil
}
