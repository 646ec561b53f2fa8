// Package caddymodules is Strongroom's Caddy glue: the `vault` app, the
// `vault_*` HTTP handlers, their Caddyfile syntax and the `caddy vault`
// commands. It only maps configuration and requests onto package vault.
package caddymodules

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/reactor"
)

func init() {
	caddy.RegisterModule(App{})
}

// Environment variables read when the config leaves a setting empty.
const (
	EnvManagementKey = "STRONGROOM_MANAGEMENT_KEY"
	EnvMasterKey     = "STRONGROOM_MASTER_KEY"
)

// App is the `vault` app: it owns the open vault (store, key ring, caches)
// shared by every vault_* handler. Its zero value is a working default with
// data under Caddy's app data directory.
type App struct {
	// DataDir holds the Pebble store. Default: `<caddy app data dir>/strongroom`.
	DataDir string `json:"data_dir,omitempty"`
	// MasterKeyFile holds the 32-byte master key (hex or base64). Default:
	// `<data_dir>/master.key`, generated with 0600 permissions if missing.
	// The env var STRONGROOM_MASTER_KEY takes precedence over the file.
	MasterKeyFile string `json:"master_key_file,omitempty"`
	// KeyWrapperRaw holds the master keys instead (keywrap.go): local
	// (the default, with previous keys during a rotation) or pkcs11.
	KeyWrapperRaw json.RawMessage `json:"key_wrapper,omitempty" caddy:"namespace=vault.key_wrappers inline_key=wrapper"`
	// ManagementKey registers a known management API key (else the env var
	// STRONGROOM_MANAGEMENT_KEY; else one is generated on first start). It
	// must be a placeholder, `{env.NAME}` or `{file./path}`, resolved at
	// provisioning (secrets.go): the config (autosave.json, the config API)
	// never holds the key.
	ManagementKey string `json:"management_key,omitempty"`
	// MaxBodySize bounds API request bodies, in bytes. Default 2 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`
	// AllowInsecureDestinations relaxes the outbound policy of the proxy
	// (http, IP literals, loopback and private addresses, any port). For
	// local development and tests only; logged loudly when on.
	AllowInsecureDestinations bool `json:"allow_insecure_destinations,omitempty"`
	// ProxyTimeout bounds a proxied exchange with its destination (408
	// after it). Default 25s.
	ProxyTimeout caddy.Duration `json:"proxy_timeout,omitempty"`
	// JWTLeeway is the clock skew tolerated on the exp, iat and nbf of
	// project JWTs (seed 000). Default 30s; negative means none.
	JWTLeeway caddy.Duration `json:"jwt_leeway,omitempty"`
	// JWTMaxLifetime bounds exp − iat of project JWTs. Default 24h;
	// negative means no bound.
	JWTMaxLifetime caddy.Duration `json:"jwt_max_lifetime,omitempty"`
	// CVCRetention is how long a payment method's cvc is kept before it is
	// purged. Default 1h; negative means it is never stored.
	CVCRetention caddy.Duration `json:"cvc_retention,omitempty"`
	// AuditRetention is how long a deleted tenant's audit log and the vault
	// log of refused requests are kept. Default 90 days; negative erases a
	// tenant's log with the tenant.
	AuditRetention caddy.Duration `json:"audit_retention,omitempty"`
	// DiskReserve is the free space, in bytes, kept on the data directory's
	// disk: below it writes answer 507 and reads go on. Default 128 MiB;
	// negative means no reserve.
	DiskReserve int64 `json:"disk_reserve,omitempty"`

	// Reactor bounds reactor code and chooses what it may require; zero
	// fields take the runtime's defaults.
	Reactor ReactorConfig `json:"reactor,omitzero"`
	// Webhooks bounds webhook deliveries (attempts, backoff, timeout).
	Webhooks WebhookConfig `json:"webhooks,omitzero"`

	// RateLimit maps a request class (tokenize, read, proxy, react) to its
	// limit per application, `<n>/s` or `<n>/m`. Empty: no limits.
	RateLimit map[string]string `json:"rate_limit,omitempty"`
	// CORS lets browser pages of the listed origins call the API.
	CORS CORSConfig `json:"cors,omitzero"`
	// DisableMetrics keeps the vault's counters off Caddy's /metrics.
	DisableMetrics bool `json:"disable_metrics,omitempty"`
	// StorageRaw is the storage backend (namespace vault.storage, storage.go);
	// default the embedded Pebble store in data_dir.
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=vault.storage inline_key=backend"`

	ops ops // ops.go
	// core is the pooled open vault (what outlives a reload); vault is this
	// config's view of it, bound once in Provision and never written after.
	core   *vault.Core
	vault  *vault.Vault
	key    string
	logger *zap.Logger
	cancel context.CancelFunc
	// webhooksDone closes when the delivery dispatcher has stopped.
	webhooksDone <-chan struct{}
	// releaseWorkers gives back this config's hold on the reactor worker
	// pool (reactor_workers.go).
	releaseWorkers func() error
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vault", New: func() caddy.Module { return new(App) }}
}

