package reactor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// exec runs one execution in this process on its own goroutine. release
// is called when that goroutine ends, which may be after exec returns (a
// native call Interrupt cannot stop).
func (r *Runtime) exec(ctx context.Context, p *Program, tenant string, arg any, bt BTClient, brk brokerFunc, release func()) (*Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.limits.Timeout, errTimeout)
	defer cancel()
	type outcome struct {
		res *Result
		err error
	}
	out := make(chan outcome, 1)
	executors.run(func() {
		var res *Result
		err := r.sandbox(ctx, false, tenant, brk, func(c *Call) error {
			var err error
			res, err = c.invoke(p, arg, bt)
			return err
		})
		// Released before Run returns, so a caller running again at once
		// finds its slot free.
		release()
		out <- outcome{res, err}
	})
	select {
	case o := <-out:
		return o.res, o.err
	case <-ctx.Done():
		select {
		case o := <-out:
			return o.res, o.err
		case <-time.After(interruptGrace):
			return nil, r.limitError(context.Cause(ctx))
		}
	}
}

// sandbox runs f on the current goroutine with a fresh runtime and its
// event loop, until ctx ends (deadline, caller) or the memory watchdog
// stops it. Everything that goes wrong comes
// back as *Error (or *CustomHTTPResponse) with no host detail.
func (r *Runtime) sandbox(ctx context.Context, offline bool, tenant string, brk brokerFunc, f func(c *Call) error) (err error) {
	interrupt, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	_, heldBefore := heapNow()
	defer func() {
		// A bomb's garbage counts as live until a GC ends, which would
		// raise the next execution's baseline (see watchMemory): after one
		// (stopped for memory, or cut off by the clock while the heap grew
		// past the limit) collect it before answering and give it back.
		_, held := heapNow()
		if errors.Is(context.Cause(interrupt), errMemoryLimit) ||
			context.Cause(interrupt) != nil && held > heldBefore+uint64(r.limits.MaxMemory) {
			debug.FreeOSMemory()
		}
	}()
	callCtx := interrupt
	if offline {
		// Compile's export check: Go work started by the top level fails
		// at once instead of reaching the network at create time.
		dead, kill := context.WithCancel(context.Background())
		kill()
		callCtx = dead
	}

	c, ready := r.freshCall()
	vm, loop := c.VM, c.Loop
	c.Ctx, c.TenantID, c.broker, c.done = callCtx, tenant, brk, interrupt
	defer loop.close()

	unwatch := r.watchMemory(interrupt, stop, loop)
	defer unwatch()
	afterStop := context.AfterFunc(interrupt, func() { vm.Interrupt(context.Cause(interrupt)) })
	defer afterStop()

	defer func() {
		if x := recover(); x != nil {
			// A bug in a module or in goja. The panic value may hold host
			// details, so it is dropped.
			err = &Error{Status: 500, Detail: runtimeDetail, Errors: map[string][]string{"error": {fallbackMessage}}}
		}
	}()

	if !ready {
		if err := c.setup(); err != nil {
			return c.classify(err)
		}
	}
	if err := f(c); err != nil {
		return c.classify(err)
	}
	return nil
}

