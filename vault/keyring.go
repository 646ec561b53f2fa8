package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

// The key hierarchy: master key versions (in a keywrap.Wrapper: a file, an
// HSM) wrap each tenant's key versions, which wrap a data key per record.
//
// The store records every master key version ever used (the registry: a
// known value sealed under each, which is how a configured key is
// recognised, and whether it is retired), and each tenant key record says
// which master key version wraps it. A rotation re-wraps tenant keys
// record by record, so an interrupted one resumes; a version is retired
// only once nothing is wrapped under it, and from then on a server holding
// only that key refuses to start, naming the version it needs.

// masterRegistry is the stored list of master key versions.
type masterRegistry struct {
	Current  uint32          `json:"current"`
	Versions []masterVersion `json:"versions"`
}

type masterVersion struct {
	Version uint32 `json:"version"`
	// Name is where the key was (file path, HSM label), for messages.
	Name    string `json:"name"`
	Check   []byte `json:"check"`
	Added   Time   `json:"added"`
	Retired bool   `json:"retired,omitempty"`
}

// checkAD is the associated data of a version's check value; version 1's
// is the one data directories have used since the first release.
func checkAD(version uint32) []byte {
	if version == 1 {
		return []byte(kernel.MasterCheckKey)
	}
	return store.Key(kernel.MasterCheckKey, strconv.FormatUint(uint64(version), 10))
}

// match returns the version k is, or 0.
func (r *masterRegistry) match(k keywrap.Key) uint32 {
	for _, mv := range r.Versions {
		if _, err := k.Open(mv.Check, checkAD(mv.Version)); err == nil {
			return mv.Version
		}
	}
	return 0
}

func (r *masterRegistry) version(n uint32) *masterVersion {
	for i := range r.Versions {
		if r.Versions[i].Version == n {
			return &r.Versions[i]
		}
	}
	return nil
}

// rotating reports whether a version other than the current is still in use.
func (r *masterRegistry) rotating() bool {
	return slices.ContainsFunc(r.Versions, func(mv masterVersion) bool { return !mv.Retired && mv.Version != r.Current })
}

func (v *Vault) loadMasterRegistry() (*masterRegistry, error) {
	b, err := v.Store().Get([]byte(kernel.MasterRegistryKey))
	if err == nil {
		reg := new(masterRegistry)
		return reg, json.Unmarshal(b, reg)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Before versions, one check value said the directory's single key.
	check, err := v.Store().Get([]byte(kernel.MasterCheckKey))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &masterRegistry{Current: 1, Versions: []masterVersion{{Version: 1, Check: check}}}, nil
}

// masterRing is the master keys this process holds, by version.
type masterRing struct {
	current uint32
	keys    map[uint32]keywrap.Key
}

// keyRing is the vault's master key state.
type keyRing struct {
	wrapper keywrap.Wrapper
	ring    atomic.Pointer[masterRing]
	// mu serialises rewrites of tenant key records and of the registry
	// (rotations; tenant creation only adds records).
	mu sync.Mutex
	// sealing is read-held by a writer that seals under the current
	// version without mu (a new tenant, the webhook signing key) from
	// reading the version until its commit; a rotation write-holds it to
	// switch versions, so nothing sealed under the old version can land
	// after the re-wrap has begun.
	sealing sync.RWMutex
}

// openKeys loads the configured master keys and checks them against the
// registry: every version still in use must be configured.
func (v *Vault) openKeys(w keywrap.Wrapper) error {
	v.keys.wrapper = w
	keys, err := w.Keys()
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	reg, err := v.loadMasterRegistry()
	if err != nil {
		return fmt.Errorf("vault: master key registry: %w", err)
	}
	fresh := reg == nil
	if fresh { // a new data directory: its first key is version 1
		check, err := keys[0].Seal(masterCheckPlain, checkAD(1))
		if err != nil {
			return fmt.Errorf("vault: %w", err)
		}
		reg = &masterRegistry{Current: 1, Versions: []masterVersion{{Version: 1, Check: check}}}
	}
	if v1 := reg.version(1); v1.Name == "" && reg.match(keys[0]) == 1 { // new, or of before versions
		v1.Name, v1.Added = keys[0].Name(), Time{Time: kernel.Now()}
		if err := v.writeRegistry(reg, fresh); errors.Is(err, store.ErrConflict) {
			return v.openKeys(w) // another node wrote the first registry: check against it
		} else if err != nil {
			return err
		}
	}
	ring := &masterRing{current: reg.Current, keys: map[uint32]keywrap.Key{}}
	var configured []string
	for _, k := range keys {
		n := reg.match(k)
		if n != 0 {
			ring.keys[n] = k
			configured = append(configured, fmt.Sprintf("%s is version %d", k.Name(), n))
		}
	}
	if len(ring.keys) == 0 {
		return fmt.Errorf("vault: %w (%s; this data directory needs %s)", ErrWrongMasterKey, names(keys), reg.needed())
	}
	for _, mv := range reg.Versions {
		if !mv.Retired && ring.keys[mv.Version] == nil {
			return fmt.Errorf("vault: this data directory needs master key version %d (%s), which is not configured (%s); it needs %s",
				mv.Version, mv.Name, strings.Join(configured, ", "), reg.needed())
		}
	}
	v.keys.ring.Store(ring)
	return nil
}

func names(keys []keywrap.Key) string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name())
	}
	return "configured: " + strings.Join(out, ", ")
}

