package reactor

import "context"

// Brokered is a Module part of whose work must happen in the vault process
// rather than where reactor code runs: fetch's network exchange, under the
// vault's egress policy. The JavaScript side (Load, Install) runs with the
// code, in a worker; it sends requests with Call.Broker, which the vault
// serves with its own instance of the module.
type Brokered interface {
	Module
	// Serve answers one request made with Call.Broker. The request comes
	// from where hostile code runs: check all of it again. An error's text
	// is never shown to the reactor; put what it may see in the answer.
	Serve(ctx context.Context, tenant string, req []byte) ([]byte, error)
}

// brokerFunc carries a Broker request to the vault.
type brokerFunc func(ctx context.Context, module string, req []byte) ([]byte, error)

// Broker sends req to the vault's instance of the named Brokered module and
// returns its answer. Call it off the loop goroutine (in Async work).
func (c *Call) Broker(ctx context.Context, module string, req []byte) ([]byte, error) {
	if c.broker != nil {
		return c.broker(ctx, module, req)
	}
	return c.rt.serveModule(ctx, c.TenantID, module, req)
}

// serveModule answers a Broker request with this runtime's module.
func (r *Runtime) serveModule(ctx context.Context, tenant, name string, req []byte) ([]byte, error) {
	m, ok := r.modules[name].(Brokered)
	if !ok {
		return nil, errCallbackFailed
	}
	return m.Serve(ctx, tenant, req)
}
