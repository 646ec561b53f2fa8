package reactor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// TestHostileCode runs code that tries to hurt the host and checks that each
// ends with a clear *Error (no host detail), in bounded time, and that the
// runtime still runs a normal reactor afterwards.
func TestHostileCode(t *testing.T) {
	limits := Limits{Timeout: time.Second, CompileTimeout: 300 * time.Millisecond, MaxPayload: 64 << 10, MaxMemory: 64 << 20}
	r := New(limits)
	// The call stack, or a result's depth, runs out after work, not time: on
	// a loaded machine that can take longer than r's limit, so those cases
	// get a longer one.
	limits.Timeout = 10 * time.Second
	deep := New(limits)
	cases := []struct {
		name   string
		code   string
		status int
		detail string // substring
		errors string // substring of errors["error"][0]
	}{
		{"infinite loop", `module.exports = async () => { while (true) {} }`, 408, "time limit", ""},
		{"infinite loop in a timer", `module.exports = () => new Promise(() => setTimeout(() => { for (;;) {} }, 1))`, 408, "time limit", ""},
		{"recursion bomb", `module.exports = async () => { const f = (n) => f(n + 1) + 1; return f(0) }`, 500, "call stack", ""},
		{"recursion through a native", `module.exports = async () => { const f = () => [1].map(f); return f() }`, 500, "call stack", ""},
		{"allocation bomb", `module.exports = async () => { let a = []; while (true) a.push(new Array(1e6)) }`, 0, "", ""},
		{"dense allocation bomb", `module.exports = async () => { let a = []; while (true) a.push(new Array(1e4).fill(1.5)) }`, 0, "", ""},
		{"string doubling", `module.exports = async () => { let s = 'x'; while (true) s = s + s }`, 0, "", ""},
		{"never-settling promise", `module.exports = async () => { await new Promise(() => {}) }`, 500, "never settles", ""},
		{"pending forever on a timer", `module.exports = () => new Promise(() => setInterval(() => {}, 5))`, 408, "time limit", ""},
		{"setImmediate storm", `module.exports = () => new Promise(() => { const f = () => setImmediate(f); f() })`, 408, "time limit", ""},
		{"microtask storm", `module.exports = async () => { const f = () => Promise.resolve().then(f); f(); await new Promise(() => {}) }`, 0, "", ""},
		{"timer flood", `module.exports = async () => { for (;;) setTimeout(() => {}, 1e9) }`, 500, "Reactor Runtime Error", "too many pending timers"},
		{"require fs", `module.exports = async () => require('fs').readFileSync('/etc/passwd', 'utf8')`, 500, "Reactor Runtime Error", "Cannot find module 'fs'"},
		{"require child_process", `module.exports = async () => require('child_process').execSync('id')`, 500, "Reactor Runtime Error", "Cannot find module 'child_process'"},
		{"require a path", `module.exports = async () => require('/etc/passwd')`, 500, "Reactor Runtime Error", "Cannot find module '/etc/passwd'"},
		{"require node: prefix", `module.exports = async () => require('node:fs')`, 500, "Reactor Runtime Error", "Cannot find module 'node:fs'"},
		{"process.env", `module.exports = async () => ({ raw: process.env })`, 500, "Reactor Runtime Error", "process is not defined"},
		{"globalThis.process", `module.exports = async () => ({ raw: globalThis.process.env.HOME })`, 500, "Reactor Runtime Error", ""},
		{"eval to host", `module.exports = async () => eval("require('fs')")`, 500, "Reactor Runtime Error", "Cannot find module 'fs'"},
		{"Function constructor", `module.exports = async () => (new Function("return this"))().process.env`, 500, "Reactor Runtime Error", ""},
		{"giant result", `module.exports = async () => ({ raw: 'x'.repeat(100000) })`, 500, "maximum payload size", ""},
		{"giant sparse array", `module.exports = async () => { const a = []; a.length = 4294967295; return { raw: a } }`, 500, "maximum payload size", ""},
		{"deep result", `module.exports = async () => { let o = {}; for (let i = 0; i < 100000; i++) o = { o }; return { raw: o } }`, 500, "deeper than 512", ""},
		{"circular result", `module.exports = async () => { const o = {}; o.self = o; return { raw: o } }`, 500, "circular", ""},
		{"deeply nested JSON.parse", `module.exports = async () => JSON.parse('['.repeat(1e5) + ']'.repeat(1e5))`, 500, "Reactor Runtime Error", "nested too deeply"},
		{"BigInt result", `module.exports = async () => ({ raw: 1n })`, 500, "BigInt", ""},
		{"throwing getter in result", `module.exports = async () => ({ get raw() { throw new Error('getter') } })`, 500, "Reactor Runtime Error", "getter"},
		{"looping toJSON", `module.exports = async () => ({ raw: { toJSON() { for (;;) {} } } })`, 408, "time limit", ""},
		{"looping getter on thrown", `module.exports = async () => { throw { get message() { for (;;) {} } } }`, 408, "time limit", ""},
		{"thrown proxy", `module.exports = async () => { throw new Proxy({}, { ownKeys() { throw 1 } }) }`, 500, "Reactor Runtime Error", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			rt := r
			if c.detail == "call stack" || c.detail == "deeper than 512" {
				rt = deep
			}
			res, err := run(t, rt, c.code, map[string]any{"args": map[string]any{}}, nil)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("succeeded: %v", jsonOf(t, res.Value))
			}
			e := reactorError(t, err)
			t.Logf("%d %q %v after %v", e.Status, e.Detail, e.Errors, took.Round(time.Millisecond))
			if c.status != 0 && e.Status != c.status {
				t.Errorf("status = %d, want %d", e.Status, c.status)
			}
			if c.status == 0 && !(e.Detail == memoryDetail || e.Detail == timeoutDetail) {
				t.Errorf("detail = %q, want the memory or time limit", e.Detail)
			}
			if !strings.Contains(e.Detail, c.detail) {
				t.Errorf("detail = %q, want %q", e.Detail, c.detail)
			}
			if c.errors != "" && (len(e.Errors["error"]) == 0 || !strings.Contains(e.Errors["error"][0], c.errors)) {
				t.Errorf("errors = %v, want %q", e.Errors, c.errors)
			}
			// Bounded, not fast: a single goja instruction (one more string
			// doubling) may finish after the stop, and this machine is
			// shared; without the limits these would never end.
			if took > 15*time.Second {
				t.Errorf("took %v", took)
			}
			noHostDetail(t, e)
			healthy(t, r)
		})
	}
}

