package reactor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// BenchmarkRunWorker is BenchmarkRunWarm through a worker process: the
// difference per op is the channel's cost (frames both ways, the hand-off
// to the worker's execution goroutine and back). Compare with
// BenchmarkRunWarm in the same run.
func BenchmarkRunWorker(b *testing.B) {
	p, err := NewPool(PoolConfig{Workers: 1, MaxWorkers: 1, Command: []string{os.Args[0], WorkerCommand}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	r := New(Limits{})
	r.UseWorkers(p)
	prog, err := r.Compile(benchCode)
	if err != nil {
		b.Fatal(err)
	}
	p.mu.Lock()
	pid := p.idle[0].cmd.Process.Pid
	p.mu.Unlock()
	workerBefore, selfBefore := cpuTime(b, pid), selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Run(context.Background(), prog, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU per call on each side: steadier than wall time on a shared
	// machine, and what a 2-core box runs out of first.
	b.ReportMetric(float64((cpuTime(b, pid)-workerBefore).Microseconds())/float64(b.N), "worker-cpu-µs/op")
	b.ReportMetric(float64((selfCPU()-selfBefore).Microseconds())/float64(b.N), "vault-cpu-µs/op")
}

// cpuTime is a process's user and system CPU time so far.
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 Hz).
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunPaced runs calls with an idle gap between them, as an HTTP
// caller does (one call, its answer, the next request): each side's
// threads go idle between calls, which back-to-back benchmarks never see.
// It reports the median call (p50-µs), in process and through a worker.
func BenchmarkRunPaced(b *testing.B) {
	for _, where := range []string{"in-process", "worker"} {
		b.Run(where, func(b *testing.B) {
			r := New(Limits{})
			if where == "worker" {
				p, err := NewPool(PoolConfig{Workers: 1, MaxWorkers: 1, Command: []string{os.Args[0], WorkerCommand}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				r.UseWorkers(p)
			}
			prog, err := r.Compile(benchCode)
			if err != nil {
				b.Fatal(err)
			}
			took := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				time.Sleep(time.Millisecond)
				start := time.Now()
				if _, err := r.Run(context.Background(), prog, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkBuildSpare is what a worker spends between calls building the
// next call's runtime, bare and with the common intrinsics warmed.
func BenchmarkBuildSpare(b *testing.B) {
	for _, warm := range []bool{false, true} {
		b.Run(fmt.Sprintf("warm=%v", warm), func(b *testing.B) {
			r := New(Limits{})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if r.buildCall(warm) == nil {
					b.Fatal("no spare")
				}
			}
		})
	}
}

// BenchmarkFirstRunPaced is a reactor's first call after its create, as
// the load test's cold figure has it: new code is compiled (through a
// worker, or in process), an idle gap passes, then its first Run is
// timed. Compare its p50-µs with BenchmarkRunPaced's: the difference is
// what a program's first run costs over a warm one.
func BenchmarkFirstRunPaced(b *testing.B) {
	for _, where := range []string{"in-process", "worker"} {
		b.Run(where, func(b *testing.B) {
			r := New(Limits{})
			if where == "worker" {
				p, err := NewPool(PoolConfig{Workers: 2, MaxWorkers: 2, Command: []string{os.Args[0], WorkerCommand}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				r.UseWorkers(p)
			}
			took := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				prog, err := r.Compile(fmt.Sprintf("%s\n// %d", benchCode, i))
				if err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
				start := time.Now()
				if _, err := r.Run(context.Background(), prog, Invocation{TenantID: "t", Arg: benchArg}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(took[len(took)-1].Microseconds()), "max-µs")
		})
	}
}