// setup defines the globals every execution has: console (discarding),
// timers, global, queueMicrotask, and the globals of GlobalModules. They are
// native functions rather than a JavaScript prelude: running JavaScript here
// would instantiate goja's lazily built intrinsics (Promise, Object, Error)
// on every call, even for reactors that never touch them.
func (c *Call) setup() error {
	vm := c.VM
	console := vm.NewObject()
	noop := vm.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	// Reactor output may contain plaintext card data: it is discarded, never
	// written to the server log.
	for _, name := range []string{"log", "info", "warn", "error", "debug", "trace", "dir", "table", "time", "timeEnd", "timeLog", "assert", "count", "countReset", "group", "groupCollapsed", "groupEnd"} {
		_ = console.Set(name, noop)
	}
	_ = vm.Set("console", console)
	c.Loop.install()
	guardJSONParse(vm, c.rt.limits.MaxPayload)
	_ = vm.Set("global", vm.GlobalObject())
	_ = vm.Set("queueMicrotask", func(call goja.FunctionCall) goja.Value {
		fn, ok := call.Argument(0).(*goja.Object)
		if _, callable := goja.AssertFunction(fn); !ok || !callable {
			panic(vm.NewTypeError("The \"callback\" argument must be of type function"))
		}
		p, resolve, _ := vm.NewPromise()
		pv := vm.ToValue(p).(*goja.Object)
		then, _ := goja.AssertFunction(pv.Get("then"))
		if _, err := then(pv, fn); err != nil {
			panic(err)
		}
		if err := resolve(goja.Undefined()); err != nil {
			panic(err)
		}
		return goja.Undefined()
	})
	for _, g := range c.rt.globals {
		if err := g.Install(c); err != nil {
			return err
		}
	}
	return nil
}

// load runs the program's top level in the module scope and returns the
// exported function.
func (c *Call) load(p *Program) (goja.Callable, error) {
	vm := c.VM
	wrapper, err := vm.RunProgram(p.prog)
	if err != nil {
		return nil, err
	}
	wrap, ok := goja.AssertFunction(wrapper)
	if !ok {
		return nil, &Error{Status: 422, Detail: notFuncDetail}
	}
	exports := vm.NewObject()
	module := vm.NewObject()
	_ = module.Set("exports", exports)
	_ = module.Set("id", ".")
	require := c.Function(func(call goja.FunctionCall) (goja.Value, error) {
		name := call.Argument(0)
		if !goja.IsString(name) {
			return nil, Reject(vm.NewTypeError("The \"id\" argument must be of type string"))
		}
		return c.Require(name.String())
	})
	if _, err := wrap(exports, exports, require, module, vm.ToValue("/"+scriptName), vm.ToValue("/")); err != nil {
		return nil, err
	}
	var fn goja.Callable
	err = c.guard(func() error {
		exp := module.Get("exports")
		if f, ok := goja.AssertFunction(exp); ok {
			fn = f
			return nil
		}
		if o, ok := exp.(*goja.Object); ok {
			for _, name := range []string{"handler", "default"} {
				if f, ok := goja.AssertFunction(o.Get(name)); ok {
					fn = f
					return nil
				}
			}
		}
		return &Error{Status: 422, Detail: notFuncDetail}
	})
	return fn, err
}

