package vault

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

// Master key rotation re-wraps every tenant key (not the data) under a new
// master key version while the vault serves: readers hold both versions,
// writers wrap new tenant keys under the new one at once, and each batch
// of re-wrapped records commits on its own, so kill -9 loses nothing and
// running the rotation again finishes it.

// rewrapBatch bounds the tenant key records one commit re-wraps.
const rewrapBatch = 256

// MasterKeyStatus reports the master key versions and a rotation's progress.
type MasterKeyStatus struct {
	Current  uint32             `json:"current"`
	Rotating bool               `json:"rotating"`
	Versions []MasterKeyVersion `json:"versions"`
	// TenantKeys counts tenant key records; Rewrapped those under Current.
	TenantKeys int `json:"tenant_keys"`
	Rewrapped  int `json:"rewrapped"`
}

// MasterKeyVersion is one master key version: where its key was, whether
// anything is still wrapped under it, and how many tenant keys are.
type MasterKeyVersion struct {
	Version    uint32 `json:"version"`
	Name       string `json:"name"`
	Added      Time   `json:"added"`
	Retired    bool   `json:"retired"`
	TenantKeys int    `json:"tenant_keys"`
}

// MasterKeyStatus counts tenant keys by master key version.
func (v *Vault) MasterKeyStatus() (*MasterKeyStatus, error) {
	reg, err := v.LoadMasterRegistry()
	if err != nil || reg == nil {
		return nil, errors.Join(err, errors.New("vault: no master key registry"))
	}
	count := map[uint32]int{}
	total := 0
	err = v.Store().Scan(store.Prefix(kernel.TenantKeyCollection), nil, func(_, val []byte) bool {
		count[kernel.ParseTenantKeyRecord(val).Master]++
		total++
		return true
	})
	if err != nil {
		return nil, err
	}
	st := &MasterKeyStatus{Current: reg.Current, Rotating: reg.Rotating(), TenantKeys: total, Rewrapped: count[reg.Current]}
	for _, mv := range reg.Versions {
		st.Versions = append(st.Versions, MasterKeyVersion{Version: mv.Version, Name: mv.Name, Added: mv.Added,
			Retired: mv.Retired, TenantKeys: count[mv.Version]})
	}
	return st, nil
}

// RotateMasterKey makes the wrapper's key ref (a key file, an HSM key
// label) the current master key and re-wraps every tenant key under it.
// Given the key of a rotation in progress, it finishes that rotation.
func (v *Vault) RotateMasterKey(ref string) (*MasterKeyStatus, error) {
	k, err := v.Keys.Wrapper().Load(ref)
	if err != nil {
		return nil, err
	}
	if err := v.startRotation(k); err != nil {
		return nil, err
	}
	if err := v.rewrapAll(); err != nil {
		return nil, err
	}
	if err := v.finishRotation(); err != nil {
		return nil, err
	}
	return v.MasterKeyStatus()
}

// startRotation registers k as the new current version, or checks that
// it is the current one of an unfinished rotation.
func (v *Vault) startRotation(k keywrap.Key) error {
	v.Keys.Rewrite.Lock()
	defer v.Keys.Rewrite.Unlock()
	reg, err := v.LoadMasterRegistry()
	if err != nil {
		return err
	}
	switch n := reg.Match(k); {
	case n == reg.Current && n != 0:
		v.Keys.AddMaster(n, k) // resuming: this process may lack it
		return nil
	case n != 0:
		return fmt.Errorf("vault: %s is master key version %d, older than the current version %d", k.Name(), n, reg.Current)
	case reg.Rotating():
		return fmt.Errorf("vault: a rotation to master key version %d (%s) is unfinished: run it again with that key to finish it first",
			reg.Current, reg.Version(reg.Current).Name)
	}
	n := uint32(0)
	for _, mv := range reg.Versions {
		n = max(n, mv.Version)
	}
	n++
	check, err := k.Seal(kernel.MasterCheckPlain, kernel.CheckAD(n))
	if err != nil {
		return err
	}
	ts := kernel.Now()
	reg.Versions = append(reg.Versions, kernel.MasterVersion{Version: n, Name: k.Name(), Check: check, Added: Time{Time: ts}})
	reg.Current = n
	// The ring holds the new version before any record is wrapped with it.
	v.Keys.AddMaster(n, k)
	return v.SaveRegistry(reg, kernel.LogEntry(nil, audit.VaultLog, "master_key", strconv.Itoa(int(n)), "create",
		fmt.Sprintf("Master key rotation to version %d started (%s)", n, k.Name()), ts))
}