// vaults shares one open vault Core per data directory across config
// reloads: the new config provisions before the old one is cleaned up, and
// Pebble allows one open per directory. The pool holds only the Core; every
// setting of a config lives in the view it binds (Provision).
var vaults = caddy.NewUsagePool()

type openCore struct{ *vault.Core }

func (o openCore) Destruct() error { return o.Close() }

// Provision opens (or joins) the vault Core for the data directory and binds
// this config's view of it. A setting bound to the open Core (master key,
// management key) that differs from the running one fails the config.
// The steps run in an order that matters: options, the validation-only
// exit (which must open nothing), the pool, then the bind.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	backend, opts, err := a.coreOptions(ctx)
	if err != nil {
		return err
	}
	if validating() { // validate.go
		return a.checkWithoutOpening()
	}
	if err := a.joinCore(backend, opts); err != nil {
		return err
	}
	if a.AllowInsecureDestinations {
		a.logger.Warn("INSECURE: outbound destinations are not restricted (http, loopback and private addresses allowed); never use this in production")
	}
	rt, release, err := a.Reactor.runtime(ctx, a.Egress())
	if err != nil {
		return fmt.Errorf("reactor: %w", err)
	}
	a.releaseWorkers = release
	if err := a.provisionOps(ctx); err != nil {
		return err
	}
	a.vault = a.core.Bind(rt, a.Egress(), vault.Settings{
		JWTLeeway: time.Duration(a.JWTLeeway), CVCRetention: time.Duration(a.CVCRetention),
		JWTMaxLifetime: time.Duration(a.JWTMaxLifetime), AuditRetention: time.Duration(a.AuditRetention),
		Metrics: a.ops.metrics,
	})
	return nil
}

// coreOptions settles the data directory and pool key and gathers what
// opening a Core takes (keys, storage), without opening anything: a
// `caddy validate` run stops right after it.
func (a *App) coreOptions(ctx caddy.Context) (StorageBackend, vault.Options, error) {
	if a.DataDir == "" {
		a.DataDir = filepath.Join(caddy.AppDataDir(), "strongroom")
	}
	dir, err := filepath.Abs(a.DataDir)
	if err != nil {
		return nil, vault.Options{}, err
	}
	backend, err := a.storage(ctx)
	if err != nil {
		return nil, vault.Options{}, err
	}
	a.DataDir, a.key = dir, backend.PoolKey(dir)
	managementKey, err := a.managementKey()
	if err != nil {
		return nil, vault.Options{}, err
	}
	opts := vault.Options{DataDir: dir, MasterKeyFile: a.MasterKeyFile, ManagementKey: managementKey, DiskReserve: a.DiskReserve}
	if s := os.Getenv(EnvMasterKey); s != "" {
		k, err := crypto.ParseMasterKey(s)
		if err != nil {
			return nil, vault.Options{}, fmt.Errorf("%s: %w", EnvMasterKey, err)
		}
		opts.MasterKey = k
	}
	if err := a.provisionKeyWrapper(ctx, &opts); err != nil { // keywrap.go
		return nil, vault.Options{}, err
	}
	return backend, opts, nil
}

// managementKey is the configured placeholder resolved (secrets.go), else
// the environment's key; empty lets the vault generate one on first start.
func (a *App) managementKey() (string, error) {
	key, err := resolveSecret("management_key", a.ManagementKey)
	if err != nil || key != "" {
		return key, err
	}
	return os.Getenv(EnvManagementKey), nil
}

// joinCore takes this config's hold on the pooled Core, opening it when no
// running config has. Joining a Core opened by an earlier config is refused
// when opts would have opened it differently (another master key, say).
func (a *App) joinCore(backend StorageBackend, opts vault.Options) error {
	val, loaded, err := vaults.LoadOrNew(a.key, func() (caddy.Destructor, error) {
		s, err := backend.OpenStore(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		opts.Store = s
		c, err := vault.Open(opts)
		if err != nil {
			if s != nil {
				s.Close()
			}
			return nil, err
		}
		a.announce(c.Events)
		return openCore{c}, nil
	})
	if err != nil {
		return err
	}
	a.core = val.(openCore).Core // from here on Cleanup releases it
	if loaded {
		if err := a.core.Accepts(opts); err != nil {
			return fmt.Errorf("config refused: %w", err)
		}
		return nil
	}
	version, commit := BuildVersion()
	a.logger.Info("vault opened", zap.String("data_dir", opts.DataDir), zap.String("version", version), zap.String("commit", commit))
	return nil
}

// Egress is the outbound policy of the proxy (and reactor fetch).
func (a *App) Egress() egress.Policy {
	return egress.Policy{AllowInsecure: a.AllowInsecureDestinations, Timeout: time.Duration(a.ProxyTimeout)}
}

// announce logs what an operator must know about a fresh start. The
// generated management key is the one secret printed, once, to stdout (not
// to the log) and to a 0600 file.
func (a *App) announce(e vault.Startup) {
	if e.MasterKeyGenerated {
		a.logger.Warn("generated a new master key: keep this file secret and backed up, or supply the key with master_key_file or STRONGROOM_MASTER_KEY in production",
			zap.String("path", e.MasterKeyPath))
	}
	if e.StoreReadOnly {
		a.logger.Error("the disk of the data directory is below its reserve: the store is open read-only, writes answer 507; free disk space (or lower disk_reserve) and restart",
			zap.String("data_dir", a.DataDir))
	}
	if e.BootstrapKey != "" {
		fmt.Fprintf(os.Stdout, "\nStrongroom: created tenant %s with a management application.\nManagement API key (shown once; also saved to %s):\n\n    %s\n\n",
			e.TenantID, e.BootstrapKeyFile, e.BootstrapKey)
	}
}

// Start launches background maintenance (purging expired entities).
func (a *App) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.webhooksDone = a.startWebhooks(ctx)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.vault.Sweep(); err != nil {
					a.logger.Error("sweeping expired entities", zap.Error(err))
				}
			}
		}
	}()
	return nil
}

