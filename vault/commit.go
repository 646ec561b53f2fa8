package vault

import (
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/store"
)

// commit writes b with the audit entry e and closes it.
func (v *Vault) commit(b store.Batch, entries ...audit.Entry) error {
	defer b.Close()
	for _, e := range entries {
		appendAudit(b, e)
	}
	queued, err := v.queueEvents(b, entries) // webhook deliveries, same batch
	if err != nil {
		return err
	}
	if err := v.syncCommit(b); err != nil {
		return err
	}
	if queued {
		v.webhooks.signal()
	}
	return nil
}