// rewrapAll re-wraps tenant key records until none is left under an older
// version (a tenant created while a pass ran is caught by the next).
func (v *Vault) rewrapAll() error {
	for {
		n, err := v.rewrapPass()
		if err != nil || n == 0 {
			return err
		}
	}
}

func (v *Vault) rewrapPass() (rewrapped int, err error) {
	pfx := store.Prefix(kernel.TenantKeyCollection)
	current := v.Keys.Current()
	var start []byte
	for {
		var ids []string
		var next []byte
		err := v.Store().Scan(pfx, start, func(k, val []byte) bool {
			if len(ids) == rewrapBatch {
				next = append([]byte(nil), k...)
				return false
			}
			if kernel.ParseTenantKeyRecord(val).Master != current {
				ids = append(ids, string(k[len(pfx):]))
			}
			return true
		})
		if err != nil {
			return rewrapped, err
		}
		n, err := v.rewrapTenants(ids, current)
		rewrapped += n
		if err != nil || next == nil {
			return rewrapped, err
		}
		start = next
	}
}

// rewrapTenants re-wraps the listed tenants' key records in one batch.
func (v *Vault) rewrapTenants(ids []string, current uint32) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	v.Keys.Rewrite.Lock()
	defer v.Keys.Rewrite.Unlock()
	b := v.Store().NewBatch()
	n := 0
	for _, id := range ids {
		val, err := v.Store().Get(kernel.TenantKeyRecordKey(id))
		if errors.Is(err, store.ErrNotFound) {
			continue // the tenant was deleted meanwhile
		}
		if err != nil {
			b.Close()
			return 0, err
		}
		rec := kernel.ParseTenantKeyRecord(val)
		if rec.Master == current {
			continue
		}
		keys, _, err := v.Keys.UnwrapTenantKeys(id, rec)
		if err != nil {
			b.Close()
			return 0, fmt.Errorf("tenant %s: %w", id, err)
		}
		wrapped, err := v.Keys.WrapTenantKeys(id, keys, rec.Current)
		for _, k := range keys {
			clear(k)
		}
		if err != nil {
			b.Close()
			return 0, err
		}
		b.Set(kernel.TenantKeyRecordKey(id), wrapped)
		n++
	}
	return n, v.Commit(b)
}

// masterSealedKeys are the vault-wide secrets sealed by the master key.
var masterSealedKeys = []string{kernel.SigningKeyKey}

// finishRotation re-seals the vault-wide secrets and retires every older
// version: from now on the server starts with the current key alone.
func (v *Vault) finishRotation() error {
	v.Keys.Rewrite.Lock()
	defer v.Keys.Rewrite.Unlock()
	reg, err := v.LoadMasterRegistry()
	if err != nil {
		return err
	}
	if !reg.Rotating() {
		return nil
	}
	b := v.Store().NewBatch()
	for _, key := range masterSealedKeys {
		sealed, err := v.Store().Get([]byte(key))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		var plain []byte
		if err == nil {
			plain, err = v.Keys.OpenMaster(sealed, []byte(key))
		}
		if err == nil {
			var release func()
			sealed, release, err = v.Keys.SealMaster(plain, []byte(key))
			clear(plain)
			if err == nil {
				defer release() // after the commit below
			}
		}
		if err != nil {
			b.Close()
			return fmt.Errorf("re-seal %q: %w", key, err)
		}
		b.Set([]byte(key), sealed)
	}
	for i := range reg.Versions {
		if reg.Versions[i].Version != reg.Current {
			reg.Versions[i].Retired = true
		}
	}
	kernel.SetJSON(b, []byte(kernel.MasterRegistryKey), reg)
	ts := kernel.Now()
	return v.Commit(b, kernel.LogEntry(nil, audit.VaultLog, "master_key", strconv.Itoa(int(reg.Current)), "update",
		fmt.Sprintf("Master key rotated to version %d: every tenant key is re-wrapped; older versions are retired", reg.Current), ts))
}
