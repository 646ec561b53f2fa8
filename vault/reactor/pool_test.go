package reactor

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// TestMain makes the test binary a worker when the pool starts it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == WorkerCommand {
		os.Exit(ServeWorker(func(specs []ModuleSpec) ([]Module, error) {
			if len(specs) > 0 {
				return nil, errors.New("the reactor tests' workers have no modules")
			}
			return nil, nil
		}))
	}
	os.Exit(m.Run())
}

// testPool, when set, makes testRuntime run in worker processes.
var testPool *Pool

func newTestPool(t *testing.T, cfg PoolConfig) *Pool {
	t.Helper()
	cfg.Command = []string{os.Args[0], WorkerCommand}
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestThroughWorkers runs the runtime's contract tests again with every
// execution in a worker process: the event loop, conversions, errors and
// req.bt must behave exactly as in process.
func TestThroughWorkers(t *testing.T) {
	testPool = newTestPool(t, PoolConfig{Workers: 2, MaxWorkers: 4, Limits: testLimits})
	defer func() { testPool = nil }()
	for name, f := range map[string]func(*testing.T){
		"ReactorContract": TestReactorContract, "FormulaContract": TestFormulaContract,
		"ExportShapes": TestExportShapes, "ResultShapes": TestResultShapes,
		"ArgsArePlainValues": TestArgsArePlainValues, "CompileErrors": TestCompileErrors,
		"SyntaxErrorColumn": TestSyntaxErrorColumn, "Timers": TestTimers,
		"UncaughtTimerException": TestUncaughtTimerException, "ConsoleDiscards": TestConsoleDiscards,
		"PayloadIn": TestPayloadIn, "CaseConversion": TestCaseConversion,
		"NonErrorThrows": TestNonErrorThrows, "SyntaxErrorPositions": TestSyntaxErrorPositionsAreTheCustomers,
		"PrototypePollution": TestPrototypePollutionDoesNotLeak, "BTAsyncCalls": TestBTAsyncCalls,
		"BTRequestCasing": TestBTRequestCasing, "BTNull": TestBTNull, "BTBadArguments": TestBTBadArguments,
		"CancelledContext": TestCancelledContext,
	} {
		t.Run(name, f)
	}
}

// TestWorkerKilledAtDeadline: a worker stuck past its deadline is killed,
// the call answers 408, and a fresh worker takes its place.
func TestWorkerKilledAtDeadline(t *testing.T) {
	l := Limits{Timeout: 300 * time.Millisecond, CompileTimeout: 300 * time.Millisecond}
	p := newTestPool(t, PoolConfig{Workers: 1, MaxWorkers: 2, Limits: l})
	r := New(l)
	r.UseWorkers(p)
	// goja cannot interrupt this backtracking (regexp2, with a lookahead);
	// the worker's match timeout is the call's timeout, so the kill or the
	// timeout ends it, whichever comes first.
	prog := compile(t, r, `module.exports = async () => ({ raw: /^(?=(a+)+$)(a+)+b$/.test('a'.repeat(64)) })`)
	start := time.Now()
	_, err := r.Run(context.Background(), prog, Invocation{TenantID: "t"})
	if e := reactorError(t, err); e.Status != 408 {
		t.Fatalf("err = %+v, want 408", e)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the call took %v", took)
	}
	healthy(t, r)
	if s := p.Stats(); s.Live != 1 {
		t.Errorf("pool stats %+v after the kill, want 1 live worker", s)
	}
}

// TestWorkerDeathIsTheCallsAlone: an allocation past the worker's address
// space ends that worker; the call answers the documented 500, a call in
// flight in another worker is unaffected, and the pool replaces the dead.
func TestWorkerDeathIsTheCallsAlone(t *testing.T) {
	l := Limits{Timeout: 5 * time.Second}
	p := newTestPool(t, PoolConfig{Workers: 2, MaxWorkers: 4, Memory: 64 << 20, Limits: l})
	r := New(l)
	r.UseWorkers(p)
	bt := newMemBT()
	bt.block = make(chan struct{})
	slow := compile(t, r, `module.exports = async (req) => { try { await req.bt.tokens.retrieve('x') } catch (e) {} return { raw: 'slow' } }`)
	var wg sync.WaitGroup
	wg.Add(1)
	var slowErr error
	go func() {
		defer wg.Done()
		_, slowErr = r.Run(context.Background(), slow, Invocation{TenantID: "other", BT: bt})
	}()
	bomb := compile(t, r, `module.exports = async () => ({ raw: new Uint8Array(2 ** 32).length })`)
	_, err := r.Run(context.Background(), bomb, Invocation{TenantID: "t"})
	e := reactorError(t, err)
	if e.Status != 500 || e.Detail != stoppedDetail {
		t.Errorf("err = %+v, want 500 %q", e, stoppedDetail)
	}
	noHostDetail(t, e)
	close(bt.block)
	wg.Wait()
	if slowErr != nil {
		t.Errorf("the other tenant's call: %v", slowErr)
	}
	healthy(t, r)
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Idle < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := p.Stats(); s.Live != 2 || s.Idle != 2 {
		t.Errorf("pool stats %+v, want 2 live and idle", s)
	}
}

// TestTenantHoldsAtMostHalf: one tenant cannot take every worker; another
// tenant's call runs while the first one's extra calls wait.
func TestTenantHoldsAtMostHalf(t *testing.T) {
	l := Limits{Timeout: 5 * time.Second}
	p := newTestPool(t, PoolConfig{Workers: 2, MaxWorkers: 2, Limits: l})
	r := New(l)
	r.UseWorkers(p)
	bt := newMemBT()
	bt.block = make(chan struct{})
	wait := compile(t, r, `module.exports = async (req) => { try { await req.bt.tokens.retrieve('x') } catch (e) {} return { raw: 'done' } }`)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Run(context.Background(), wait, Invocation{TenantID: "greedy", BT: bt}); err != nil {
				t.Errorf("greedy: %v", err)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if s := p.Stats(); s.Waiting != 1 {
		t.Errorf("stats %+v: want the greedy tenant's second call waiting", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := r.Run(ctx, compile(t, r, `module.exports = async () => ({ raw: 'other' })`), Invocation{TenantID: "other"})
	if err != nil || jsonOf(t, res.Raw) != `"other"` {
		t.Errorf("other tenant: %v %v", res, err)
	}
	close(bt.block)
	wg.Wait()
}

// TestPoolClosed: calls after Close are refused as busy, not hung.
func TestPoolClosed(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1, Limits: testLimits})
	r := New(testLimits)
	r.UseWorkers(p)
	prog := compile(t, r, `module.exports = async () => ({ raw: 1 })`)
	p.Close()
	_, err := r.Run(context.Background(), prog, Invocation{TenantID: "t"})
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("err = %v, want 503", err)
	}
}