// invoke loads the program, calls its function with arg and waits for the
// result.
func (c *Call) invoke(p *Program, arg any, bt BTClient) (*Result, error) {
	fn, err := c.load(p)
	if err != nil {
		return nil, err
	}
	vm := c.VM
	argVal := decodedToJS(vm, arg)
	if o, ok := argVal.(*goja.Object); ok {
		btVal := goja.Null()
		if bt != nil {
			btVal = newBT(c, bt)
		}
		_ = o.DefineDataProperty("bt", btVal, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	ret, err := fn(goja.Undefined(), argVal)
	if err != nil {
		return nil, err
	}
	if o, ok := ret.(*goja.Object); ok {
		if promise, ok := o.Export().(*goja.Promise); ok {
			settled := func() bool { return promise.State() != goja.PromiseStatePending }
			if err := c.Loop.run(c.done, settled); err != nil {
				return nil, err
			}
			if promise.State() == goja.PromiseStateRejected {
				return nil, Reject(promise.Result())
			}
			ret = promise.Result()
		}
	}
	return c.result(ret)
}

// result converts the returned value.
func (c *Call) result(v goja.Value) (*Result, error) {
	res := &Result{}
	err := c.guard(func() error {
		e := newExporter(c.VM, c.rt.limits.MaxPayload)
		val, ok, err := e.export("", v, 0)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		// The walk's budget is an estimate; the encoded size is the rule.
		b, err := jsonorder.Marshal(val)
		if err != nil {
			return &exportError{"the value cannot be serialised to JSON"}
		}
		if len(b) > c.rt.limits.MaxPayload {
			return errTooLarge
		}
		res.Value = val
		if o, isObj := val.(*jsonorder.Object); isObj {
			res.Raw, res.HasRaw = o.Get("raw")
			res.Tokenize, res.HasTokenize = o.Get("tokenize")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// classify turns anything that ended an execution into *Error or
// *CustomHTTPResponse.
func (c *Call) classify(err error) error {
	var (
		e    *Error
		ch   *CustomHTTPResponse
		rej  *Rejection
		ex   *goja.Exception
		intr *goja.InterruptedError
		so   *goja.StackOverflowError
		ee   *exportError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &ch):
		return ch
	case errors.As(err, &intr):
		return c.rt.limitError(context.Cause(c.done))
	case errors.As(err, &so):
		return &Error{Status: 500, Detail: stackDetail}
	case errors.Is(err, errNeverSettles):
		return &Error{Status: 500, Detail: neverDetail}
	case errors.Is(err, errTooLarge):
		return &Error{Status: 500, Detail: fmt.Sprintf("The reactor result exceeds the maximum payload size of %d bytes.", c.rt.limits.MaxPayload)}
	case errors.As(err, &ee):
		return &Error{Status: 500, Detail: "The reactor result is not JSON-serialisable: " + ee.msg + "."}
	case errors.As(err, &rej):
		return c.thrown(rej.Value)
	case errors.As(err, &ex):
		return c.thrown(ex.Value())
	case c.done.Err() != nil:
		return c.rt.limitError(context.Cause(c.done))
	default:
		return &Error{Status: 500, Detail: runtimeDetail, Errors: map[string][]string{"error": {fallbackMessage}}}
	}
}

// watchMemory interrupts the execution (stop with errMemoryLimit) when the
// live heap grows by more than MaxMemory over the lowest level seen while it
// runs, and the execution spent most of the last interval running
// JavaScript rather than waiting on its loop. See Limits.MaxMemory.
//
// The lowest level, not the level at the start: the live heap is measured
// at the last GC, which may have been while an earlier execution's garbage
// was still reachable, and a baseline that high would hide a real bomb.
// Mostly busy: an execution waiting on a timer, fetch or the vault cannot
// be the one allocating, so it is spared when another execution (or a stuck
// one that already timed out) grows the heap; an allocation bomb is busy
// all the time.
func (r *Runtime) watchMemory(ctx context.Context, stop context.CancelCauseFunc, loop *Loop) (unwatch func()) {
	low, _ := heapNow()
	limit := uint64(r.limits.MaxMemory)
	pacing := gcPacing()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(memoryPollInterval)
		defer t.Stop()
		lastAt, lastBusy := time.Now(), loop.busy()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case at := <-t.C:
				busy := loop.busy()
				mostlyBusy := 2*(busy-lastBusy) >= at.Sub(lastAt)
				lastAt, lastBusy = at, busy
				now, held := heapNow()
				if now < low {
					low = now
				}
				// The live heap moves only when a GC ends, and a GC cannot
				// end during one long copy (doubling a string of a GiB):
				// the heap held right now, garbage included, beyond what
				// pacing allows a heap with this reactor at its limit,
				// catches that in time.
				if (now-low > limit || held > pacing*(low+limit)) && mostlyBusy {
					stop(errMemoryLimit)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// memoryPollInterval is how often the watchdog reads the live heap (a
// runtime/metrics read, no stop-the-world).
const memoryPollInterval = 10 * time.Millisecond

// gcPacing is how many times its live heap the collector lets the heap
// grow to before collecting (1 + GOGC/100; 2 by default, and in a worker
// see workerGCPercent). Read once, at the first execution: GOGC is set
// before any (a worker's confine) and never changed after.
var gcPacing = sync.OnceValue(func() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() == 0 {
		return 2
	}
	return 1 + s[0].Value.Uint64()/100
})

// heapNow reads the heap occupied by objects marked live by the last GC,
// and the heap held by objects now, dead ones not yet swept included.
func heapNow() (live, held uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		held = s[1].Value.Uint64()
	}
	return live, held
}
