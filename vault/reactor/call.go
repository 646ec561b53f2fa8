package reactor

import (
	"context"
	"errors"
	"fmt"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Module is something reactor code can require(). Modules are implemented
// by the plugins/ packages (the Basis Theory reactor error classes, fetch,
// helpers) and given to New.
//
// A Module must never hand JavaScript a goja wrapper of a Go value
// (Runtime.ToValue of a struct, map, slice or pointer): build plain objects
// with NewObject and native functions instead. Errors it throws must be
// JavaScript errors whose text says nothing about the host (no Go error
// text, no addresses, no paths).
type Module interface {
	// Name is the require() name, e.g.
	// "@basis-theory/basis-theory-reactor-formulas-sdk-js".
	Name() string
	// Load builds the module's exports in c's runtime. It runs at most
	// once per execution, on the loop goroutine, the first time the module
	// is required. A returned error is reported to the reactor as a failed
	// require and to the API client as a Reactor Runtime Error; its text is
	// not shown.
	Load(c *Call) (goja.Value, error)
}

// GlobalModule is a Module that also defines globals (fetch defines a
// global fetch). Install runs in every execution before the reactor code.
type GlobalModule interface {
	Module
	Install(c *Call) error
}

// ErrorKind says how Run maps a thrown instance of a module's error class.
type ErrorKind string

const (
	// KindReactorError marks BasisTheoryReactorError and its subclasses:
	// the thrown object's status (an integer 400–599), message and errors
	// become an *Error.
	KindReactorError ErrorKind = "reactor_error"
	// KindCustomHTTPResponse marks CustomHttpResponseError: status
	// (100–599), headers and body become a *CustomHTTPResponse.
	KindCustomHTTPResponse ErrorKind = "custom_http_response"
)

// Call is one execution's view of the sandbox, given to modules.
type Call struct {
	// VM is the execution's runtime. Use it on the loop goroutine only.
	VM *goja.Runtime
	// Ctx ends when the execution ends (result, error or timeout). Go work
	// started by a module must stop when it does.
	Ctx context.Context
	// TenantID is the tenant whose reactor runs (empty while Compile checks
	// the code's export).
	TenantID string
	// Loop schedules Go work back onto the runtime goroutine.
	Loop *Loop

	rt      *Runtime
	broker  brokerFunc      // nil in process: the runtime's own modules serve
	done    context.Context // ends when the execution must stop
	modules map[string]goja.Value
	loading map[string]bool
}

// NewError builds a JavaScript Error with message msg. Unlike
// goja.Runtime.NewGoError it carries no wrapped Go value. It uses the
// global Error as it is when called (taking it up front would cost every
// execution goja's lazy construction of Error): a reactor that replaced
// Error only changes the errors it sees itself.
func (c *Call) NewError(msg string) *goja.Object {
	o, err := c.VM.New(c.VM.Get("Error"), c.VM.ToValue(msg))
	if err != nil {
		return c.VM.NewTypeError(msg)
	}
	return o
}

// Require returns a registered module's exports, loading it on first use in
// this execution. Unknown names fail like Node.js: "Cannot find module 'x'".
func (c *Call) Require(name string) (goja.Value, error) {
	if v, ok := c.modules[name]; ok {
		return v, nil
	}
	m, ok := c.rt.modules[name]
	if !ok {
		return nil, Reject(c.moduleNotFound(name))
	}
	if c.loading[name] {
		return nil, Reject(c.VM.NewTypeError("Cyclic require of module '%s'", name))
	}
	c.loading[name] = true
	defer delete(c.loading, name)
	v, err := m.Load(c)
	if err != nil {
		var rej *Rejection
		if errors.As(err, &rej) {
			return nil, err
		}
		return nil, Reject(c.NewError("module '" + name + "' failed to load"))
	}
	c.modules[name] = v
	return v, nil
}

func (c *Call) moduleNotFound(name string) goja.Value {
	if len(name) > 200 {
		name = name[:200] + "…"
	}
	e := c.NewError(fmt.Sprintf("Cannot find module '%s'", name))
	_ = e.Set("code", "MODULE_NOT_FOUND")
	return e
}

// TagErrorClass marks a module's error class (its prototype) so that Run
// maps thrown instances as kind. The mark is a symbol private to the
// runtime; a reactor could still copy it, but every field read from a
// marked object is validated again in Go, so the worst it can do is choose
// its own status, which CustomHttpResponseError lets it do anyway.
func (c *Call) TagErrorClass(proto *goja.Object, kind ErrorKind) error {
	return proto.DefineDataPropertySymbol(c.rt.tag, c.VM.ToValue(string(kind)), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// Rejection is an error carrying a JavaScript value to throw or to reject a
// promise with. Other errors reach JavaScript as a generic Error with no
// detail.
type Rejection struct{ Value goja.Value }

func (r *Rejection) Error() string { return "reactor: rejected" }

// Reject wraps a JavaScript value (usually an Error object) as an error.
func Reject(v goja.Value) error { return &Rejection{Value: v} }

// jsError returns the JavaScript value for err.
func (c *Call) jsError(err error) goja.Value {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rej.Value
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	return c.NewError("internal error")
}

// Async starts work on its own goroutine and returns a promise settled on
// the loop goroutine: work runs off the loop with the execution's context
// (it must not touch the runtime), and the function it returns runs on the
// loop to build the value the promise resolves with. An error from either
// rejects the promise (a *Rejection with its value, anything else with a
// generic Error). When the execution ends first, the result is dropped.
func (c *Call) Async(work func(ctx context.Context) (settle func(vm *goja.Runtime) (goja.Value, error))) goja.Value {
	p, resolve, reject := c.VM.NewPromise()
	if err := c.Ctx.Err(); err != nil {
		_ = reject(c.jsError(errors.New("cancelled")))
		return c.VM.ToValue(p)
	}
	enqueue := c.Loop.RegisterCallback()
	go func() {
		var settle func(*goja.Runtime) (goja.Value, error)
		func() {
			defer func() {
				if recover() != nil {
					settle = nil
				}
			}()
			settle = work(c.Ctx)
		}()
		enqueue(func() error {
			if settle == nil {
				return reject(c.jsError(errors.New("internal error")))
			}
			v, err := settle(c.VM)
			if err != nil {
				return reject(c.jsError(err))
			}
			return resolve(v)
		})
	}()
	return c.VM.ToValue(p)
}

// Function wraps a Go function as a JavaScript function. A returned error
// is thrown (a *Rejection's value, else a generic Error).
func (c *Call) Function(fn func(call goja.FunctionCall) (goja.Value, error)) goja.Value {
	return c.VM.ToValue(func(call goja.FunctionCall) goja.Value {
		v, err := fn(call)
		if err != nil {
			panic(c.jsError(err))
		}
		if v == nil {
			return goja.Undefined()
		}
		return v
	})
}

// guard runs f on the loop goroutine inside a JavaScript call frame, so a
// JavaScript exception, an interrupt or a stack overflow raised by reactor
// code that f triggers (a getter, toJSON, a proxy trap) comes back as an
// error instead of unwinding through Go.
func (c *Call) guard(f func() error) error {
	var inner error
	fn, _ := goja.AssertFunction(c.VM.ToValue(func(goja.FunctionCall) goja.Value {
		inner = f()
		return goja.Undefined()
	}))
	if _, err := fn(goja.Undefined()); err != nil {
		return err
	}
	return inner
}

// MustCompileModule compiles a module's embedded JavaScript source, whose
// value must be a function (an expression such as "(function (x) {...})").
// It is for package-level variables of plugins and panics on bad source.
// Source maps are off, as for reactor code.
func MustCompileModule(name, src string) *goja.Program {
	ast, err := goja.Parse(name, src, parser.WithDisableSourceMaps)
	if err != nil {
		panic(err)
	}
	prog, err := goja.CompileAST(ast, true)
	if err != nil {
		panic(err)
	}
	return prog
}

// RunModule runs a program from MustCompileModule in c's runtime and calls
// the function it evaluates to with args, returning what it returns.
func (c *Call) RunModule(prog *goja.Program, args ...goja.Value) (goja.Value, error) {
	v, err := c.VM.RunProgram(prog)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(v)
	if !ok {
		return nil, errors.New("reactor: module source is not a function")
	}
	return fn(goja.Undefined(), args...)
}

// ExportJSON converts a JavaScript value to a JSON value (*jsonorder.Object,
// []any, json.Number, string, bool, nil) with JSON.stringify's rules, bounded
// by MaxPayload. ok is false when v has no JSON form (undefined, a
// function). An error that is not a JavaScript exception or an interrupt
// explains itself in terms safe to show the reactor (Error() text).
func (c *Call) ExportJSON(v goja.Value) (val any, ok bool, err error) {
	return newExporter(c.VM, c.rt.limits.MaxPayload).export("", v, 0)
}

// ToJS converts a Go value to plain JavaScript values through JSON (never a
// goja wrapper of Go memory), bounded by MaxPayload.
func (c *Call) ToJS(v any) (goja.Value, error) {
	return goToJS(c.VM, v, c.rt.limits.MaxPayload)
}

// Limits returns the runtime's effective limits.
func (c *Call) Limits() Limits { return c.rt.limits }

// ParseJSON is JSON.parse in Go: data decoded with jsonorder (depth
// bounded) and built as plain JavaScript values. The error is a
// *Rejection carrying a SyntaxError.
func (c *Call) ParseJSON(data []byte) (goja.Value, error) {
	d, err := jsonorder.Decode(data)
	if err != nil {
		e, cerr := c.VM.New(c.VM.Get("SyntaxError"), c.VM.ToValue("Unexpected token in JSON"))
		if cerr != nil {
			return nil, Reject(c.VM.NewTypeError("Unexpected token in JSON"))
		}
		return nil, Reject(e)
	}
	return decodedToJS(c.VM, d), nil
}
