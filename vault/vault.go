// Package vault composes Strongroom's use cases: every way in (REST API,
// /proxy, middleware, reactors, CLI) calls a Vault, whose methods come from
// the domain packages (tenants, tokens, projects, reactors, proxies, each
// over the kernel) and, here, from what spans domains: webhooks,
// idempotency, audit logs, backup, health, cluster leases and the change
// feed, master key rotation and tenant deletion. Validation, permission
// checks, encryption and audit therefore happen in exactly one place.
// Open returns the Core (the kernel's Base, key ring, domain caches) that a
// host keeps across config reloads; Core.Bind makes each config's
// immutable view, the Vault the methods run on. It has no Caddy import.
package vault

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/metrics"
	"github.com/strongroom/strongroom/vault/projects"
	"github.com/strongroom/strongroom/vault/proxies"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/reactors"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/tenants"
	"github.com/strongroom/strongroom/vault/tokens"
)

// Options configure Open: what identifies a Core and stays fixed while it is
// open (a host that reloads its config refuses a change to any of them, see
// Core.Accepts).
type Options struct {
	// DataDir holds the Pebble store (and, by default, the master key).
	DataDir string
	// MasterKey, when set, is the master key; otherwise MasterKeyFile is read,
	// or generated with 0600 permissions when absent (development).
	MasterKey     []byte
	MasterKeyFile string
	// PreviousMasterKeyFiles are older keys, needed while a rotation
	// finishes.
	PreviousMasterKeyFiles []string
	// KeyWrapper, when set, holds the master keys instead (an HSM; a
	// local wrapper with previous keys during a rotation).
	KeyWrapper keywrap.Wrapper
	// ManagementKey, when set, is registered as a key of the bootstrap
	// management application, so CI and SDK tests can use a known key.
	ManagementKey string
	// DiskReserve is the free space (bytes) below which writes answer 507
	// (default store.DefaultDiskReserve; negative means no reserve).
	DiskReserve int64
	// Store, when set, is the open store to serve instead of Pebble in
	// DataDir (cluster mode, cluster.go); the vault closes it.
	Store store.Store
}

// Settings are one config's policy, applied by Core.Bind; a reload may
// change every one of them.
type Settings struct {
	// JWTLeeway is the clock skew tolerated on project JWTs (default 30 s;
	// negative means none). CVCRetention bounds how long a payment
	// method's cvc is kept (default 1 h; negative means it is not stored).
	JWTLeeway, CVCRetention time.Duration
	// JWTMaxLifetime bounds a project JWT's exp − iat (default 24 h;
	// negative means no bound).
	JWTMaxLifetime time.Duration
	// AuditRetention is how long a deleted tenant's audit log and the
	// vault log of refusals are kept (default 90 days; negative erases a
	// tenant's log with the tenant).
	AuditRetention time.Duration
	// Metrics is the set the view counts into; nil counts nothing.
	Metrics *metrics.Set
}

// Core is an open vault: the store, the key ring, the caches and the
// background audit writer. It outlives config reloads (a host keeps one per
// data directory) and no config writes into it: each config reads it
// through its own Vault, made by Bind.
type Core struct {
	base  *kernel.Base // store, locks, read-audit queue, webhook outbox
	ident identity

	tenantCaches  *tenants.Caches  // settings, principals by key hash
	tokenCaches   *tokens.Caches   // token records, tenants' derived keys
	projectCaches *projects.Caches // project key sets
	reactorCaches *reactors.Caches // reactor records and formulas for the react path
	idemFlights   inFlight         // idempotency.go: keys whose first request runs
	home          storeHome        // health.go

	// Events reports notable start-up facts (generated keys) for the host
	// to log; it never carries a secret except BootstrapKey, shown once.
	Events Startup
}

// Vault is one config's view of a Core: the Core plus the kernel's view
// (reactor runtime, outbound policy, settings and the store writes go to)
// of that config. Bind makes it and nothing changes it after, so a config
// being provisioned (or rejected) never alters what a running config's
// handlers see. It is cheap: two pointers.
type Vault struct {
	*Core
	*kernel.View
	// The domains, each over the ones below it: projects and proxies over
	// reactors share the tokens and tenants domains.
	*projectsService
	*proxiesService
}

// The domain services under field names of their own (an embedded field is
// named for its type, and every domain's is Service).
type (
	projectsService = projects.Service
	proxiesService  = proxies.Service
)

