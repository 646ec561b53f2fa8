package vault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// ErrNoMasterKey is Open's refusal to serve a shared store (cluster mode)
// without a configured master key: every node must unwrap the same tenant
// keys, so a node never generates one.
var ErrNoMasterKey = errors.New("vault: cluster mode (a shared database) needs the master key every node shares: set STRONGROOM_MASTER_KEY or master_key_file; a node never generates one")

// sharedStoreMasterKey reads the configured master key file for a shared
// store; a missing file is ErrNoMasterKey, never a new key.
func sharedStoreMasterKey(opts Options) ([]byte, error) {
	path := opts.MasterKeyFile
	if path == "" {
		path = filepath.Join(opts.DataDir, "master.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (no key file at %s)", ErrNoMasterKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read master key file: %w", err)
	}
	k, err := crypto.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("vault: master key file %s: %w", path, err)
	}
	return k, nil
}

// flushCaches drops every cached record, principal and key.
func (c *Core) flushCaches() {
	c.tenantCaches.AuthCache.Clear()
	c.tokenCaches.Records.Clear()
	c.projectCaches.Projects.Invalidate()
	c.base.Keys.Tenant.Clear()
	c.tenantCaches.SettingsCache.Clear()
	c.tokenCaches.SecretsCache.Clear()
	c.reactorCaches.Clear()
	c.base.Outbox.InvalidateAll()
}

// Leases of the background jobs: each outlives its job's period, so the
// holder renews it before it lapses, and another node takes over soon
// after a holder dies.
const (
	sweepLeaseTTL   = time.Minute      // the host sweeps every 30 s
	webhookLeaseTTL = 10 * time.Second // the dispatcher polls every second
)

// lease is kernel.View.Lease for this view: the job's view, whose store is
// fenced by its tenure of the lease while it holds it.
func (v *Vault) lease(name string, ttl time.Duration) (*Vault, bool, error) {
	kv, held, err := v.View.Lease(name, ttl)
	if kv == v.View {
		return v, held, err
	}
	return v.on(kv), held, err
}

// flightTTL frees the claim of a node that died while running the write.
const flightTTL = 2 * time.Minute

var errInFlight = problem.Conflict("A request with this idempotency key is still being processed.")

func flightKey(p *access.Principal, rk []byte) []byte {
	return store.Key(kernel.IdemClaims, p.TenantID, p.ApplicationID, string(rk[bytes.LastIndexByte(rk, 0)+1:]))
}

// claimFlight takes the cluster-wide claim on idempotency record rk for
// this run (no-op on a store of its own). Claimed, it looks for the answer
// again: a node that finished just before kept it, then released. prev is
// that answer, to replay.
func (v *Vault) claimFlight(p *access.Principal, rk []byte) (prev *idemAnswer, err error) {
	if !store.IsShared(v.Store()) {
		return nil, nil
	}
	key := flightKey(p, rk)
	cur, err := kernel.ReadVersion(v.Store(), key)
	if err != nil {
		return nil, err
	}
	if exp, perr := strconv.ParseInt(string(cur), 10, 64); cur != nil && perr == nil && kernel.Now().UnixNano() < exp {
		return nil, errInFlight
	}
	b := v.Store().NewBatch()
	defer b.Close()
	deadline := []byte(strconv.FormatInt(kernel.Now().Add(flightTTL).UnixNano(), 10))
	if cur == nil {
		b.Insert(key, deadline)
	} else {
		b.Expect(key, cur) // take over an expired claim
		b.Set(key, deadline)
	}
	if err := b.Commit(); errors.Is(err, store.ErrConflict) {
		return nil, errInFlight
	} else if err != nil {
		return nil, err
	}
	prev, err = v.loadAnswer(p.TenantID, rk)
	if err != nil || prev != nil {
		v.releaseFlight(p, rk)
	}
	return prev, err
}

// releaseFlight drops the claim once the answer is kept (or the run failed).
func (v *Vault) releaseFlight(p *access.Principal, rk []byte) {
	if !store.IsShared(v.Store()) {
		return
	}
	b := v.Store().NewBatch()
	defer b.Close()
	b.Delete(flightKey(p, rk))
	_ = b.Commit() // a claim left behind expires
}
