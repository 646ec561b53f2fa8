package reactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// Pool defaults, sized for a 2-core machine.
const (
	DefaultWorkers      = 2
	DefaultWorkerMemory = 256 << 20
	DefaultIdleTimeout  = 30 * time.Second
)

// DefaultMaxWorkers is the default bound on worker processes: 4 per core.
func DefaultMaxWorkers() int { return 4 * runtime.GOMAXPROCS(0) }

// PoolConfig is a pool of worker processes. Zero fields take defaults.
type PoolConfig struct {
	// Workers is how many workers are kept started, ready for a call
	// (default 2); a worker that dies is replaced at once.
	Workers int `json:"workers,omitempty"`
	// MaxWorkers bounds the worker processes (default 4 × GOMAXPROCS).
	// Calls past it wait for a worker to come free.
	MaxWorkers int `json:"max_workers,omitempty"`
	// TenantWorkers bounds the workers one tenant holds at once (default
	// half of MaxWorkers, at least 1), so other tenants always find one.
	TenantWorkers int `json:"tenant_workers,omitempty"`
	// Memory is each worker's Go soft memory limit; its address space is
	// bounded a little above twice that (default 256 MiB).
	Memory int64 `json:"memory,omitempty"`
	// IdleTimeout is how long a worker started beyond Workers (for calls
	// that found none idle) may stay idle before it is stopped (default
	// 30 s).
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	// Command is the worker's argv (default: this executable with
	// WorkerCommand).
	Command []string `json:"command,omitempty"`
	// Limits and Modules are the runtime the workers build.
	Limits  Limits       `json:"limits"`
	Modules []ModuleSpec `json:"modules,omitempty"`
	// Observer, if set, hears the pool's events (metrics and logs). It is
	// not part of the pool's identity (two configs differing only here
	// share a pool).
	Observer PoolObserver `json:"-"`
}

func (c PoolConfig) withDefaults() (PoolConfig, error) {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = DefaultMaxWorkers()
	}
	c.MaxWorkers = max(c.MaxWorkers, c.Workers)
	if c.TenantWorkers <= 0 {
		c.TenantWorkers = max(1, c.MaxWorkers/2)
	}
	c.TenantWorkers = min(c.TenantWorkers, c.MaxWorkers)
	if c.Memory <= 0 {
		c.Memory = DefaultWorkerMemory
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if len(c.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return c, err
		}
		c.Command = []string{exe, WorkerCommand}
	}
	c.Limits = c.Limits.withDefaults()
	return c, nil
}

// Pool keeps worker processes warm and hands each to one call at a time.
// It is safe for concurrent use.
type Pool struct {
	cfg   PoolConfig
	hello []byte

	mu       sync.Mutex
	idle     []*process // most recently used last
	live     int        // started or starting
	starting int
	held     map[string]int
	waiters  []*waiter
	closed   bool
	stopTidy chan struct{}

	obs PoolObserver // nil: nobody listens
}

func (p *Pool) started() {
	if p.obs != nil {
		p.obs.WorkerStarted()
	}
}

func (p *Pool) ended(e Exit) {
	if p.obs != nil {
		p.obs.WorkerEnded(e)
	}
}

func (p *Pool) busy(delta int, wait time.Duration) {
	if p.obs != nil {
		p.obs.WorkerBusy(delta, wait)
	}
}

type waiter struct {
	tenant string
	got    chan *process // buffered 1
}

// NewPool starts a pool and its first Workers workers (in the
// background: a call made before they are ready waits for one).
func NewPool(cfg PoolConfig) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hello, err := helloFor(cfg)
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, hello: hello, held: map[string]int{}, stopTidy: make(chan struct{}), obs: cfg.Observer}
	// The first worker starts now, so a binary that cannot run workers
	// fails the config load rather than every call.
	first, err := startProcess(cfg.Command, hello, p.ended)
	if err != nil {
		return nil, fmt.Errorf("starting a reactor worker (%s): %w", cfg.Command[0], err)
	}
	p.started()
	p.mu.Lock()
	p.live = 1
	p.offer(first)
	p.replenish()
	p.mu.Unlock()
	go p.tidy()
	return p, nil
}

// Config returns the effective configuration.
func (p *Pool) Config() PoolConfig { return p.cfg }

// tenantCap is how many workers one tenant may hold at once.
func (p *Pool) tenantCap() int { return p.cfg.TenantWorkers }

var errPoolClosed = errors.New("reactor: pool closed")

