package reactors

import (
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
)

// The webhook payloads of reactors (the hosted docs' webhooks/eventdata):
// never a reactor's code or configuration.

// reactorEvent is a reactor in reactor.created and .updated.
type reactorEvent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	kernel.Audited
}

func reactorChanged(e audit.Entry, r *reactorRecord) audit.Entry {
	return kernel.Changed(e, "reactor", &reactorEvent{ID: r.ID, Name: r.Name, Audited: r.Audited})
}

func reactorDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.Deleted(e, "reactor", id)
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
func (v *Service) reactorInvoked(p *access.Principal, r *reactorRecord) func(*error) {
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
