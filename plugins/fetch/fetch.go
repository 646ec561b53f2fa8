// Package fetch gives reactor code outbound HTTP: a global fetch, also
// served as require('node-fetch'), implemented in Go over the vault's egress
// policy (vault/egress). With the default policy a destination must be
// https, port 443, a public DNS name resolving to public addresses; every
// redirect is checked again; the response body is capped.
//
//	const res = await fetch('https://api.psp.example/v1/charges', {
//		method: 'POST',
//		headers: { Authorization: 'Bearer ' + req.configuration.PSP_KEY },
//		body: { amount: 100, card: req.args.card },   // objects are sent as JSON
//	});
//	if (!res.ok) throw new Error('PSP said ' + res.status);
//	const charge = await res.json();
//
// The Response has status, statusText, ok, url, redirected, headers (get,
// has, forEach, entries, keys, values), and text(), json() and
// arrayBuffer(), which may be called more than once. A refused destination
// or a failed exchange rejects with a TypeError "fetch failed: <reason>",
// where the reason never names an address.
package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/reactor"
)

// Name is the require() name; the same function is the global fetch.
const Name = "node-fetch"

// Defaults.
const (
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRequestBytes  = 1 << 20
	DefaultMaxRedirects     = 5
	DefaultMaxInFlight      = 8
)

// Module is the fetch module. Its zero value is the strict production
// policy with the defaults above.
type Module struct {
	// AllowInsecure relaxes the egress policy for development and tests:
	// http, IP literals, any port, private and loopback destinations.
	AllowInsecure bool `json:"allow_insecure,omitempty"`
	// Timeout bounds one whole exchange (0: egress.DefaultTimeout, 25 s);
	// the reactor's own timeout still applies.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxResponseBytes caps a response body (default 1 MiB).
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
	// MaxRequestBytes caps a request body (default 1 MiB).
	MaxRequestBytes int64 `json:"max_request_bytes,omitempty"`
	// MaxRedirects is how many redirects are followed, each re-checked by
	// the policy (default 5; 0 returns the 3xx response as is).
	MaxRedirects *int `json:"max_redirects,omitempty"`
	// MaxInFlight bounds one execution's concurrent requests (default 8).
	MaxInFlight int `json:"max_in_flight,omitempty"`

	mu     sync.Mutex
	built  bool
	policy egress.Policy
	client *http.Client
}

// setup applies defaults and builds the client, once (again after
// UseEgress).
func (m *Module) setup() (egress.Policy, *http.Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.built {
		if m.MaxResponseBytes <= 0 {
			m.MaxResponseBytes = DefaultMaxResponseBytes
		}
		if m.MaxRequestBytes <= 0 {
			m.MaxRequestBytes = DefaultMaxRequestBytes
		}
		if m.MaxRedirects == nil {
			n := DefaultMaxRedirects
			m.MaxRedirects = &n
		}
		if m.MaxInFlight <= 0 {
			m.MaxInFlight = DefaultMaxInFlight
		}
		m.policy = egress.Policy{AllowInsecure: m.AllowInsecure, Timeout: time.Duration(m.Timeout), MaxRedirects: *m.MaxRedirects}
		m.client = m.policy.Client()
		m.built = true
	}
	return m.policy, m.client
}

// UseEgress takes the vault's egress policy where this module's own
// configuration is silent: its AllowInsecure when allow_insecure is not
// set here (a development vault relaxes fetch too), its Timeout when
// timeout is 0. Redirects stay this module's (the proxy follows none,
// fetch follows max_redirects). Call it before the runtime serves.
func (m *Module) UseEgress(p egress.Policy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.AllowInsecure {
		m.AllowInsecure = true
	}
	if m.Timeout == 0 {
		m.Timeout = caddy.Duration(p.Timeout)
	}
	m.built = false
}

// Name returns "node-fetch".
func (m *Module) Name() string { return Name }

// Install defines the global fetch (the same function require returns).
func (m *Module) Install(c *reactor.Call) error {
	v, err := c.Require(Name)
	if err != nil {
		return err
	}
	return c.VM.Set("fetch", v)
}

// Load builds fetch for one execution.
func (m *Module) Load(c *reactor.Call) (goja.Value, error) {
	policy, _ := m.setup()
	inFlight := 0
	fn := c.Function(func(call goja.FunctionCall) (goja.Value, error) {
		req, err := m.request(c, policy, call.Argument(0), call.Argument(1))
		if err != nil {
			return rejected(c, err), nil
		}
		if inFlight >= m.MaxInFlight {
			return rejected(c, failed(c, fmt.Sprintf("more than %d requests in flight", m.MaxInFlight))), nil
		}
		inFlight++
		// The exchange happens in the vault process (Serve), whether this
		// code runs there or in a worker.
		out, _ := json.Marshal(req)
		return c.Async(func(ctx context.Context) func(*goja.Runtime) (goja.Value, error) {
			var res fetched
			raw, err := c.Broker(ctx, Name, out)
			if err == nil {
				err = json.Unmarshal(raw, &res)
			}
			if err != nil {
				res.Error = "network error"
			}
			return func(*goja.Runtime) (goja.Value, error) {
				inFlight--
				if res.Error != "" {
					return nil, failed(c, res.Error)
				}
				return response(c, &res), nil
			}
		}), nil
	})
	o := fn.(*goja.Object)
	_ = o.Set("default", o)
	return o, nil
}
