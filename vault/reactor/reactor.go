// Package reactor runs customers' reactor code (Basis Theory reactors,
// reactor formulas and proxy transforms) in a goja JavaScript sandbox, on
// plaintext card data: in worker processes (UseWorkers; pool.go, host.go,
// worker.go), so hostile code that exhausts memory, the Go stack or a core
// ends its own worker and never the vault, or in the vault process.
//
// The sandbox has no filesystem, no process, no environment and no network
// other than what registered modules provide (plugins/fetch, through the
// egress policy); require() serves only the Modules given to New. Values
// cross the boundary as JSON values, never as goja wrappers of Go memory.
// goja has no heap limit, so an execution is bounded by its input and
// output size, its wall-clock time (vm.Interrupt), its call stack depth, a
// live-heap watchdog and the number of executions in flight.
//
// Fresh runtime per execution, not a pool. Measured on the 2-core dev box
// (go test -bench . ./vault/reactor, bench_test.go; a small async function
// reading args and returning a transformed object):
//
//	BenchmarkRunWarm           fresh runtime, cached program      ~90 µs/op  53 KB/op
//	BenchmarkRunCold           Compile (new code) + first Run    ~175 µs/op  89 KB/op
//	BenchmarkRunPooledRuntime  the same call on a reused runtime  ~17 µs/op  19 KB/op
//	BenchmarkFreshRuntime      goja.New + the sandbox's globals   ~10 µs/op  15 KB/op
//	heap held by one idle pooled runtime (B/runtime)              ~29 KB
//
// A pool would save about 70 µs per call (most of it goja building its
// lazily created intrinsics, Promise, Object, String methods, again in each
// new runtime), which is small next to an HTTP round trip and the vault's
// own crypto, and it cannot be made safe: goja cannot reset a runtime, so
// anything a reactor leaves behind (Object.prototype.polluted = 1,
// globalThis.lastCard = card, a replaced JSON.stringify, a pending timer)
// would be seen by the next call, and identical code from two tenants
// shares one compiled Program. A fresh runtime per execution gives every
// call clean intrinsics; what is cached is the compiled *goja.Program
// (immutable, safe to share between runtimes), by the SHA-256 of the code.
package reactor

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Runtime compiles and runs reactor code. It is safe for concurrent use;
// every execution gets its own goja.Runtime on its own goroutine.
type Runtime struct {
	limits  Limits
	modules map[string]Module
	globals []GlobalModule
	tag     *goja.Symbol

	// pool, when set, runs executions in worker processes (UseWorkers).
	pool *Pool
	// spare is the next execution's runtime, built ahead (worker only).
	spare spares

	mu       sync.Mutex
	programs map[[32]byte]*list.Element
	lru      *list.List
	inFlight int
	byTenant map[string]int
}

// New returns a Runtime with limits l (zero fields take their defaults) and
// the modules reactor code may require. A later module with the same Name
// replaces an earlier one.
func New(l Limits, modules ...Module) *Runtime {
	r := &Runtime{
		limits:   l.withDefaults(),
		modules:  map[string]Module{},
		tag:      goja.NewSymbol("strongroom.reactorErrorKind"),
		programs: map[[32]byte]*list.Element{},
		lru:      list.New(),
		byTenant: map[string]int{},
	}
	for _, m := range modules {
		if m == nil {
			continue
		}
		r.modules[m.Name()] = m
	}
	for _, m := range r.modules {
		if g, ok := m.(GlobalModule); ok {
			r.globals = append(r.globals, g)
		}
	}
	return r
}

// Limits returns the effective limits (defaults applied).
func (r *Runtime) Limits() Limits { return r.limits }

// Invocation is one call of a reactor.
type Invocation struct {
	// TenantID keys the per-tenant concurrency limit and is given to
	// modules.
	TenantID string
	// Arg is the object passed to the exported function, built by the
	// caller from JSON-compatible values: {args, configuration, ...} for
	// reactors, {sourceToken, configuration} for formula-era code,
	// {args, configuration} for proxy transforms. It goes in through JSON
	// (jsonorder.Marshal), so *jsonorder.Object keeps its member order and
	// any value encoding/json accepts is fine; nil is {}. Its bt member is
	// set by Run.
	Arg map[string]any
	// BT is the vault as the reactor's application; nil makes req.bt null.
	BT BTClient
}

// Result is what the exported function returned (awaited), as JSON values:
// *jsonorder.Object (member order kept), []any, json.Number, string, bool
// and nil, with JSON.stringify's rules (toJSON called, undefined members
// dropped).
type Result struct {
	// Value is the whole returned value; nil when it was undefined or null
	// or had no JSON form. Proxy transforms read {body, headers} from it.
	Value any
	// Raw and Tokenize are the raw and tokenize members of a returned
	// object; HasRaw and HasTokenize say whether they were present (and not
	// undefined).
	Raw, Tokenize       any
	HasRaw, HasTokenize bool
}

