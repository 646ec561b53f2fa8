package kernel

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Time is the API's timestamp type.
type Time = apitime.Time

func TimePtr(t time.Time) *Time { return apitime.Ptr(t) }

// Audited are the audit fields every entity carries.
type Audited struct {
	CreatedBy  string `json:"created_by,omitempty"`
	CreatedAt  *Time  `json:"created_at,omitempty"`
	ModifiedBy string `json:"modified_by,omitempty"`
	ModifiedAt *Time  `json:"modified_at,omitempty"`
}

// Created stamps the creation by p at t.
func (a *Audited) Created(p *access.Principal, t time.Time) {
	a.CreatedBy, a.CreatedAt = ActorID(p), TimePtr(t)
}

// Modified stamps a change by p at t.
func (a *Audited) Modified(p *access.Principal, t time.Time) {
	a.ModifiedBy, a.ModifiedAt = ActorID(p), TimePtr(t)
}

// ActorID is the audit actor of p ("" for the system).
func ActorID(p *access.Principal) string {
	if p == nil {
		return ""
	}
	return p.ApplicationID
}

// Deref is the value of an optional request string ("" when absent).
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// NewID returns a time-ordered UUID, so keys sort in creation order.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// GetJSON loads a JSON record; a missing key is a 404 for entity.
func GetJSON(s store.Store, key []byte, entity string, v any) error {
	b, err := s.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound(entity)
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Load is GetJSON into a new T.
func Load[T any](s store.Store, key []byte, entity string) (*T, error) {
	v := new(T)
	if err := GetJSON(s, key, entity, v); err != nil {
		return nil, err
	}
	return v, nil
}

// LoadAll decodes every record under prefix, in key order, keeping those
// keep accepts (every one when keep is nil). A record that does not
// decode ends the scan with its error.
func LoadAll[T any](s store.Store, prefix []byte, keep func(*T) bool) ([]T, error) {
	var out []T
	var derr error
	err := s.Scan(prefix, nil, func(_, val []byte) bool {
		var v T
		if derr = json.Unmarshal(val, &v); derr != nil {
			return false
		}
		if keep == nil || keep(&v) {
			out = append(out, v)
		}
		return true
	})
	return out, errors.Join(err, derr)
}

// SetJSON adds the JSON record v under key to b.
func SetJSON(b store.Batch, key []byte, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // records are plain structs; this cannot fail
	}
	b.Set(key, data)
}

// LogEntry builds the audit entry of an operation by p.
func LogEntry(p *access.Principal, tenantID, entityType, entityID, operation, message string, t time.Time) audit.Entry {
	e := audit.Entry{TenantID: tenantID, EntityType: entityType, EntityID: entityID,
		Operation: operation, Message: message, CreatedAt: apitime.New(t)}
	if p != nil {
		e.ActorID, e.ActorType = p.ApplicationID, "application"
	} else {
		e.ActorType = "system"
	}
	return e
}

// Page selects one page of an offset-paginated list (1-based).
type Page struct {
	Number, Size int
}

// Offset is the index of the page's first item. It saturates instead of
// overflowing, so a far page (any page number the query accepts) is past
// the end of every list and answers empty data.
func (p Page) Offset() int {
	if p.Number < 1 || p.Size < 1 {
		return 0
	}
	if p.Number-1 > math.MaxInt/p.Size {
		return math.MaxInt
	}
	return (p.Number - 1) * p.Size
}

// Paginated is the offset pagination envelope.
type Paginated[T any] struct {
	Pagination Pagination `json:"pagination"`
	Data       []T        `json:"data"`
}

// Pagination is the envelope's metadata.
type Pagination struct {
	TotalItems int `json:"total_items"`
	PageNumber int `json:"page_number"`
	PageSize   int `json:"page_size"`
	TotalPages int `json:"total_pages"`
}

// Paginate wraps one page of items (of total) in the envelope.
func Paginate[T any](items []T, total int, p Page) Paginated[T] {
	if items == nil {
		items = []T{}
	}
	pages := 0
	if p.Size > 0 {
		pages = (total + p.Size - 1) / p.Size
	}
	return Paginated[T]{Pagination: Pagination{TotalItems: total, PageNumber: p.Number, PageSize: p.Size, TotalPages: pages}, Data: items}
}

// PageOf slices all (already filtered and ordered) into page p.
func PageOf[T any](all []T, p Page) Paginated[T] {
	off := p.Offset()
	var items []T
	if off < len(all) {
		items = all[off:min(off+p.Size, len(all))]
	}
	return Paginate(items, len(all), p)
}

// Require is the permission check for non-token operations.
func Require(p *access.Principal, perm string) error {
	if p == nil || !p.Has(perm) {
		return problem.Forbidden("The API key does not have the required permission: " + perm)
	}
	return nil
}

// PurgeCollection scans every record of a collection once, lets drop add
// the deletions of what has expired at the sweep's time, and commits them in
// one batch (nothing when there is nothing to delete).
func PurgeCollection(s store.Store, collection string, drop func(b store.Batch, k, val []byte, t time.Time)) error {
	t := Now()
	b := s.NewBatch()
	defer b.Close()
	err := s.Scan(store.Prefix(collection), nil, func(k, val []byte) bool {
		drop(b, k, val, t)
		return true
	})
	if err != nil || b.Empty() {
		return err
	}
	return b.Commit()
}

// PurgeExpired is PurgeCollection for records whose own expires_at is all
// there is to their expiry: each one at or past it goes, and so does one
// that does not decode (nothing could read it).
func PurgeExpired(s store.Store, collection string) error {
	return PurgeCollection(s, collection, func(b store.Batch, k, val []byte, t time.Time) {
		var rec struct {
			ExpiresAt Time `json:"expires_at"`
		}
		if json.Unmarshal(val, &rec) != nil || !rec.ExpiresAt.After(t) {
			b.Delete(k)
		}
	})
}

// OrderKey sorts records (tokens, payment methods) by creation time; the random suffix keeps tokens
// created in the same nanosecond apart.
func OrderKey(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return hex.EncodeToString(b[:]) + uuid.NewString()[:8]
}
