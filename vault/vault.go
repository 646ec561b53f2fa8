// Package vault is Strongroom's use-case layer: every way in (REST API,
// proxy, middleware, reactors, CLI) calls these methods, so validation,
// permission checks, encryption and audit happen in exactly one place.
// It has no Caddy import.
package vault

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/metrics"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/store"
)

// Options configure Open.
type Options struct {
	// DataDir holds the Pebble store (and, by default, the master key).
	DataDir string
	// MasterKey, when set, is the master key; otherwise MasterKeyFile is read,
	// or generated with 0600 permissions when absent (development).
	MasterKey     []byte
	MasterKeyFile string
	// ManagementKey, when set, is registered as a key of the bootstrap
	// management application, so CI and SDK tests can use a known key.
	ManagementKey string
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
	// Store, when set, is the open store to serve instead of Pebble in
	// DataDir (cluster mode, cluster.go); the vault closes it.
	Store store.Store
}

// Vault is an open vault: the store, the key ring and the caches.
type Vault struct {
	store  store.Store
	master []byte

	tenantKeys          sync.Map // tenant id → unwrapped tenant key
	tenantSettingsCache sync.Map // tenant id → settings
	tenantSecretsCache  sync.Map // tenant id → tenantSecrets
	audits              chan audit.Entry
	auditDone           chan struct{}
	closed              atomic.Bool
	auth                authCache
	tokens              tokenCache
	projects            projectState // projects.go: JWT keys and settings
	idemFlights         inFlight     // idempotency.go: keys whose first request runs
	webhooks            webhookState // webhook_queue.go: subscriptions cache, outbox, signing key
	locks               [64]sync.Mutex
	metrics             atomic.Pointer[metrics.Set] // observe.go
	home                storeHome                   // health.go
	stopCacheBound      chan struct{}               // cluster.go, on a shared store
	auditRetention      time.Duration

	// Reactors runs reactor code; nil disables reactors (create and react
	// answer 501).
	Reactors *reactor.Runtime

	// CheckDestination validates proxy destination URLs against the host's
	// egress policy; nil accepts any URL.
	CheckDestination func(raw string) error

	// Events reports notable start-up facts (generated keys) for the host
	// to log; it never carries a secret except BootstrapKey, shown once.
	Events Startup
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
}

// now is the clock; tests may replace it.
var now = func() time.Time { return time.Now().UTC() }

const masterCheckKey = "meta\x00master-check"

var masterCheckPlain = []byte("strongroom master key check v1")

// ErrWrongMasterKey is returned by Open when the master key does not match
// the one the data was written with.
var ErrWrongMasterKey = errors.New("the master key does not match the one this data directory was created with")

// Open opens (creating if needed) the vault in opts.DataDir.
func Open(opts Options) (*Vault, error) {
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
	v := &Vault{}
	master := opts.MasterKey
	if master == nil && opts.Store != nil {
		k, err := sharedStoreMasterKey(opts)
		if err != nil {
			return nil, err
		}
		master = k
	}
	if master == nil {
		path := opts.MasterKeyFile
		if path == "" {
			path = filepath.Join(opts.DataDir, "master.key")
		}
		if err := refuseNewKeyForData(path, storeDir(opts.DataDir)); err != nil {
			return nil, err
		}
		k, created, err := crypto.LoadOrCreateMasterKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		master = k
		v.Events.MasterKeyGenerated, v.Events.MasterKeyPath = created, path
	}
	if len(master) != crypto.KeySize {
		return nil, errors.New("vault: master key must be 32 bytes")
	}
	s := opts.Store
	if s == nil {
		p, err := store.OpenPebble(storeDir(opts.DataDir))
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		s, v.home = p, openedHome(storeDir(opts.DataDir))
	}
	v.store, v.master = s, master
	v.auditRetention = cmp.Or(opts.AuditRetention, DefaultAuditRetention)
	v.projects.configure(opts)
	v.audits, v.auditDone = make(chan audit.Entry, auditQueue), make(chan struct{})
	go v.runAuditWriter(v.auditDone)
	if store.IsShared(s) {
		v.tokens.off = true
		v.stopCacheBound = make(chan struct{})
		go v.boundCaches(v.stopCacheBound)
	}
	if err := v.checkMasterKey(); err != nil {
		v.Close()
		return nil, err
	}
	if err := v.upgradeTokenAD(); err != nil {
		v.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := v.bootstrap(opts); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
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

// checkMasterKey seals a known value on first use and verifies it after, so
// a wrong master key fails at start-up instead of serving garbage.
func (v *Vault) checkMasterKey() error {
	key := []byte(masterCheckKey)
	sealed, err := v.store.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		b := v.store.NewBatch()
		defer b.Close()
		b.Insert(key, crypto.Seal(v.master, masterCheckPlain, key))
		if err := b.Commit(); !errors.Is(err, store.ErrConflict) {
			return err
		}
		return v.checkMasterKey() // another node sealed it first: verify theirs
	}
	if err != nil {
		return err
	}
	if _, err := crypto.Open(v.master, sealed, key); err != nil {
		return ErrWrongMasterKey
	}
	return nil
}

// Close flushes pending audit entries and releases the store.
func (v *Vault) Close() error {
	v.closed.Store(true)
	if v.stopCacheBound != nil {
		close(v.stopCacheBound)
	}
	close(v.audits)
	<-v.auditDone
	return v.store.Close()
}

// Store exposes the store to sibling packages' tests and tools.
func (v *Vault) Store() store.Store { return v.store }

// lock serialises read-modify-write sequences on one entity. Writes to
// different entities proceed in parallel and their syncs are grouped by
// Pebble's commit pipeline.
func (v *Vault) lock(parts ...string) func() {
	m := &v.locks[v.lockIndex(parts...)]
	m.Lock()
	return m.Unlock
}

func (v *Vault) lockIndex(parts ...string) int {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int(h.Sum32() % uint32(len(v.locks)))
}

// tenantKey returns the tenant's unwrapped key, creating it in b when the
// tenant is new (b may be nil when the key must already exist).
func (v *Vault) tenantKey(tenantID string) ([]byte, error) {
	if k, ok := v.tenantKeys.Load(tenantID); ok {
		return k.([]byte), nil
	}
	id := store.Key("tkey", tenantID)
	wrapped, err := v.store.Get(id)
	if err != nil {
		return nil, fmt.Errorf("tenant key: %w", err)
	}
	k, _, err := openTenantKey(v.master, wrapped, tenantID)
	if err != nil {
		return nil, fmt.Errorf("tenant key: %w", err)
	}
	v.tenantKeys.Store(tenantID, k)
	return k, nil
}

func (v *Vault) newTenantKey(b store.Batch, tenantID string) {
	id := store.Key("tkey", tenantID)
	b.Set(id, crypto.Seal(v.master, crypto.NewKey(), tenantKeyAD(tenantID)))
}

// Sweep deletes expired entities. The host calls it periodically; reads
// already treat expired entities as gone.
func (v *Vault) Sweep() error {
	if held, err := v.lease("sweep", sweepLeaseTTL); !held { // cluster.go: one node sweeps
		return err
	}
	return errors.Join(v.purgeExpiredApplications(), v.purgeExpiredTokens(), v.purgeExpiredCVCs(),
		v.purgeExpiredIdempotencyKeys(), v.purgeExpiredSessions(), v.purgeExpiredTokenIntents(), v.purgeAudit())
}