// Error is a failed execution, ready to become an RFC 7807 problem:
//
//   - a Basis Theory reactor error class thrown by the code: its status
//     (400–599), message and normalised errors (wire contract §6.4);
//   - 500 "Reactor Runtime Error" for any other exception, with the thrown
//     value normalised into Errors as new ReactorRuntimeError(thrown) would;
//   - the sandbox's own limits, with Errors nil: 408 time limit, 413
//     arguments over MaxPayload, 422 code that does not export a function,
//     429 too many executions for the tenant, 503 too many overall, 499 the
//     caller's context was cancelled, 500 for call stack, memory, result
//     too large or not serialisable, and a promise that never settles.
//
// Detail and Errors never contain host details (Go error text, host paths,
// stacks).
type Error struct {
	Status int
	Detail string
	Errors map[string][]string
}

func (e *Error) Error() string { return fmt.Sprintf("reactor: %d %s", e.Status, e.Detail) }

// CustomHTTPResponse is a thrown CustomHttpResponseError: the proxy answers
// with exactly this status, these headers and this body (a JSON value as in
// Result), not wrapped in a problem.
type CustomHTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    any
}

func (e *CustomHTTPResponse) Error() string {
	return fmt.Sprintf("reactor: custom HTTP response %d", e.Status)
}

// Details of the sandbox's own errors.
const (
	timeoutDetail   = "The reactor did not finish within the time limit."
	cancelDetail    = "The reactor execution was cancelled."
	memoryDetail    = "The reactor exceeded its memory limit."
	stackDetail     = "The reactor exceeded the maximum call stack size."
	neverDetail     = "The reactor returned a promise that never settles."
	stoppedDetail   = "The reactor was stopped: it exceeded a resource limit."
	runtimeDetail   = "Reactor Runtime Error"
	notFuncDetail   = "The code does not export a function: assign one to module.exports."
	tenantBusy      = "Too many reactor executions are in flight for this tenant; try again shortly."
	serverBusy      = "Too many reactor executions are in flight; try again shortly."
	fallbackMessage = "Something went wrong. Please try again. If the problem persists, please contact support@basistheory.com"
)

var (
	errTimeout     = errors.New("reactor: timeout")
	errMemoryLimit = errors.New("reactor: memory limit")
)

// interruptGrace is how long Run waits, after the deadline, for the
// execution goroutine to notice the interrupt. goja checks for interrupts
// between JavaScript instructions only; a long native builtin (a huge
// Array.prototype.join, a backtracking regular expression) runs to its end.
// Run returns anyway; the goroutine keeps its concurrency slots until it
// really finishes, so a tenant cannot pile up stuck executions.
var interruptGrace = 200 * time.Millisecond

// Run calls the program's exported function with in.Arg and waits for its
// result, settling promises, timers and Go work through the execution's
// event loop. Errors are *Error, *CustomHTTPResponse, or a plain error when
// in.Arg cannot be encoded as JSON (a caller bug).
func (r *Runtime) Run(ctx context.Context, p *Program, in Invocation) (*Result, error) {
	if p == nil {
		return nil, errors.New("reactor: nil program")
	}
	var argIn any = in.Arg
	if in.Arg == nil {
		argIn = map[string]any{}
	}
	argJSON, err := encodeJSON(argIn, r.limits.MaxPayload)
	if errors.Is(err, errTooLarge) {
		return nil, &Error{Status: 413, Detail: fmt.Sprintf("The reactor arguments exceed the maximum payload size of %d bytes.", r.limits.MaxPayload)}
	}
	if err != nil {
		return nil, fmt.Errorf("reactor: encoding arguments: %w", err)
	}
	release, busy := r.acquire(in.TenantID)
	if busy != nil {
		return nil, busy
	}
	if r.pool != nil {
		// The slots are held while the call is live: a killed worker
		// frees them as soon as the call is answered.
		defer release()
		return r.runRemote(ctx, p, in.TenantID, argJSON, in.BT)
	}
	arg, err := jsonorder.Decode(argJSON)
	if err != nil {
		release()
		return nil, fmt.Errorf("reactor: decoding arguments: %w", err)
	}
	return r.exec(ctx, p, in.TenantID, arg, in.BT, nil, release)
}

// acquire takes a slot overall and one for the tenant, failing at once
// when either is exhausted.
func (r *Runtime) acquire(tenant string) (release func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byTenant[tenant] >= r.limits.MaxPerTenant {
		return nil, &Error{Status: 429, Detail: tenantBusy}
	}
	if r.inFlight >= r.limits.MaxConcurrent {
		return nil, &Error{Status: 503, Detail: serverBusy}
	}
	r.inFlight++
	r.byTenant[tenant]++
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.inFlight--
			if r.byTenant[tenant]--; r.byTenant[tenant] <= 0 {
				delete(r.byTenant, tenant)
			}
			r.mu.Unlock()
		})
	}, nil
}

// limitError maps the cause of an ended context.
func (r *Runtime) limitError(cause error) *Error {
	switch {
	case errors.Is(cause, errMemoryLimit):
		return &Error{Status: 500, Detail: memoryDetail}
	case errors.Is(cause, errTimeout), errors.Is(cause, context.DeadlineExceeded):
		return &Error{Status: 408, Detail: timeoutDetail}
	default:
		return &Error{Status: 499, Detail: cancelDetail}
	}
}