// get hands a worker to a call of tenant, waiting while none is free.
func (p *Pool) get(ctx context.Context, tenant string) (*process, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	for p.held[tenant] < p.tenantCap() && len(p.idle) > 0 {
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !w.alive() { // killed from outside while idle
			p.live--
			continue
		}
		p.held[tenant]++
		p.replenish()
		p.mu.Unlock()
		p.busy(1, 0)
		return w, nil
	}
	queued := time.Now()
	wt := &waiter{tenant: tenant, got: make(chan *process, 1)}
	p.waiters = append(p.waiters, wt)
	p.replenish()
	p.mu.Unlock()
	select {
	case w := <-wt.got:
		if w == nil {
			return nil, errPoolClosed
		}
		p.busy(1, time.Since(queued))
		return w, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, x := range p.waiters {
			if x == wt {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		// Handed a worker meanwhile: give it back.
		select {
		case w := <-wt.got:
			if w != nil {
				p.busy(1, time.Since(queued))
				p.put(w, tenant)
			}
		default:
		}
		return nil, ctx.Err()
	}
}

// put gives a worker back after a call of tenant; a dead one is replaced.
func (p *Pool) put(w *process, tenant string) {
	p.busy(-1, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[tenant]--; p.held[tenant] <= 0 {
		delete(p.held, tenant)
	}
	p.offer(w)
	p.replenish()
}

// offer gives a worker to the first waiter whose tenant may hold one more,
// else makes it idle. Called with mu held.
func (p *Pool) offer(w *process) {
	if !w.alive() || p.closed {
		w.kill(ExitShutdown) // a no-op for one already dead
		p.live--
		return
	}
	for i, wt := range p.waiters {
		if p.held[wt.tenant] < p.tenantCap() {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.held[wt.tenant]++
			wt.got <- w
			return
		}
	}
	w.idleSince = time.Now()
	p.idle = append(p.idle, w)
}

// replenish starts workers until Workers are live, and one for each
// waiter that could take one and finds none idle or starting, within
// MaxWorkers. Called with mu held.
func (p *Pool) replenish() {
	if p.closed {
		return
	}
	eligible := 0
	seen := map[string]int{}
	for _, wt := range p.waiters {
		if p.held[wt.tenant]+seen[wt.tenant] < p.tenantCap() {
			seen[wt.tenant]++
			eligible++
		}
	}
	for p.live < p.cfg.MaxWorkers && (p.live < p.cfg.Workers || len(p.idle)+p.starting < eligible) {
		p.live++
		p.starting++
		go p.start()
	}
}

// start starts one worker and offers it.
func (p *Pool) start() {
	w, err := startProcess(p.cfg.Command, p.hello, p.ended)
	if err == nil {
		p.started()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if err != nil {
		p.live--
		// Retried on the next get or put; a broken command must not spin.
		// A call waiting for this worker is refused rather than left to
		// its deadline.
		if len(p.waiters) > 0 {
			p.waiters[0].got <- nil
			p.waiters = p.waiters[1:]
		}
		return
	}
	p.offer(w)
}

// tidy stops workers beyond Workers that stayed idle past IdleTimeout, and
// buries idle workers that died (replaced by replenish).
func (p *Pool) tidy() {
	t := time.NewTicker(min(max(p.cfg.IdleTimeout/4, 50*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.stopTidy:
			return
		case now := <-t.C:
			p.mu.Lock()
			kept := p.idle[:0]
			for _, w := range p.idle {
				if !w.alive() {
					p.live--
					continue
				}
				kept = append(kept, w)
			}
			p.idle = kept
			// The least recently used first.
			for len(p.idle) > 0 && p.live > p.cfg.Workers && now.Sub(p.idle[0].idleSince) > p.cfg.IdleTimeout {
				p.idle[0].kill(ExitIdle)
				p.idle = p.idle[1:]
				p.live--
			}
			p.replenish()
			p.mu.Unlock()
		}
	}
}

// Close stops every worker: idle ones now, busy ones when their call ends.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.stopTidy)
	for _, w := range p.idle {
		w.kill(ExitShutdown)
		p.live--
	}
	p.idle = nil
	for _, wt := range p.waiters {
		wt.got <- nil
	}
	p.waiters = nil
	return nil
}

// Destruct is Close, for a host that shares pools (caddy.UsagePool).
func (p *Pool) Destruct() error { return p.Close() }

// Stats is a pool's state, for tests and metrics.
type Stats struct {
	Live, Idle, Waiting int
}

// Stats returns the pool's state now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Live: p.live, Idle: len(p.idle), Waiting: len(p.waiters)}
}