// Store is the store this view reads and writes (a background job's is
// fenced by its lease).
func (v *Vault) Store() store.Store { return v.View.Store() }

// Bind returns this config's view of c: reactor code runs on rt (nil
// disables reactors), destinations are checked against out, and s applies
// (zero fields take their defaults).
func (c *Core) Bind(rt *reactor.Runtime, out egress.Policy, s Settings) *Vault {
	kv := kernel.View{Runtime: rt, Egress: out, MetricSet: s.Metrics,
		JWT: jwtauth.Validator{Leeway: s.JWTLeeway, MaxLifetime: s.JWTMaxLifetime, Now: func() time.Time { return kernel.Now() }}}
	switch {
	case s.JWTLeeway == 0:
		kv.JWT.Leeway = jwtauth.DefaultLeeway
	case s.JWTLeeway < 0:
		kv.JWT.Leeway = 0
	}
	switch {
	case s.JWTMaxLifetime == 0:
		kv.JWT.MaxLifetime = jwtauth.DefaultMaxLifetime
	case s.JWTMaxLifetime < 0:
		kv.JWT.MaxLifetime = 0
	}
	kv.CVCRetention = cmp.Or(s.CVCRetention, DefaultCVCRetention)
	kv.AuditRetention = cmp.Or(s.AuditRetention, DefaultAuditRetention)
	return c.on(c.base.Bind(kv))
}

// on is the vault over view: every domain service reads and writes through
// it, so a job's fenced view fences all of them.
func (c *Core) on(view *kernel.View) *Vault {
	tn := &tenants.Service{View: view, Caches: c.tenantCaches}
	tk := &tokens.Service{Service: tn, Caches: c.tokenCaches}
	return &Vault{Core: c, View: view, projectsService: &projects.Service{Service: tk, Caches: c.projectCaches},
		proxiesService: &proxies.Service{Service: &reactors.Service{Service: tk, Caches: c.reactorCaches}}}
}

// Startup describes what Open did that an operator must know.
type Startup struct {
	MasterKeyGenerated bool
	MasterKeyPath      string
	// BootstrapKey is the generated management key on first start (empty
	// when one was supplied or the store already existed).
	BootstrapKey     string
	BootstrapKeyFile string
	TenantID         string
	// StoreReadOnly: the disk was below the reserve at start, so the store
	// serves reads only until a restart with free space.
	StoreReadOnly bool
}

// ErrWrongMasterKey is returned by Open when the master key does not match
// the one the data was written with.
var ErrWrongMasterKey = kernel.ErrWrongMasterKey

