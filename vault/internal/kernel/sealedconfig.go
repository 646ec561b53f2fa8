package kernel

import (
	"encoding/json"

	"github.com/strongroom/strongroom/vault/crypto"
)

// A proxy's or reactor's configuration holds the tenant's secrets (API
// keys of the services it calls): stored sealed under the tenant's key and
// bound to the record's own store key, so it opens for that record only.

// SealConfig seals conf for the record at key of tenantID (nil when empty).
func (v *View) SealConfig(tenantID string, key []byte, conf map[string]string) (*crypto.Envelope, error) {
	if len(conf) == 0 {
		return nil, nil
	}
	k, err := v.TenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	env := k.SealEnvelope(plain, key)
	return &env, nil
}

// OpenConfig opens what SealConfig sealed for the record at key into conf
// (left as it is when env is nil).
func (v *View) OpenConfig(tenantID string, key []byte, env *crypto.Envelope, conf *map[string]string) error {
	if env == nil {
		return nil
	}
	k, err := v.TenantKey(tenantID)
	if err != nil {
		return err
	}
	plain, err := k.OpenEnvelope(*env, key)
	if err != nil {
		return err
	}
	defer clear(plain)
	return json.Unmarshal(plain, conf)
}
