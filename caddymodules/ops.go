package caddymodules

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/metrics"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/reactor"
)

// vaultMetrics are created once per process and registered on every
// config's registry, so their counts survive reloads.
var vaultMetrics = func() *metrics.Set {
	s := metrics.New()
	s.ExposeWorkerExits(reactor.ExitReasons)
	return s
}()

// CORSConfig is the `cors` block of the vault app.
type CORSConfig struct {
	// Origins may call the API from a browser (`scheme://host[:port]`).
	Origins []string `json:"origins,omitempty"`
}

// ops are the app's operational settings, built at provisioning.
type ops struct {
	metrics *metrics.Set // nil when disabled
	limits  *ratelimit.Limiter
	cors    *httpapi.CORS
}

// provisionOps registers the metrics and builds the rate limiter and the
// CORS policy of this config.
func (a *App) provisionOps(ctx caddy.Context) error {
	m := vaultMetrics
	if a.DisableMetrics {
		m = nil
	} else if err := m.Register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	a.ops.metrics = m
	limits := map[string]ratelimit.Rate{}
	for class, s := range a.RateLimit {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			return fmt.Errorf("rate_limit %s: %w", class, err)
		}
		limits[class] = r
	}
	var err error
	if a.ops.limits, err = ratelimit.New(limits); err != nil {
		return fmt.Errorf("rate_limit: %w", err)
	}
	if len(a.CORS.Origins) > 0 {
		if a.ops.cors, err = httpapi.NewCORS(a.CORS.Origins); err != nil {
			return err
		}
	}
	return nil
}

// enableOps applies the app's operational settings to an API handler.
func (a *App) enableOps(api *httpapi.API) {
	api.EnableOps(httpapi.Ops{Limits: a.ops.limits, CORS: a.ops.cors, ClientIP: clientIP})
}

// limit applies the rate limit of class to an application caller of a
// middleware handler.
func (a *App) limit(w http.ResponseWriter, class string, p *access.Principal) error {
	return httpapi.Limit(w, a.vault, a.ops.limits, class, httpapi.AppCaller(p))
}

// clientIP is the client address as Caddy determined it (honouring the
// server's trusted_proxies).
func clientIP(r *http.Request) string {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	return ip
}

// unmarshalRateLimit parses
//
//	rate_limit {
//		tokenize <n>/s|<n>/m
//		read     <n>/s|<n>/m
//		proxy    <n>/s|<n>/m
//		react    <n>/s|<n>/m
//	}
func (a *App) unmarshalRateLimit(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	a.RateLimit = map[string]string{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		class := d.Val()
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		if !ratelimit.Known(class) {
			return d.Errf("unknown rate_limit class %q (want tokenize, read, proxy or react)", class)
		}
		if _, err := ratelimit.ParseRate(s); err != nil {
			return d.Errf("rate_limit %s: %v", class, err)
		}
		a.RateLimit[class] = s
	}
	return nil
}

// unmarshalCORS parses
//
//	cors {
//		origins <origin>...
//	}
func (a *App) unmarshalCORS(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "origins" {
			return d.Errf("unknown cors subdirective %q", d.Val())
		}
		origins := d.RemainingArgs()
		if len(origins) == 0 {
			return d.ArgErr()
		}
		if _, err := httpapi.NewCORS(origins); err != nil {
			return d.Err(err.Error())
		}
		a.CORS.Origins = append(a.CORS.Origins, origins...)
	}
	return nil
}

// unmarshalMetrics parses `metrics on|off`.
func (a *App) unmarshalMetrics(d *caddyfile.Dispenser) error {
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	on, err := strconv.ParseBool(map[string]string{"on": "true", "off": "false"}[s])
	if err != nil {
		return d.Errf("metrics takes on or off: %q", s)
	}
	a.DisableMetrics = !on
	return nil
}