// Open opens (creating if needed) the vault in opts.DataDir.
func Open(opts Options) (*Core, error) {
	if opts.DataDir == "" {
		return nil, errors.New("vault: data dir is required")
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: create data dir: %w", err)
	}
	// The data dir holds the sealed store and, by default, the master key:
	// owner only, also when it was created by someone else's umask.
	if err := os.Chmod(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: make the data dir private: %w", err)
	}
	c := &Core{ident: identify(opts), tenantCaches: tenants.NewCaches(), tokenCaches: &tokens.Caches{}, projectCaches: &projects.Caches{},
		reactorCaches: reactors.NewCaches()}
	w := opts.KeyWrapper
	if w == nil {
		local, err := c.localWrapper(opts) // keyring.go
		if err != nil {
			return nil, err
		}
		w = local
	}
	s := opts.Store
	if s == nil {
		p, err := store.OpenPebble(storeDir(opts.DataDir), store.WithDiskReserve(opts.DiskReserve))
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		c.Events.StoreReadOnly = p.ReadOnly()
		s, c.home = p, openedHome(storeDir(opts.DataDir))
	}
	c.base = kernel.NewBase(s)
	// Start-up work runs under a view of its own with the default settings.
	v := c.Bind(nil, egress.Policy{}, Settings{})
	v.Start()
	c.followFeed() // feedcache.go: on a shared store
	if err := v.OpenKeys(w); err != nil {
		c.Close()
		return nil, err
	}
	if err := v.upgradeTokenAD(); err != nil {
		c.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := v.UpgradeProjectIndex(); err != nil { // project_index.go
		c.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := v.bootstrap(opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// identity is what a Core was opened with that cannot change while it is
// open. It keeps a digest of the management key, never the key.
type identity struct {
	dataDir       string
	masterKeyFile string // "" when the key itself was given
	managementKey [sha256.Size]byte
	masterKey     [sha256.Size]byte // of Options.MasterKey, when given
	wrapper       string            // keywrap.Identity of Options.KeyWrapper
	previousKeys  string
	diskReserve   int64
}

func identify(opts Options) identity {
	id := identity{dataDir: filepath.Clean(opts.DataDir), managementKey: sha256.Sum256([]byte(opts.ManagementKey)),
		diskReserve: opts.DiskReserve, wrapper: keywrap.Identity(opts.KeyWrapper),
		previousKeys: strings.Join(opts.PreviousMasterKeyFiles, "\x00")}
	if opts.MasterKey != nil {
		id.masterKey = sha256.Sum256(opts.MasterKey)
	}
	if opts.MasterKey == nil {
		id.masterKeyFile = cmp.Or(opts.MasterKeyFile, filepath.Join(opts.DataDir, "master.key"))
	}
	return id
}

// Accepts reports whether a config asking for opts can use c, which is
// already open: a host sharing one Core across config reloads calls it so
// that a changed master key or management key is refused with a reason
// instead of silently ignored (both are bound to the open store; a restart
// applies them).
func (c *Core) Accepts(opts Options) error {
	want := identify(opts)
	switch {
	case want.dataDir != c.ident.dataDir:
		return fmt.Errorf("vault: the open vault is in %s, not %s", c.ident.dataDir, want.dataDir)
	case want.masterKeyFile != c.ident.masterKeyFile:
		return fmt.Errorf("vault: the master key of the open vault in %s came from %s; it cannot change to %s while the vault is open: restart the server to change it",
			c.ident.dataDir, describeKeySource(c.ident.masterKeyFile), describeKeySource(want.masterKeyFile))
	case subtle.ConstantTimeCompare(want.masterKey[:], c.ident.masterKey[:]) != 1:
		return fmt.Errorf("vault: the master key of the open vault in %s cannot change while the vault is open: restart the server to change it", c.ident.dataDir)
	case want.wrapper != c.ident.wrapper || want.previousKeys != c.ident.previousKeys:
		return fmt.Errorf("vault: the key wrapper of the open vault in %s cannot change while the vault is open: restart the server to change it", c.ident.dataDir)
	case subtle.ConstantTimeCompare(want.managementKey[:], c.ident.managementKey[:]) != 1:
		return fmt.Errorf("vault: the management key differs from the one the open vault in %s was started with; it is registered at start-up, so a reload cannot change it: restart the server, or mint another key with `vault tenant key create`", c.ident.dataDir)
	case want.diskReserve != c.ident.diskReserve:
		return fmt.Errorf("vault: disk_reserve cannot change while the vault in %s is open: the store was opened with it; restart the server to change it", c.ident.dataDir)
	}
	return nil
}

func describeKeySource(file string) string {
	if file == "" {
		return "the environment"
	}
	return "the file " + file
}

// storeDir is where a data directory keeps its store; a backup has the same
// layout, so a server started with data_dir = the backup serves it.
func storeDir(dataDir string) string { return filepath.Join(dataDir, "store") }

// refuseNewKeyForData fails when the master key file is missing beside a
// store that already holds data: a generated key could never open it, and
// generating one would leave a misleading key file behind.
func refuseNewKeyForData(keyPath, storeDir string) error {
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		return nil // present (or unreadable: reading it reports why)
	}
	if entries, err := os.ReadDir(storeDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("vault: the master key file %s is missing but %s holds data sealed with a master key: restore the key file (or set STRONGROOM_MASTER_KEY); a new key is generated only for an empty store", keyPath, storeDir)
	}
	return nil
}

// Close flushes pending audit entries and releases the store.
func (c *Core) Close() error {
	return errors.Join(c.base.Close(), c.base.Keys.Close())
}

// Store exposes the store to sibling packages' tests and tools.
func (c *Core) Store() store.Store { return c.base.Store() }

// Sweep deletes expired entities. The host calls it periodically; reads
// already treat expired entities as gone.
func (v *Vault) Sweep() error {
	v, held, err := v.lease("sweep", sweepLeaseTTL) // cluster.go: one node sweeps, fenced
	if !held {
		return err
	}
	return errors.Join(v.PurgeExpiredApplications(), v.PurgeExpiredTokens(), v.PurgeExpiredCVCs(), v.PurgeTokenCVCs(),
		v.purgeExpiredIdempotencyKeys(), v.PurgeExpiredSessions(), v.PurgeExpiredTokenIntents(), v.purgeAudit(),
		v.purgeDeletedTenants(), v.pruneFeed())
}
