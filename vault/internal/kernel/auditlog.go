package kernel

import (
	"github.com/strongroom/strongroom/vault/audit"
)

// auditQueue bounds the entries of reads waiting to be written.
const auditQueue = 4096

// AuditAsync records a read. Reads change nothing, so their entries are
// written by one background writer in grouped batches that do not wait for
// the disk (they survive a crash of the process; the next synced write
// makes them durable) instead of adding a synced write to every read.
func (v *View) AuditAsync(e audit.Entry) {
	if v.Closed() {
		return
	}
	select {
	case v.audits <- e:
	default:
		// The queue is full: write inline rather than drop an audit entry.
		b := v.store.NewBatch()
		_ = v.Commit(b, e)
	}
}

// runAuditWriter drains the read-audit queue until it is closed.
func (v *View) runAuditWriter(done chan<- struct{}) {
	defer close(done)
	for e := range v.audits {
		entries := []audit.Entry{e}
		for n := len(v.audits); n > 0; n-- {
			entries = append(entries, <-v.audits)
		}
		v.writeReads(entries) // outbox.go: with their events
	}
}