// needed says the versions a server must be given.
func (r *masterRegistry) needed() string {
	var out []string
	for _, mv := range r.Versions {
		if !mv.Retired {
			out = append(out, fmt.Sprintf("version %d (%s)", mv.Version, mv.Name))
		}
	}
	return "master key " + strings.Join(out, " and ")
}

func (v *Vault) saveRegistry(reg *masterRegistry, entries ...audit.Entry) error {
	b := v.Store().NewBatch()
	kernel.SetJSON(b, []byte(kernel.MasterRegistryKey), reg)
	return v.Commit(b, entries...)
}

// masterSealed is a secret sealed by a master key version.
type masterSealed struct {
	Master uint32 `json:"m"`
	Sealed []byte `json:"s"`
}

// sealMaster seals a vault-wide secret (not a tenant's) under the current
// master key version; the caller commits it, then calls release.
func (v *Vault) sealMaster(plain, aad []byte) (_ []byte, release func(), err error) {
	v.keys.sealing.RLock()
	ring := v.keys.ring.Load()
	sealed, err := ring.keys[ring.current].Seal(plain, aad)
	if err == nil {
		var out []byte
		if out, err = json.Marshal(masterSealed{Master: ring.current, Sealed: sealed}); err == nil {
			return out, v.keys.sealing.RUnlock, nil
		}
	}
	v.keys.sealing.RUnlock()
	return nil, nil, err
}

// openMaster reverses sealMaster; a value sealed before versions is
// version 1's raw seal.
func (v *Vault) openMaster(blob, aad []byte) ([]byte, error) {
	ms := masterSealed{Master: 1, Sealed: blob}
	if len(blob) > 0 && blob[0] == '{' {
		var s masterSealed
		if json.Unmarshal(blob, &s) == nil && s.Master > 0 {
			ms = s
		}
	}
	k, err := v.masterKey(ms.Master)
	if err != nil {
		return nil, err
	}
	return k.Open(ms.Sealed, aad)
}

func (v *Vault) masterKey(version uint32) (keywrap.Key, error) {
	if k := v.keys.ring.Load().keys[version]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("vault: master key version %d is not configured", version)
}

// tenantKeyRecord is the stored form of a tenant's keys: every version,
// wrapped under one master key version. A record written before versions
// is the raw seal of version 1 under master key version 1.
type tenantKeyRecord struct {
	Master  uint32            `json:"m"`
	Current uint32            `json:"cur"`
	Keys    map[uint32][]byte `json:"keys"`
	raw     bool
}

func parseTenantKeyRecord(b []byte) tenantKeyRecord {
	if len(b) > 0 && b[0] == '{' {
		var r tenantKeyRecord
		if json.Unmarshal(b, &r) == nil && r.Master > 0 && r.Keys[r.Current] != nil {
			return r
		}
	}
	return tenantKeyRecord{Master: 1, Current: 1, Keys: map[uint32][]byte{1: b}, raw: true}
}

// tenantVersionAD binds a wrapped tenant key to its tenant and version.
func tenantVersionAD(tenantID string, version uint32) []byte {
	if version == 1 {
		return tenantKeyAD(tenantID)
	}
	return store.Key(kernel.TenantKeyCollection, tenantID, "token-ad-v2", strconv.FormatUint(uint64(version), 10))
}

