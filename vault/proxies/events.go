package proxies

import (
	"net/http"
	"strconv"
	"time"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
)

// The webhook payloads of proxies (the hosted docs' webhooks/eventdata):
// never a proxy's configuration or transforms; proxy.invoked carries the
// answer's status and timing, never the URL, headers or bodies (a proxied
// URL may hold detokenized values).

// proxyEvent is a proxy in proxy.created and .updated.
type proxyEvent struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	ApplicationID         string `json:"application_id,omitempty"`
	DestinationURL        string `json:"destination_url"`
	RequireAuthentication bool   `json:"require_authentication"`
	kernel.Audited
}

func proxyChanged(e audit.Entry, p *Proxy) audit.Entry {
	return kernel.Changed(e, "proxy", &proxyEvent{ID: p.ID, Name: p.Name, ApplicationID: p.ApplicationID,
		DestinationURL: p.DestinationURL, RequireAuthentication: p.RequireAuth, Audited: p.Audited})
}

func proxyDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.Deleted(e, "proxy", id)
}

// statusRecorder remembers the status a proxied answer started with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer (flushes).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// watchProxy returns the writer the exchange of rt answers through and
// done, which queues proxy.invoked with the answer's status and timing
// when the tenant listens to it, and returns the exchange's error.
func (v *Service) watchProxy(w http.ResponseWriter, r *http.Request, rt *ProxyRoute) (http.ResponseWriter, func(error) error) {
	if !v.Subscribed(rt.TenantID, "proxy.invoked") {
		return w, func(err error) error { return err }
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	return rec, func(err error) error {
		status := rec.status
		if status == 0 && err != nil {
			status = problem.From(err).Status
		}
		proxy := map[string]any{"id": nil, "name": nil, "type": "ephemeral"}
		if px := rt.Proxy; px != nil {
			proxy = map[string]any{"id": px.ID, "name": px.Name, "type": "pre_configured"}
		}
		e := kernel.LogEntry(rt.Principal, rt.TenantID, "proxy", "", "invoke", "", kernel.Now())
		v.AuditAsync(kernel.EventOnly(e, "proxy.invoked", map[string]any{
			"proxy":    proxy,
			"request":  map[string]any{"method": r.Method},
			"response": map[string]any{"status_code": strconv.Itoa(status), "elapsed_ms": time.Since(start).Milliseconds()},
		}))
		return err
	}
}
