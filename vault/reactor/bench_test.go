package reactor

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/dop251/goja"
)

const benchCode = `module.exports = async function (req) {
	const { card } = req.args;
	return { raw: { last4: card.number.slice(-4), brand: req.configuration.brand.toUpperCase(), digits: card.number.length } };
}`

var benchArg = map[string]any{
	"args":          map[string]any{"card": map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030}},
	"configuration": map[string]any{"brand": "visa"},
}

// BenchmarkRunWarm is the steady state: the program is compiled and cached,
// each Run gets a fresh runtime.
func BenchmarkRunWarm(b *testing.B) {
	r := New(Limits{})
	p, err := r.Compile(benchCode)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Run(context.Background(), p, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunCold is new code: Compile (parse, compile, export check) and
// the first Run.
func BenchmarkRunCold(b *testing.B) {
	r := New(Limits{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := r.Compile(fmt.Sprintf("%s\n// %d", benchCode, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Run(context.Background(), p, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchCall sets up a runtime the way sandbox does, for measuring what a
// pool would save.
func newBenchCall(b *testing.B, r *Runtime) *Call {
	vm := goja.New()
	vm.SetMaxCallStackSize(r.limits.MaxCallStack)
	c := &Call{VM: vm, Ctx: context.Background(), done: context.Background(), Loop: newLoop(vm), rt: r,
		modules: map[string]goja.Value{}, loading: map[string]bool{}}
	if err := c.setup(); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRunPooledRuntime is the alternative that was not chosen: one
// runtime reused for every call (no reset, which goja cannot do anyway).
// Compare its ns/op with BenchmarkRunWarm to see what a pool would save.
// It also reports the heap one idle runtime holds (B/runtime).
func BenchmarkRunPooledRuntime(b *testing.B) {
	r := New(Limits{})
	p, err := r.Compile(benchCode)
	if err != nil {
		b.Fatal(err)
	}
	arg := map[string]any{}
	for k, v := range benchArg {
		arg[k] = v
	}
	c := newBenchCall(b, r)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.invoke(p, arg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()

	// Heap held by idle runtimes that have run the program once.
	const n = 50
	keep := make([]*Call, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = newBenchCall(b, r)
		if _, err := keep[i].invoke(p, arg, nil); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/runtime")
	runtime.KeepAlive(keep)
}

// BenchmarkFreshRuntime is the fixed cost of a fresh runtime: goja.New and
// the sandbox's globals.
func BenchmarkFreshRuntime(b *testing.B) {
	r := New(Limits{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		newBenchCall(b, r)
	}
}

// BenchmarkRunWarmSpare is BenchmarkRunWarm as a worker runs it: the
// fresh runtime is built ahead (prepareSpare, outside the timer, as a
// worker does while idle between calls), so the time is what a call
// waits for. Compare with BenchmarkRunWarm.
func BenchmarkRunWarmSpare(b *testing.B) {
	r := New(Limits{})
	r.keepSpare()
	p, err := r.Compile(benchCode)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r.prepareSpare()
		b.StartTimer()
		if _, err := r.Run(context.Background(), p, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
			b.Fatal(err)
		}
	}
}
