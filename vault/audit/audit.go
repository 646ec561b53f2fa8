// Package audit is the tenant's audit log. Entries are written into the same
// batch as the change they describe, so a change and its log entry are
// durable together or not at all. Entries never carry plaintext or keys:
// only who did what to which entity.
package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/store"
)

// Entry is one audit log record (seed 001 "Log Object").
type Entry struct {
	TenantID   string `json:"tenant_id"`
	ActorID    string `json:"actor_id,omitempty"`
	ActorType  string `json:"actor_type,omitempty"`
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	Operation  string `json:"operation"`
	Message    string `json:"message"`
	// RemoteAddress is the client of a refused request (failed
	// authentication, denied permission).
	RemoteAddress string       `json:"remote_address,omitempty"`
	CreatedAt     apitime.Time `json:"created_at"`
	// Subject is what the entry is about (a token without its data), for
	// the webhook event the change raises; it is never written to the log.
	Subject any `json:"-"`
}

const prefix = "log"

func tenantPrefix(tenantID string) []byte { return store.Prefix(prefix, tenantID) }

func timeKey(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return hex.EncodeToString(b[:])
}

// Append adds e to batch b under a key ordered by time: the store's clock
// on a shared store (store.OrderedSetter), else created_at. The random suffix
// only separates entries of the same nanosecond, so a fast generator does
// (a UUID read crypto/rand on every entry of every read). Key and value are
// built in one pooled buffer: the batch copies them.
func Append(b store.Batch, e Entry) {
	buf := scratch.Get().(*[]byte)
	// store.Key(prefix, tenant, timeKey(created), hex(random)), appended.
	k := append(append(append((*buf)[:0], prefix...), 0), e.TenantID...)
	var n [8]byte
	if o, ok := b.(store.OrderedSetter); ok {
		// A shared store: the database's clock orders the entries of every
		// node (created_at still says the node's time).
		k = append(k, 0)
		at := len(k)
		binary.BigEndian.PutUint64(n[:], rand.Uint64())
		k = hex.AppendEncode(append(k, 0), n[:])
		all := e.appendJSON(k)
		o.SetOrdered(all[:at], all[at:len(k)], all[len(k):])
		*buf = all
		scratch.Put(buf)
		return
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.CreatedAt.UnixNano()))
	k = hex.AppendEncode(append(k, 0), n[:])
	binary.BigEndian.PutUint64(n[:], rand.Uint64())
	k = hex.AppendEncode(append(k, 0), n[:])
	all := e.appendJSON(k)
	b.Set(all[:len(k)], all[len(k):])
	*buf = all
	scratch.Put(buf)
}

var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// MaxClockSkew bounds how far a node's clock (an entry's created_at) may be
// from the database's (its key's time on a shared store): List filters on
// created_at and looks this far past the key range for it.
const MaxClockSkew = time.Minute

// Filter selects entries for List.
type Filter struct {
	EntityType string
	EntityID   string
	Start, End time.Time // Start inclusive, End exclusive; zero means open
}

// Page is one page of a tenant's entries.
type Page struct {
	Entries []Entry
	// Total counts every match; only an offset page (no cursor) counts it.
	Total int
	// Next is the cursor of the entry after the page (nil at the end): the
	// key of that entry, for List's from.
	Next []byte
}