func TestAllocationBombHitsMemoryLimit(t *testing.T) {
	r := New(Limits{Timeout: 20 * time.Second, MaxMemory: 64 << 20})
	start := time.Now()
	_, err := run(t, r, `module.exports = async () => { let a = []; while (true) a.push(new Array(1e4).fill(1.5)) }`, nil, nil)
	e := reactorError(t, err)
	if e.Detail != memoryDetail {
		t.Fatalf("err = %+v, want the memory limit", e)
	}
	t.Logf("stopped after %v", time.Since(start))
	healthy(t, r)
}

func TestPrototypePollutionDoesNotLeak(t *testing.T) {
	r := testRuntime()
	pollute := compile(t, r, `module.exports = async () => {
		Object.prototype.polluted = 1;
		Array.prototype.push = function () { return 'hijacked' };
		JSON.stringify = () => '"hijacked"';
		globalThis.lastCard = '4242424242424242';
		Promise.prototype.then = function () {};
		setTimeout(() => {}, 100000);
		return { raw: ({}).polluted };
	}`)
	check := `module.exports = async () => ({ raw: [({}).polluted, [].push(1), JSON.stringify(1), typeof lastCard] })`
	other := compile(t, r, check)
	same := compile(t, r, `module.exports = async () => ({ raw: ({}).polluted })`)
	for i := 0; i < 2; i++ {
		res, err := r.Run(context.Background(), pollute, Invocation{TenantID: "a"})
		if err != nil || jsonOf(t, res.Raw) != "1" {
			t.Fatalf("pollute: res=%v err=%v", res, err)
		}
	}
	res, err := r.Run(context.Background(), other, Invocation{TenantID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, res.Raw); got != `[null,1,"1","undefined"]` {
		t.Errorf("another program saw %s", got)
	}
	res, err = r.Run(context.Background(), same, Invocation{TenantID: "a"})
	if err != nil || jsonOf(t, res.Raw) != "null" {
		t.Errorf("a later call saw the pollution: %v %v", res, err)
	}
}

func TestRequireCannotReachHost(t *testing.T) {
	// No module is registered: require is a closed list.
	r := testRuntime()
	res, err := run(t, r, `module.exports = async () => {
		const out = [];
		for (const m of ['fs', 'os', 'process', 'console', 'buffer', 'util', 'url', './x', '../x', 'node-fetch', '']) {
			try { require(m); out.push(m + ':loaded') } catch (e) { out.push(e.code || e.name) }
		}
		try { require() } catch (e) { out.push(e.name) }
		return { raw: out }
	}`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `["MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","MODULE_NOT_FOUND","TypeError"]`
	if got := jsonOf(t, res.Raw); got != want {
		t.Errorf("raw = %s", got)
	}
}

// TestSourceMapsNotRead: goja's parser reads "//# sourceMappingURL=<path>"
// from the host filesystem unless told not to. A FIFO nobody writes to
// blocks such a read forever, so a regression shows up as a timeout.
func TestSourceMapsNotRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "map")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	t.Cleanup(func() {
		// Release a reader stuck on the FIFO, if any.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	r := New(Limits{Timeout: time.Second, CompileTimeout: time.Second})
	code := "module.exports = async () => ({ raw: eval('1\\n//# sourceMappingURL=" + fifo + "') + new Function('return 1\\n//# sourceMappingURL=" + fifo + "')() })\n//# sourceMappingURL=" + fifo + "\n"
	res, err := run(t, r, code, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, res.Raw) != "2" {
		t.Errorf("raw = %s", jsonOf(t, res.Raw))
	}
}

func TestCodeTooLarge(t *testing.T) {
	r := New(Limits{})
	_, err := r.Compile("module.exports = () => 1;" + strings.Repeat(" ", 50_000))
	if err == nil || !strings.Contains(err.Error(), "at most 50000 characters") {
		t.Errorf("err = %v", err)
	}
	healthy(t, r)
}

func TestConcurrencyLimits(t *testing.T) {
	r := New(Limits{Timeout: 5 * time.Second, MaxConcurrent: 3, MaxPerTenant: 2})
	bt := newMemBT()
	bt.block = make(chan struct{})
	p := compile(t, r, `module.exports = async (req) => { try { await req.bt.tokens.retrieve('x') } catch (e) {} return { raw: 1 } }`)
	var wg sync.WaitGroup
	start := func(tenant string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Run(context.Background(), p, Invocation{TenantID: tenant, BT: bt}); err != nil {
				t.Errorf("blocked run: %v", err)
			}
		}()
	}
	waitCalls := func(n int) {
		deadline := time.Now().Add(2 * time.Second)
		for {
			bt.mu.Lock()
			c := len(bt.calls)
			bt.mu.Unlock()
			if c >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls started", c)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	start("a")
	start("a")
	waitCalls(2)
	_, err := r.Run(context.Background(), p, Invocation{TenantID: "a", BT: bt})
	if e := reactorError(t, err); e.Status != 429 || !strings.Contains(e.Detail, "this tenant") {
		t.Errorf("third run of tenant a: %+v", e)
	}
	start("b")
	waitCalls(3)
	_, err = r.Run(context.Background(), p, Invocation{TenantID: "c", BT: bt})
	if e := reactorError(t, err); e.Status != 503 {
		t.Errorf("fourth run overall: %+v", e)
	}
	close(bt.block)
	wg.Wait()
	// Slots are given back.
	for i := 0; i < 3; i++ {
		if _, err := r.Run(context.Background(), p, Invocation{TenantID: "a", BT: bt}); err != nil {
			t.Errorf("after release: %v", err)
		}
	}
	r.mu.Lock()
	if r.inFlight != 0 || len(r.byTenant) != 0 {
		t.Errorf("inFlight=%d byTenant=%v", r.inFlight, r.byTenant)
	}
	r.mu.Unlock()
}

func TestParallelRuns(t *testing.T) {
	r := New(Limits{MaxConcurrent: 64, MaxPerTenant: 64})
	p := compile(t, r, `module.exports = async (req) => { await new Promise(r => setTimeout(r, 1)); return { raw: req.args.i * 2 } }`)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := r.Run(context.Background(), p, Invocation{TenantID: "t", Arg: map[string]any{"args": map[string]any{"i": i}}})
			if err != nil {
				t.Error(err)
				return
			}
			if got := jsonOf(t, res.Raw); got != jsonOf(t, i*2) {
				t.Errorf("run %d: raw = %s", i, got)
			}
		}(i)
	}
	wg.Wait()
}

// TestMemoryWatchdogSparesWaitingExecutions: the watchdog sees the whole
// process's heap, but an execution waiting on its loop is not the one
// allocating and must survive a neighbour's growth. The neighbour is this
// test, holding twice the limit live for many of the watchdog's ticks
// while the waiter waits, so a watchdog that did not spare waiting
// executions kills the waiter every time. (A bomb as the neighbour made
// the test race: whichever watchdog ticked first, the bomb's or the
// waiter's, decided it, and on a loaded machine the bomb itself could
// outlast its budget; a waiter woken by short timers all along could be
// descheduled mid-callback, which counts as busy.) The growth starts once
// the waiter has said, through a module, that it is past its set-up, and
// ends long before its one timer fires.
func TestMemoryWatchdogSparesWaitingExecutions(t *testing.T) {
	waiting := make(chan struct{})
	var once sync.Once
	sig := signalModule{fire: func() { once.Do(func() { close(waiting) }) }}
	const limit = 64 << 20
	r := New(Limits{Timeout: 10 * time.Second, MaxMemory: limit}, sig)
	waiter := compile(t, r, `const s = require('signal');
module.exports = async () => { s.fire(); await new Promise(r => setTimeout(r, 2000)); return { raw: 'survived' } }`)
	done := make(chan error, 1)
	go func() {
		res, err := r.Run(context.Background(), waiter, Invocation{TenantID: "w"})
		if err == nil && jsonOf(t, res.Raw) != `"survived"` {
			err = errors.New(jsonOf(t, res.Raw))
		}
		done <- err
	}()
	select {
	case <-waiting:
	case err := <-done:
		t.Fatalf("the waiter ended before waiting: %v", err)
	}
	// The watchdog judges the last tick's interval: let a few pass with
	// the waiter waiting, so none it judges overlaps its set-up.
	time.Sleep(5 * memoryPollInterval)
	hog := make([][]byte, 4)
	for i := range hog {
		hog[i] = make([]byte, limit/2)
	}
	runtime.GC() // the live heap the watchdog reads is the last GC's
	if live, _ := heapNow(); live < 2*limit {
		t.Fatalf("the live heap is %d bytes: the test holds too little to matter", live)
	}
	time.Sleep(250 * time.Millisecond) // ~25 ticks, the waiter still waiting
	runtime.KeepAlive(hog)
	hog = nil
	runtime.GC()
	if err := <-done; err != nil {
		t.Errorf("waiter: %v", err)
	}
}

// signalModule lets a test's reactor say where it is: fire() calls fire.
type signalModule struct{ fire func() }

func (signalModule) Name() string { return "signal" }

func (m signalModule) Load(c *Call) (goja.Value, error) {
	o := c.VM.NewObject()
	_ = o.Set("fire", func(goja.FunctionCall) goja.Value { m.fire(); return goja.Undefined() })
	return o, nil
}

// swallowModule is a careless module: it calls back into JavaScript and
// ignores the error, interrupts included.
type swallowModule struct{}

func (swallowModule) Name() string { return "swallow" }

func (swallowModule) Load(c *Call) (goja.Value, error) {
	o := c.VM.NewObject()
	_ = o.Set("call", func(call goja.FunctionCall) goja.Value {
		if fn, ok := goja.AssertFunction(call.Argument(0)); ok {
			_, _ = fn(goja.Undefined())
		}
		return goja.Undefined()
	})
	return o, nil
}

// TestSwallowedInterruptStillEnds: a module that swallows an
// InterruptedError cannot keep a reactor (and its concurrency slot) running
// past the deadline. This holds because goja's interrupt flag stays set
// until ClearInterrupt, which the sandbox never calls (runtimes are not
// reused); the test guards that assumption across goja upgrades.
func TestSwallowedInterruptStillEnds(t *testing.T) {
	r := New(Limits{Timeout: 200 * time.Millisecond}, swallowModule{})
	_, err := run(t, r, `const s = require('swallow'); module.exports = async () => { s.call(() => { for (;;) {} }); for (;;) {} }`, nil, nil)
	if e := reactorError(t, err); e.Status != 408 {
		t.Fatalf("err = %+v", e)
	}
	deadline := time.Now().Add(time.Second)
	for {
		r.mu.Lock()
		n := r.inFlight
		r.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the execution is still running after its deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
	healthy(t, r)
}
