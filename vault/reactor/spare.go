package reactor

import (
	"context"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// A fresh runtime per execution stays the rule (nothing one call leaves in
// its runtime can reach the next). What changes with a spare is when that
// runtime is built: a worker, idle between calls, builds the next call's
// runtime (goja.New, the sandbox's globals and goja's lazily built
// Promise) after answering, so the next call does not pay for it while
// its caller waits. A spare is never used twice, and nothing but the
// sandbox's own trusted set-up ever runs in it before its call.

// spareWarmUp builds the one intrinsic every reactor uses: its exported
// function is async, and calling it builds Promise. Warming more (Error,
// Symbol, Math, the Array and Number prototypes) was measured to cost a
// worker ~45 µs of CPU per call (BenchmarkBuildSpare) for what most calls
// never touch; on a 2-core machine that CPU is taken from the vault
// answering the previous call. Reading Promise only builds goja's lazy
// template; it defines nothing a reactor could observe.
const spareWarmUp = `void Promise.resolve`

var spareWarmUpProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("spare.js", spareWarmUp, true)
})

// spares holds at most one prebuilt runtime for a Runtime that keeps one
// (KeepSpare). The zero value keeps none.
type spares struct {
	on   bool
	mu   sync.Mutex
	next *Call
}

// keepSpare makes r build the next execution's runtime ahead of time
// (prepareSpare). For a Runtime that runs one execution at a time, idle
// in between: a worker process.
func (r *Runtime) keepSpare() { r.spare.on = true }

// prepareSpare builds the spare runtime unless one is ready.
func (r *Runtime) prepareSpare() {
	if !r.spare.on {
		return
	}
	r.spare.mu.Lock()
	ready := r.spare.next != nil
	r.spare.mu.Unlock()
	if ready {
		return
	}
	c := r.buildCall(true)
	if c == nil {
		return
	}
	r.spare.mu.Lock()
	r.spare.next = c
	r.spare.mu.Unlock()
}

// freshCall returns a runtime for one execution: the spare if one is
// ready (and never again), already set up with the sandbox's globals, else
// a new bare one (ready false: the caller runs setup).
func (r *Runtime) freshCall() (c *Call, ready bool) {
	r.spare.mu.Lock()
	c, r.spare.next = r.spare.next, nil
	r.spare.mu.Unlock()
	if c != nil {
		// Its clock starts now, not when it was built: the memory
		// watchdog reads how busy the loop was.
		c.Loop.restart()
		return c, true
	}
	return r.newCall(), false
}

// newCall is a bare runtime and its event loop.
func (r *Runtime) newCall() *Call {
	vm := goja.New()
	vm.SetMaxCallStackSize(r.limits.MaxCallStack)
	// goja's parser reads "//# sourceMappingURL=<path>" from the host
	// filesystem unless source maps are off; eval and new Function parse
	// with these options.
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	return &Call{
		VM:      vm,
		Loop:    newLoop(vm),
		rt:      r,
		modules: map[string]goja.Value{},
		loading: map[string]bool{},
	}
}

// buildCall builds and sets up a runtime off the critical path; warm also
// runs spareWarmUp. A failure (which setup on the call's own
// path would report) gives nil.
func (r *Runtime) buildCall(warm bool) (c *Call) {
	defer func() {
		if recover() != nil {
			c = nil
		}
	}()
	c = r.newCall()
	// Installing starts no Go work (modules read the context when code
	// calls them); the call's own context replaces this one first.
	c.Ctx, c.done = context.Background(), context.Background()
	if err := c.setup(); err != nil {
		return nil
	}
	if warm {
		if _, err := c.VM.RunProgram(spareWarmUpProgram()); err != nil {
			return nil
		}
	}
	return c
}

// restart makes a loop built ahead of time start its clock now.
func (l *Loop) restart() {
	l.epoch = time.Now()
	l.busyDone.Store(0)
	l.busySince.Store(1)
}