// unwrapTenantKeys opens every version of a tenant's keys. legacyAD
// reports a record of before the full token associated data (tokens_ad.go).
func (v *Vault) unwrapTenantKeys(tenantID string, rec tenantKeyRecord) (keys map[uint32][]byte, legacyAD bool, err error) {
	mk, err := v.masterKey(rec.Master)
	if err != nil {
		return nil, false, err
	}
	keys = map[uint32][]byte{}
	for n, wrapped := range rec.Keys {
		var k []byte
		if rec.raw {
			k, legacyAD, err = openTenantKey(mk, wrapped, tenantID)
		} else {
			k, err = mk.Open(wrapped, tenantVersionAD(tenantID, n))
		}
		if err != nil {
			return nil, false, fmt.Errorf("tenant key version %d: %w", n, err)
		}
		keys[n] = k
	}
	return keys, legacyAD, nil
}

// wrapTenantKeys seals a tenant's key versions under the current master
// key version.
func (v *Vault) wrapTenantKeys(tenantID string, keys map[uint32][]byte, current uint32) ([]byte, error) {
	ring := v.keys.ring.Load()
	rec := tenantKeyRecord{Master: ring.current, Current: current, Keys: map[uint32][]byte{}}
	for n, k := range keys {
		w, err := ring.keys[ring.current].Seal(k, tenantVersionAD(tenantID, n))
		if err != nil {
			return nil, err
		}
		rec.Keys[n] = w
	}
	return json.Marshal(rec)
}

// tenantKey returns the tenant's unwrapped key versions (cached: the
// master key, maybe an HSM, is touched once per tenant).
func (v *Vault) tenantKey(tenantID string) (*crypto.KeySet, error) {
	if k, ok := v.tenantKeys.Load(tenantID); ok {
		return k, nil
	}
	gen := v.tenantKeys.Generation()
	b, err := v.Store().Get(kernel.TenantKeyRecordKey(tenantID))
	if err != nil {
		return nil, fmt.Errorf("tenant key: %w", err)
	}
	rec := parseTenantKeyRecord(b)
	keys, _, err := v.unwrapTenantKeys(tenantID, rec)
	if err != nil {
		return nil, fmt.Errorf("tenant key: %w", err)
	}
	ks, err := crypto.NewKeySet(rec.Current, keys)
	if err != nil {
		return nil, err
	}
	v.tenantKeys.StoreIf(tenantID, ks, gen)
	return ks, nil
}

// newTenantKey adds a new tenant's first key to b; the caller commits b,
// then calls release.
func (v *Vault) newTenantKey(b store.Batch, tenantID string) (release func(), err error) {
	k := crypto.NewKey()
	defer clear(k)
	v.keys.sealing.RLock()
	rec, err := v.wrapTenantKeys(tenantID, map[uint32][]byte{1: k}, 1)
	if err != nil {
		v.keys.sealing.RUnlock()
		return nil, fmt.Errorf("wrap the tenant key: %w", err)
	}
	b.Set(kernel.TenantKeyRecordKey(tenantID), rec)
	return v.keys.sealing.RUnlock, nil
}

// forgetTenantKeys drops a tenant's cached keys after they changed.
func (v *Vault) forgetTenantKeys(tenantID string) {
	v.tenantKeys.Delete(tenantID)
	v.tenantSecretsCache.Delete(tenantID)
}

// localWrapper is the default: the master key from opts, or the key file
// (generated, 0600, only for an empty store).
func (c *Core) localWrapper(opts Options) (*keywrap.Local, error) {
	if opts.MasterKey != nil {
		return &keywrap.Local{Key: opts.MasterKey, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
	}
	path := opts.MasterKeyFile
	if path == "" {
		path = filepath.Join(opts.DataDir, "master.key")
	}
	if opts.Store != nil { // a shared store: never generate a key (cluster.go)
		k, err := sharedStoreMasterKey(opts)
		if err != nil {
			return nil, err
		}
		clear(k)
		return &keywrap.Local{KeyFile: path, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
	}
	if err := refuseNewKeyForData(path, storeDir(opts.DataDir)); err != nil {
		return nil, err
	}
	k, created, err := crypto.LoadOrCreateMasterKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	clear(k)
	c.Events.MasterKeyGenerated, c.Events.MasterKeyPath = created, path
	return &keywrap.Local{KeyFile: path, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
}

func (k *keyRing) close() error {
	if k.wrapper == nil {
		return nil
	}
	return k.wrapper.Close()
}

// writeRegistry stores the master key registry; the first one is
// insert-if-absent, so of two nodes starting on an empty database with
// different keys one writes it and the other is then checked against it
// (and refused) instead of overwriting it.
func (v *Vault) writeRegistry(reg *masterRegistry, fresh bool) error {
	if !fresh {
		return v.saveRegistry(reg)
	}
	b := v.Store().NewBatch()
	kernel.ClaimNew(b, []byte(kernel.MasterRegistryKey), reg)
	return v.Commit(b)
}
