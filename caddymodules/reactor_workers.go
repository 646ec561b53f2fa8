package caddymodules

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault/reactor"
)

func init() {
	// The vault starts its reactor workers as this binary with this
	// command; it is not for people, so it is hidden from help.
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  reactor.WorkerCommand,
		Short: "Runs reactor code for the vault (started by the vault itself)",
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Hidden = true
			cmd.Run = func(*cobra.Command, []string) { os.Exit(reactor.ServeWorker(buildReactorModules)) }
		},
	})
}

// WorkersConfig is where reactor code runs: worker processes of this
// binary, kept warm by the vault and shared across config reloads.
type WorkersConfig struct {
	// Count is how many workers are kept started (default 2); 0 runs
	// reactor code in the vault process instead (no isolation).
	Count *int `json:"count,omitempty"`
	// Max bounds the worker processes (default 4 × GOMAXPROCS).
	Max int `json:"max,omitempty"`
	// TenantMax bounds the workers one tenant holds at once (default half
	// of Max).
	TenantMax int `json:"tenant_max,omitempty"`
	// Memory is each worker's memory limit in bytes (default 256 MiB).
	Memory int64 `json:"memory,omitempty"`
	// IdleTimeout stops workers beyond Count idle this long (default 30s).
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`
}

// use moves rt's executions into the shared worker pool for this
// configuration; the returned function gives the pool back.
func (w *WorkersConfig) use(rt *reactor.Runtime, limits reactor.Limits, mods []reactor.Module) (func() error, error) {
	cfg := reactor.PoolConfig{Limits: limits, Observer: workerObserver{}}
	if w != nil {
		if w.Count != nil && *w.Count == 0 {
			return nil, nil
		}
		if w.Count != nil {
			cfg.Workers = *w.Count
		}
		cfg.MaxWorkers, cfg.TenantWorkers = w.Max, w.TenantMax
		cfg.Memory, cfg.IdleTimeout = w.Memory, time.Duration(w.IdleTimeout)
	}
	for _, m := range mods {
		cm, ok := m.(caddy.Module)
		if !ok {
			return nil, fmt.Errorf("module %T cannot run in reactor workers", m)
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		cfg.Modules = append(cfg.Modules, reactor.ModuleSpec{ID: string(cm.CaddyModule().ID), Config: raw})
	}
	pool, release, err := sharedPool(cfg)
	if err != nil {
		return nil, err
	}
	rt.UseWorkers(pool)
	return release, nil
}

// workersDirective reads the worker settings of the reactor block:
//
//	workers     <n>          (0: in process)
//	max_workers <n>
//	tenant_workers <n>       (half of max_workers)
//	memory      <size>       (256MiB)
//	worker_idle <duration>
//
// handled is false for other directives.
func (c *ReactorConfig) workersDirective(d *caddyfile.Dispenser, name, arg string) (handled bool, err error) {
	if c.Workers == nil {
		c.Workers = &WorkersConfig{}
	}
	w := c.Workers
	switch name {
	case "workers", "max_workers", "tenant_workers":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n == 0 && name != "workers" {
			return true, d.Errf("reactor %s must be a non-negative number: %q", name, arg)
		}
		switch name {
		case "workers":
			w.Count = &n
		case "max_workers":
			w.Max = n
		default:
			w.TenantMax = n
		}
	case "memory":
		n, err := humanize.ParseBytes(arg)
		if err != nil || n < 32<<20 || n > 1<<40 {
			return true, d.Errf("reactor memory must be a size of at least 32MiB: %q", arg)
		}
		w.Memory = int64(n)
	case "worker_idle":
		dur, err := caddy.ParseDuration(arg)
		if err != nil || dur <= 0 {
			return true, d.Errf("reactor worker_idle must be a positive duration: %q", arg)
		}
		w.IdleTimeout = caddy.Duration(dur)
	default:
		if *w == (WorkersConfig{}) {
			c.Workers = nil
		}
		return false, nil
	}
	return true, nil
}

// reactorPools shares one worker pool per configuration across config
// reloads, like the vault's Core: the new config takes it before the old
// one lets go.
var reactorPools = caddy.NewUsagePool()

// sharedPool returns the pool for cfg, starting it unless one with the same
// configuration is running; release gives this holder's use back (the last
// one stops the workers).
func sharedPool(cfg reactor.PoolConfig) (pool *reactor.Pool, release func() error, err error) {
	key, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	v, _, err := reactorPools.LoadOrNew(string(key), func() (caddy.Destructor, error) { return reactor.NewPool(cfg) })
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return v.(*reactor.Pool), func() error {
		var err error
		once.Do(func() { _, err = reactorPools.Delete(string(key)) })
		return err
	}, nil
}

// buildReactorModules makes a worker's instances of the vault's reactor
// modules from their Caddy module IDs and JSON configuration.
func buildReactorModules(specs []reactor.ModuleSpec) ([]reactor.Module, error) {
	var out []reactor.Module
	for _, s := range specs {
		info, err := caddy.GetModule(s.ID)
		if err != nil {
			return nil, err
		}
		m := info.New()
		if len(s.Config) > 0 {
			if err := json.Unmarshal(s.Config, m); err != nil {
				return nil, err
			}
		}
		if p, ok := m.(caddy.Provisioner); ok {
			if err := p.Provision(caddy.Context{Context: context.Background()}); err != nil {
				return nil, err
			}
		}
		rm, ok := m.(reactor.Module)
		if !ok {
			return nil, fmt.Errorf("%s is not a reactor module", s.ID)
		}
		out = append(out, rm)
	}
	return out, nil
}
