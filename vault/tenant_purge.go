package vault

import (
	"bytes"
	"errors"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/projects"
	"github.com/strongroom/strongroom/vault/proxies"
	"github.com/strongroom/strongroom/vault/tenants"

	"github.com/strongroom/strongroom/vault/store"
)

// Tenant deletion in bounded steps. One small synced batch revokes the
// tenant at once (deleteTenantHead) and leaves a tombstone; the tenant's
// collections (tokens, indexes, sessions, payment methods: any size) are
// then deleted a chunk per transaction (purgeTenant), never as one giant
// transaction that would hold locks and WAL for minutes on PostgreSQL. The
// deleting node runs the chunks at once; after a crash the sweep (on the
// lease holder in a cluster) finishes every tombstone left.

const (
	// purgeChunk is how many keys one purge transaction deletes.
	purgeChunk = 1000
	// purgeInline is how long the deleting request purges before it leaves
	// the rest to a background run.
	purgeInline = 2 * time.Second
)

func deletedTenantKey(id string) []byte { return store.Key(kernel.DeletedTenantIndex, id) }

// revokedCollections are deleted with the tenant record, in the first
// batch: what authenticates (application keys, the projects a JWT names)
// is gone the moment the delete is acknowledged. They are small.
var revokedCollections = []string{kernel.AppCollection, kernel.AppKeyCollection, kernel.ProjectCollection}

// deleteTenantHead adds to b what revokes the tenant at once: its key
// hashes, applications, projects with their global index entries, proxies'
// keys, and the tombstone that makes the rest a resumable job.
func (v *Vault) deleteTenantHead(b store.Batch, id string, t time.Time) error {
	err := v.Store().Scan(store.Prefix(kernel.AppKeyCollection, id), nil, func(_, val []byte) bool {
		if k := tenants.KeyIndexEntry(val); k != nil {
			b.Delete(k)
		}
		return true
	})
	if err != nil {
		return err
	}
	pfx := store.Prefix(kernel.ProjectCollection, id)
	err = v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		b.Delete(projects.ProjectIndexEntry(string(k[len(pfx):]), id))
		return true
	})
	if err != nil {
		return err
	}
	err = v.Store().Scan(store.Prefix(kernel.ProxyCollection, id), nil, func(_, val []byte) bool {
		if k := proxies.KeyIndexEntry(val); k != nil {
			b.Delete(k)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, c := range revokedCollections {
		b.DeletePrefix(store.Prefix(c, id))
	}
	b.Set(deletedTenantKey(id), []byte(t.UTC().Format(time.RFC3339Nano)))
	return nil
}

// purgeTenant deletes what is left of deleted tenant id, a chunk per
// commit, then its tombstone; it stops after budget (0: no limit) with the
// tombstone kept. Deleting a key twice is harmless, so two nodes may run it
// at once.
func (v *Vault) purgeTenant(id string, budget time.Duration) (done bool, err error) {
	start := time.Now()
	for _, pfx := range kernel.TenantPrefixes(id) {
		for {
			if budget > 0 && time.Since(start) > budget {
				return false, nil
			}
			n, err := v.purgeChunk(pfx)
			if err != nil {
				return false, err
			}
			if n < purgeChunk {
				break
			}
		}
	}
	b := v.Store().NewBatch()
	defer b.Close()
	b.Delete(deletedTenantKey(id))
	return true, v.SyncCommit(b)
}

// purgeChunk deletes up to purgeChunk keys under pfx, with the global
// index entries their records own (a session's key hash, a proxy's key,
// a project key's thumbprint).
func (v *Vault) purgeChunk(pfx []byte) (int, error) {
	b := v.Store().NewBatch()
	defer b.Close()
	n := 0
	err := v.Store().Scan(pfx, nil, func(k, val []byte) bool {
		b.Delete(k)
		for _, g := range globalEntries(pfx, val) {
			b.Delete(g)
		}
		n++
		return n < purgeChunk
	})
	if err != nil || n == 0 {
		return n, err
	}
	return n, v.SyncCommit(b)
}

// globalEntries are the keys outside the tenant's prefixes that the record
// val (under collection prefix pfx) owns.
func globalEntries(pfx, val []byte) [][]byte {
	switch c := string(pfx[:bytes.IndexByte(pfx, 0)]); c {
	case kernel.SessionCollection:
		if k := tenants.SessionIndexEntry(val); k != nil {
			return [][]byte{k}
		}
	case kernel.ProjectKeyIndex:
		if k := projects.KeyIndexEntry(val); k != nil {
			return [][]byte{k}
		}
	case kernel.ProxyCollection:
		if k := proxies.KeyIndexEntry(val); k != nil {
			return [][]byte{k}
		}
	}
	return nil
}

// purgeDeletedTenants finishes the deletions a crash (or a budget) left:
// run by the sweep.
func (v *Vault) purgeDeletedTenants() error {
	var ids []string
	pfx := store.Prefix(kernel.DeletedTenantIndex)
	err := v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(pfx):]))
		return true
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		_, err := v.purgeTenant(id, 0)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// finishTenantPurge runs after the delete is acknowledged: a bounded
// inline purge, the rest in the background (and, failing that, the sweep).
func (v *Vault) finishTenantPurge(id string) {
	if done, err := v.purgeTenant(id, purgeInline); done || err != nil {
		return
	}
	go func() {
		if !v.Closed() {
			_, _ = v.purgeTenant(id, 0)
		}
	}()
}

// DeleteTenant removes the tenant and everything it owns; its keys stop
// working at once.
func (v *Vault) DeleteTenant(p *access.Principal) error {
	if err := kernel.Require(p, "tenant:delete"); err != nil {
		return err
	}
	return v.deleteTenantBy(p, p.TenantID)
}

func (v *Vault) deleteTenant(id string) error { return v.deleteTenantBy(nil, id) }

func (v *Vault) deleteTenantBy(p *access.Principal, id string) error {
	defer v.Locks.Lock("tenant", id)()
	if _, err := v.Tenant(id); err != nil {
		return err
	}
	b := v.Store().NewBatch()
	defer b.Close()
	ts := kernel.Now()
	if err := v.deleteTenantHead(b, id, ts); err != nil { // tenant_purge.go
		return err
	}
	v.retireTenantLog(b, id, ts)
	b.Delete(kernel.TenantRecordKey(id))
	b.Delete(kernel.TenantKeyRecordKey(id))
	b.Delete(kernel.ReencryptJobKey(id))          // tenantkeys.go
	queued, err := v.queueTenantDeleted(b, p, id) // webhook_tenant_deleted.go
	if err != nil {
		return err
	}
	if err := v.SyncCommit(b); err != nil {
		return err
	}
	v.Outbox.Invalidate(id)
	if queued {
		v.Outbox.Signal()
	}
	v.AuthCache.Clear()
	v.projectCaches.Projects.Invalidate()
	v.Keys.Tenant.Delete(id)
	v.SettingsCache.Delete(id)
	v.SecretsCache.Delete(id)
	v.Records.Clear()
	v.reactorCaches.Clear()
	v.finishTenantPurge(id)
	return nil
}
