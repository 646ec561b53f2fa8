package vault

import (
	"net/http"
	"strconv"
	"time"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
)

// Invocation and read events (hosted docs: webhooks/eventdata): token.read,
// proxy.invoked, reactor.invoked, reactor.completed and reactor.failed.
// They would fire on every read and call, so nothing is built or written
// unless the tenant has a webhook subscribed to the event (one cached
// lookup), and they ride the read audit queue: a buffered commit, the
// read's own durability. They carry ids, the actor, a status and timing:
// never data, args, results, headers, bodies or URLs (a proxied URL may
// hold detokenized values).

var invocationEventTypes = []string{"token.read", "proxy.invoked",
	"reactor.invoked", "reactor.completed", "reactor.failed"}

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
func (v *Vault) watchProxy(w http.ResponseWriter, r *http.Request, rt *ProxyRoute) (http.ResponseWriter, func(error) error) {
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

type reactorRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// reactorInvoked records an invocation of r by p (with reactor.invoked
// when the tenant listens to it) and returns the function that, given the
// invocation's outcome, queues reactor.completed or reactor.failed. A
// failure names its problem's title, never its detail: a reactor's thrown
// message may hold the data it was given.
func (v *Vault) reactorInvoked(p *access.Principal, r *reactorRecord) func(*error) {
	e := kernel.LogEntry(p, p.TenantID, "reactor", r.ID, "invoke", "Reactor invoked", kernel.Now())
	ref := reactorRef{r.ID, r.Name}
	request := map[string]any{"invocation_type": "sync"}
	if v.Subscribed(p.TenantID, "reactor.invoked") {
		e = kernel.WithObjects(e, "reactor.invoked", map[string]any{"reactor": ref, "request": request})
	}
	v.AuditAsync(e)
	completed, failed := v.Subscribed(p.TenantID, "reactor.completed"), v.Subscribed(p.TenantID, "reactor.failed")
	if !completed && !failed {
		return func(*error) {}
	}
	start := time.Now()
	return func(errp *error) {
		objects := map[string]any{"reactor": ref, "request": request, "elapsed_ms": time.Since(start).Milliseconds()}
		switch {
		case *errp == nil && completed:
			v.AuditAsync(kernel.EventOnly(kernel.LogEntry(p, p.TenantID, "reactor", r.ID, "invoke", "", kernel.Now()), "reactor.completed", objects))
		case *errp != nil && failed:
			objects["error"] = problem.From(*errp).Title
			v.AuditAsync(kernel.EventOnly(kernel.LogEntry(p, p.TenantID, "reactor", r.ID, "invoke", "", kernel.Now()), "reactor.failed", objects))
		}
	}
}