// Stop ends background maintenance.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
	}
	if a.webhooksDone != nil {
		<-a.webhooksDone // no delivery round may outlive the vault
	}
	return nil
}

// Cleanup releases this config's hold on the shared vault Core.
func (a *App) Cleanup() error {
	if a.releaseWorkers != nil {
		_ = a.releaseWorkers()
	}
	if a.key == "" || a.core == nil {
		return nil
	}
	_, err := vaults.Delete(a.key)
	return err
}

// Vault returns this config's view of the open vault.
func (a *App) Vault() *vault.Vault { return a.vault }

// vaultApp returns the configured vault app from a handler's context.
func vaultApp(ctx caddy.Context) (*App, error) {
	m, err := ctx.App("vault")
	if err != nil {
		return nil, fmt.Errorf("loading vault app: %w", err)
	}
	a, ok := m.(*App)
	if !ok {
		return nil, fmt.Errorf("vault app has unexpected type %T", m)
	}
	return a, nil
}

var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)

// ReactorConfig is the `reactor` block of the vault app.
type ReactorConfig struct {
	Timeout       caddy.Duration `json:"timeout,omitempty"`
	MaxCodeSize   int            `json:"max_code_size,omitempty"`
	MaxPayload    int            `json:"max_payload,omitempty"`
	MaxCallStack  int            `json:"max_call_stack,omitempty"`
	MaxConcurrent int            `json:"max_concurrent,omitempty"`
	MaxPerTenant  int            `json:"max_per_tenant,omitempty"`
	MaxMemory     int64          `json:"max_memory,omitempty"`
	// Workers runs reactor code in worker processes (reactor_workers.go);
	// nil takes the defaults, workers 0 runs it in the vault process.
	Workers *WorkersConfig `json:"workers,omitempty"`
	// ModulesRaw are the modules reactor code may require (namespace
	// vault.reactor_modules). Empty means every registered module.
	ModulesRaw []json.RawMessage `json:"modules,omitempty" caddy:"namespace=vault.reactor_modules inline_key=module"`
}

// egressUser is a reactor module that makes outbound calls (fetch): it
// gets the vault's egress policy unless configured otherwise.
type egressUser interface {
	UseEgress(egress.Policy)
}

// runtime builds the reactor runtime with its modules, and its worker pool
// unless reactor code runs in process; release gives the pool back.
func (c *ReactorConfig) runtime(ctx caddy.Context, policy egress.Policy) (*reactor.Runtime, func() error, error) {
	var mods []reactor.Module
	add := func(m any) error {
		rm, ok := m.(reactor.Module)
		if !ok {
			return fmt.Errorf("module %T is not a reactor module", m)
		}
		if eu, ok := m.(egressUser); ok {
			eu.UseEgress(policy)
		}
		mods = append(mods, rm)
		return nil
	}
	if len(c.ModulesRaw) > 0 {
		loaded, err := ctx.LoadModule(c, "ModulesRaw")
		if err != nil {
			return nil, nil, err
		}
		for _, m := range loaded.([]any) {
			if err := add(m); err != nil {
				return nil, nil, err
			}
		}
	} else {
		for _, info := range caddy.GetModules("vault.reactor_modules") {
			m := info.New()
			if p, ok := m.(caddy.Provisioner); ok {
				if err := p.Provision(ctx); err != nil {
					return nil, nil, err
				}
			}
			if err := add(m); err != nil {
				return nil, nil, err
			}
		}
	}
	limits := reactor.Limits{
		Timeout: time.Duration(c.Timeout), MaxCodeSize: c.MaxCodeSize, MaxPayload: c.MaxPayload,
		MaxCallStack: c.MaxCallStack, MaxConcurrent: c.MaxConcurrent, MaxPerTenant: c.MaxPerTenant,
		MaxMemory: c.MaxMemory,
	}
	rt := reactor.New(limits, mods...)
	release, err := c.Workers.use(rt, limits, mods)
	if err != nil {
		return nil, nil, err
	}
	return rt, release, nil
}
