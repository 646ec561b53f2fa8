package kernel

import (
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/store"
)

// Commit writes b with the audit entries, and the webhook deliveries of
// their events, durably, and closes it.
func (v *View) Commit(b store.Batch, entries ...audit.Entry) error {
	defer b.Close()
	for _, e := range entries {
		AppendAudit(b, e)
	}
	queued, err := v.QueueEvents(b, entries) // webhook deliveries, same batch
	if err != nil {
		return err
	}
	if err := v.SyncCommit(b); err != nil {
		return err
	}
	if queued {
		v.Outbox.Signal()
	}
	return nil
}
