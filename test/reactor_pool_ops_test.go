package test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

const (
	mWorkersLive = "strongroom_reactor_workers_live"
	mWorkersBusy = "strongroom_reactor_workers_busy"
	mWorkerCalls = "strongroom_reactor_worker_calls_total"
	mQueueCount  = "strongroom_reactor_worker_queue_wait_seconds_count"
	mQueueSum    = "strongroom_reactor_worker_queue_wait_seconds_sum"
	mExitMemory  = `strongroom_reactor_worker_exits_total{reason="memory"}`
)

// TestReactorWorkerOps checks the pool's operability: its metrics on the
// admin /metrics (workers live and busy, calls, queue wait, exits by
// reason), the vault's log line for a worker that died (its reason, no
// tenant data), and tenant_workers bounding the workers one tenant holds.
func TestReactorWorkerOps(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: workersCaddyfile(t, "tenant_workers 1")})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	slow := rxCode(t, s, "slow", `module.exports = async () => { await new Promise((r) => setTimeout(r, 1000)); return { raw: 'slow' } }`, nil)
	bomb := rxCode(t, s, "bomb", `module.exports = async () => ({ raw: new Uint8Array(2 ** 31).length, secret: 'ops-canary-4242' })`, nil)
	if !waitFor(20*time.Second, func() bool { m, _ := scrape(t, s); return m[mWorkersLive] >= 2 }) {
		t.Fatalf("fewer than 2 workers live")
	}

	// Two concurrent calls of one tenant with two idle workers: with
	// tenant_workers 1 the second waits for the first's worker. The second
	// starts once the first holds its worker, so the two overlap however
	// loaded the machine is.
	before, _ := scrape(t, s)
	var wg sync.WaitGroup
	call := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _, b := rxReact(t, s, invoker, slow, nil); st != http.StatusOK {
				t.Errorf("slow react: %d %s", st, b)
			}
		}()
	}
	call()
	if !waitFor(5*time.Second, func() bool { m, _ := scrape(t, s); return m[mWorkersBusy] >= 1 }) {
		wg.Wait()
		t.Fatalf("the first slow call never held a worker")
	}
	call()
	wg.Wait()
	after, _ := scrape(t, s)
	moved(t, "2 concurrent calls", before, after, map[string]float64{mWorkerCalls: 2, mQueueCount: 2, mWorkersBusy: 0})
	if waited := after[mQueueSum] - before[mQueueSum]; waited < 0.3 {
		t.Errorf("the calls waited %.3fs for a worker in all, want one to wait for the other (tenant_workers 1)", waited)
	}

	// A worker that runs out of memory: counted and logged by reason.
	before = after
	if st, _, b := rxReact(t, s, invoker, bomb, nil); st != http.StatusInternalServerError {
		t.Fatalf("memory bomb: %d %s", st, b)
	}
	if !waitFor(10*time.Second, func() bool { m, _ := scrape(t, s); return m[mExitMemory]-before[mExitMemory] == 1 }) {
		m, _ := scrape(t, s)
		t.Errorf("worker exits by memory moved by %v, want 1", m[mExitMemory]-before[mExitMemory])
	}
	if !waitFor(20*time.Second, func() bool { m, _ := scrape(t, s); return m[mWorkersLive] >= 2 && m[mWorkersBusy] == 0 }) {
		m, _ := scrape(t, s)
		t.Errorf("after the death: %v live, %v busy, want 2 and 0", m[mWorkersLive], m[mWorkersBusy])
	}
	var line string
	for _, l := range strings.Split(s.Log(), "\n") {
		if strings.Contains(l, "reactor worker ended") && strings.Contains(l, `"reason":"memory"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no log line for the worker that ran out of memory")
	}
	for _, leak := range []string{"ops-canary-4242", bomb, invoker, "Uint8Array"} {
		if strings.Contains(line, leak) {
			t.Errorf("the worker's log line holds %q: %s", leak, line)
		}
	}
	if !strings.Contains(line, `"exit_code":`) && !strings.Contains(line, `"signal":`) {
		t.Errorf("the worker's log line has no exit status: %s", line)
	}
	t.Logf("log: %s", line)
}
