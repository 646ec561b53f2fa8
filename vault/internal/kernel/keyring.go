package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
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

// ErrWrongMasterKey is returned when no configured master key matches the
// ones the data was written with.
var ErrWrongMasterKey = errors.New("the master key does not match the one this data directory was created with")

// MasterCheckPlain is the known value each master key version seals in
// the registry.
var MasterCheckPlain = []byte("strongroom master key check v1")

// MasterRegistry is the stored list of master key versions.
type MasterRegistry struct {
	Current  uint32          `json:"current"`
	Versions []MasterVersion `json:"versions"`
}

// MasterVersion is one registered master key version.
type MasterVersion struct {
	Version uint32 `json:"version"`
	// Name is where the key was (file path, HSM label), for messages.
	Name    string `json:"name"`
	Check   []byte `json:"check"`
	Added   Time   `json:"added"`
	Retired bool   `json:"retired,omitempty"`
}

// CheckAD is the associated data of a version's check value; version 1's
// is the one data directories have used since the first release.
func CheckAD(version uint32) []byte {
	if version == 1 {
		return []byte(MasterCheckKey)
	}
	return store.Key(MasterCheckKey, strconv.FormatUint(uint64(version), 10))
}

// Match returns the version k is, or 0.
func (r *MasterRegistry) Match(k keywrap.Key) uint32 {
	for _, mv := range r.Versions {
		if _, err := k.Open(mv.Check, CheckAD(mv.Version)); err == nil {
			return mv.Version
		}
	}
	return 0
}

// Version returns version n's entry, or nil.
func (r *MasterRegistry) Version(n uint32) *MasterVersion {
	for i := range r.Versions {
		if r.Versions[i].Version == n {
			return &r.Versions[i]
		}
	}
	return nil
}

// Rotating reports whether a version other than the current is still in use.
func (r *MasterRegistry) Rotating() bool {
	return slices.ContainsFunc(r.Versions, func(mv MasterVersion) bool { return !mv.Retired && mv.Version != r.Current })
}

// Needed says the versions a server must be given.
func (r *MasterRegistry) Needed() string {
	var out []string
	for _, mv := range r.Versions {
		if !mv.Retired {
			out = append(out, fmt.Sprintf("version %d (%s)", mv.Version, mv.Name))
		}
	}
	return "master key " + strings.Join(out, " and ")
}

// LoadMasterRegistry reads the registry; nil when the store has none yet.
func (v *View) LoadMasterRegistry() (*MasterRegistry, error) {
	b, err := v.Store().Get([]byte(MasterRegistryKey))
	if err == nil {
		reg := new(MasterRegistry)
		return reg, json.Unmarshal(b, reg)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Before versions, one check value said the directory's single key.
	check, err := v.Store().Get([]byte(MasterCheckKey))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &MasterRegistry{Current: 1, Versions: []MasterVersion{{Version: 1, Check: check}}}, nil
}

// SaveRegistry commits reg with entries.
func (v *View) SaveRegistry(reg *MasterRegistry, entries ...audit.Entry) error {
	b := v.Store().NewBatch()
	SetJSON(b, []byte(MasterRegistryKey), reg)
	return v.Commit(b, entries...)
}

// writeRegistry stores the registry; the first one is insert-if-absent,
// so of two nodes starting on an empty database with different keys one
// writes it and the other is then checked against it (and refused)
// instead of overwriting it.
func (v *View) writeRegistry(reg *MasterRegistry, fresh bool) error {
	if !fresh {
		return v.SaveRegistry(reg)
	}
	b := v.Store().NewBatch()
	ClaimNew(b, []byte(MasterRegistryKey), reg)
	return v.Commit(b)
}

// masterRing is the master keys this process holds, by version.
type masterRing struct {
	current uint32
	keys    map[uint32]keywrap.Key
}

// Keys is a Base's key state: the master key ring and the cache of
// unwrapped tenant keys.
type Keys struct {
	wrapper keywrap.Wrapper
	ring    atomic.Pointer[masterRing]
	// Rewrite serialises rewrites of tenant key records and of the
	// registry (rotations; tenant creation only adds records).
	Rewrite sync.Mutex
	// sealing is read-held by a writer that seals under the current
	// version without Rewrite (a new tenant, the webhook signing key) from
	// reading the version until its commit; a rotation write-holds it to
	// switch versions, so nothing sealed under the old version can land
	// after the re-wrap has begun.
	sealing sync.RWMutex
	// Tenant caches unwrapped tenant keys by tenant id: the master key,
	// maybe an HSM, is touched once per tenant.
	Tenant CacheMap[*crypto.KeySet]
}

// OpenKeys loads w's master keys and checks them against the registry:
// every version still in use must be configured.
func (v *View) OpenKeys(w keywrap.Wrapper) error {
	v.Keys.wrapper = w
	keys, err := w.Keys()
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	reg, err := v.LoadMasterRegistry()
	if err != nil {
		return fmt.Errorf("vault: master key registry: %w", err)
	}
	fresh := reg == nil
	if fresh { // a new data directory: its first key is version 1
		check, err := keys[0].Seal(MasterCheckPlain, CheckAD(1))
		if err != nil {
			return fmt.Errorf("vault: %w", err)
		}
		reg = &MasterRegistry{Current: 1, Versions: []MasterVersion{{Version: 1, Check: check}}}
	}
	if v1 := reg.Version(1); v1.Name == "" && reg.Match(keys[0]) == 1 { // new, or of before versions
		v1.Name, v1.Added = keys[0].Name(), Time{Time: Now()}
		if err := v.writeRegistry(reg, fresh); errors.Is(err, store.ErrConflict) {
			return v.OpenKeys(w) // another node wrote the first registry: check against it
		} else if err != nil {
			return err
		}
	}
	ring := &masterRing{current: reg.Current, keys: map[uint32]keywrap.Key{}}
	var configured []string
	for _, k := range keys {
		if n := reg.Match(k); n != 0 {
			ring.keys[n] = k
			configured = append(configured, fmt.Sprintf("%s is version %d", k.Name(), n))
		}
	}
	if len(ring.keys) == 0 {
		return fmt.Errorf("vault: %w (%s; this data directory needs %s)", ErrWrongMasterKey, names(keys), reg.Needed())
	}
	for _, mv := range reg.Versions {
		if !mv.Retired && ring.keys[mv.Version] == nil {
			return fmt.Errorf("vault: this data directory needs master key version %d (%s), which is not configured (%s); it needs %s",
				mv.Version, mv.Name, strings.Join(configured, ", "), reg.Needed())
		}
	}
	v.Keys.ring.Store(ring)
	return nil
}

func names(keys []keywrap.Key) string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name())
	}
	return "configured: " + strings.Join(out, ", ")
}