// List returns the tenant's entries matching f, newest first, from the
// entry at cursor from (inclusive; nil for the newest), skipping offset,
// at most limit. Without a cursor it counts every match (Total). A cursor
// of another tenant's log is refused (ErrCursor).
func List(s store.Store, tenantID string, f Filter, from []byte, offset, limit int) (Page, error) {
	var pg Page
	p := tenantPrefix(tenantID)
	var start []byte
	if !f.End.IsZero() {
		// End is exclusive: start just below it, and a clock skew later
		// (keys may hold the database's time, created_at the node's).
		start = append(append([]byte(nil), p...), timeKey(f.End.Add(MaxClockSkew-time.Nanosecond))...)
		start = append(start, 0xff)
	}
	if from != nil {
		if !bytes.HasPrefix(from, p) {
			return pg, ErrCursor
		}
		if start == nil || bytes.Compare(from, start) < 0 {
			start = from
		}
	}
	since, until := f.Start.Truncate(time.Microsecond), f.End.Truncate(time.Microsecond)
	var decodeErr error
	err := s.ScanReverse(p, start, func(k, v []byte) bool {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			decodeErr = err
			return false
		}
		// Entries keep microseconds (the API's precision): compare the
		// inclusive start at that precision too.
		if !f.Start.IsZero() && e.CreatedAt.Time.Before(since) {
			return !e.CreatedAt.Time.Before(since.Add(-MaxClockSkew))
		}
		if !until.IsZero() && !e.CreatedAt.Time.Before(until) {
			return true
		}
		if (f.EntityType != "" && e.EntityType != f.EntityType) || (f.EntityID != "" && e.EntityID != f.EntityID) {
			return true
		}
		switch {
		case pg.Total < offset:
		case len(pg.Entries) < limit:
			pg.Entries = append(pg.Entries, e)
		case pg.Next == nil:
			pg.Next = bytes.Clone(k)
			if from != nil {
				return false // a cursor page counts nothing
			}
		}
		pg.Total++
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return pg, err
}

// ErrCursor is List's answer to a cursor that is not of the tenant's log.
var ErrCursor = errors.New("audit: the cursor is not of this log")

// DeleteTenant removes every entry of the tenant.
func DeleteTenant(b store.Batch, tenantID string) { b.DeletePrefix(tenantPrefix(tenantID)) }

// VaultLog is the log of refusals no tenant can be named for (an unknown API
// key, a JWT of an unknown project): the TenantID of its entries. Tenant
// ids are UUIDs, so it never collides with one.
const VaultLog = ""

// Export calls fn with the entries created at or after since, oldest first
// per log: one tenant's log, or (all) every log in the store: every
// tenant's, deleted tenants' within their retention, and the vault log.
func Export(s store.Store, all bool, tenantID string, since time.Time, fn func(json.RawMessage) error) error {
	p := append(store.Key(prefix), 0)
	if !all {
		p = tenantPrefix(tenantID)
	}
	from := timeKey(since.Truncate(time.Microsecond))
	var fnErr error
	err := s.Scan(p, nil, func(k, v []byte) bool {
		// k is log 0 tenant 0 time 0 random: skip older entries unread.
		rest := k[len(prefix)+1:]
		i := 0
		for i < len(rest) && rest[i] != 0 {
			i++
		}
		if t := rest[min(i+1, len(rest)):]; !since.IsZero() && len(t) >= 16 && string(t[:16]) < from {
			return true
		}
		fnErr = fn(v)
		return fnErr == nil
	})
	if err == nil {
		err = fnErr
	}
	return err
}

// DeleteBefore removes at most limit entries of one log created before
// cutoff, and reports how many it removed.
func DeleteBefore(s store.Store, b store.Batch, tenantID string, cutoff time.Time, limit int) (int, error) {
	p := tenantPrefix(tenantID)
	end := append(append([]byte(nil), p...), timeKey(cutoff)...)
	n := 0
	err := s.Scan(p, nil, func(k, _ []byte) bool {
		if string(k) >= string(end) || n >= limit {
			return false
		}
		b.Delete(k)
		n++
		return true
	})
	return n, err
}

// MarshalJSON writes an entry without reflection: every token read writes
// one, so this is on the proxy's hot path.
func (e Entry) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 320)), nil
}

func (e Entry) appendJSON(b []byte) []byte {
	b = append(b, `{"tenant_id":`...)
	b = appendString(b, e.TenantID)
	if e.ActorID != "" {
		b = append(b, `,"actor_id":`...)
		b = appendString(b, e.ActorID)
	}
	if e.ActorType != "" {
		b = append(b, `,"actor_type":`...)
		b = appendString(b, e.ActorType)
	}
	for _, f := range [...]struct{ name, v string }{
		{`,"entity_type":`, e.EntityType}, {`,"entity_id":`, e.EntityID},
		{`,"operation":`, e.Operation}, {`,"message":`, e.Message},
	} {
		b = append(b, f.name...)
		b = appendString(b, f.v)
	}
	if e.RemoteAddress != "" {
		b = append(b, `,"remote_address":`...)
		b = appendString(b, e.RemoteAddress)
	}
	b = append(b, `,"created_at":`...)
	b = e.CreatedAt.AppendJSON(b)
	return append(b, '}')
}

// appendString appends s as a JSON string: plain ASCII directly, anything
// that needs escaping through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