// Wrapper is where the master keys are held.
func (k *Keys) Wrapper() keywrap.Wrapper { return k.wrapper }

// Current is the master key version new wrappings use.
func (k *Keys) Current() uint32 { return k.ring.Load().current }

// AddMaster adds version n to the ring and makes it current, once every
// seal under the previous current version has committed.
func (k *Keys) AddMaster(n uint32, key keywrap.Key) {
	k.sealing.Lock()
	defer k.sealing.Unlock()
	ring := &masterRing{current: n, keys: maps.Clone(k.ring.Load().keys)}
	ring.keys[n] = key
	k.ring.Store(ring)
}

// Master returns master key version n.
func (k *Keys) Master(version uint32) (keywrap.Key, error) {
	if key := k.ring.Load().keys[version]; key != nil {
		return key, nil
	}
	return nil, fmt.Errorf("vault: master key version %d is not configured", version)
}

// Close releases the wrapper (an HSM session).
func (k *Keys) Close() error {
	if k.wrapper == nil {
		return nil
	}
	return k.wrapper.Close()
}

// masterSealed is a secret sealed by a master key version.
type masterSealed struct {
	Master uint32 `json:"m"`
	Sealed []byte `json:"s"`
}

// SealMaster seals a vault-wide secret (not a tenant's) under the current
// master key version; the caller commits it, then calls release.
func (k *Keys) SealMaster(plain, aad []byte) (_ []byte, release func(), err error) {
	k.sealing.RLock()
	ring := k.ring.Load()
	sealed, err := ring.keys[ring.current].Seal(plain, aad)
	if err == nil {
		var out []byte
		if out, err = json.Marshal(masterSealed{Master: ring.current, Sealed: sealed}); err == nil {
			return out, k.sealing.RUnlock, nil
		}
	}
	k.sealing.RUnlock()
	return nil, nil, err
}

// OpenMaster reverses SealMaster; a value sealed before versions is
// version 1's raw seal.
func (k *Keys) OpenMaster(blob, aad []byte) ([]byte, error) {
	ms := masterSealed{Master: 1, Sealed: blob}
	if len(blob) > 0 && blob[0] == '{' {
		var s masterSealed
		if json.Unmarshal(blob, &s) == nil && s.Master > 0 {
			ms = s
		}
	}
	key, err := k.Master(ms.Master)
	if err != nil {
		return nil, err
	}
	return key.Open(ms.Sealed, aad)
}
