package vault

import (
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

func timePtr(t time.Time) *Time { return apitime.Ptr(t) }

// Audited are the audit fields every entity carries.
type Audited struct {
	CreatedBy  string `json:"created_by,omitempty"`
	CreatedAt  *Time  `json:"created_at,omitempty"`
	ModifiedBy string `json:"modified_by,omitempty"`
	ModifiedAt *Time  `json:"modified_at,omitempty"`
}

func (a *Audited) created(p *access.Principal, t time.Time) {
	a.CreatedBy, a.CreatedAt = actorID(p), timePtr(t)
}

func (a *Audited) modified(p *access.Principal, t time.Time) {
	a.ModifiedBy, a.ModifiedAt = actorID(p), timePtr(t)
}

func actorID(p *access.Principal) string {
	if p == nil {
		return ""
	}
	return p.ApplicationID
}

// deref is the value of an optional request string ("" when absent).
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newID returns a time-ordered UUID, so keys sort in creation order.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// getJSON loads a JSON record; a missing key is a 404 for entity.
func getJSON(s store.Store, key []byte, entity string, v any) error {
	b, err := s.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound(entity)
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func setJSON(b store.Batch, key []byte, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // records are plain structs; this cannot fail
	}
	b.Set(key, data)
}

// logEntry builds the audit entry of an operation by p.
func logEntry(p *access.Principal, tenantID, entityType, entityID, operation, message string, t time.Time) audit.Entry {
	e := audit.Entry{TenantID: tenantID, EntityType: entityType, EntityID: entityID,
		Operation: operation, Message: message, CreatedAt: apitime.New(t)}
	if p != nil {
		e.ActorID, e.ActorType = p.ApplicationID, "application"
	} else {
		e.ActorType = "system"
	}
	return e
}

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

func paginate[T any](items []T, total int, p Page) Paginated[T] {
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
	return paginate(items, len(all), p)
}

// require is the permission check for non-token operations.
func require(p *access.Principal, perm string) error {
	if p == nil || !p.Has(perm) {
		return problem.Forbidden("The API key does not have the required permission: " + perm)
	}
	return nil
}

// purgeCollection scans every record of a collection once, lets drop add
// the deletions of what has expired at the sweep's time, and commits them in
// one batch (nothing when there is nothing to delete).
func (v *Vault) purgeCollection(collection string, drop func(b store.Batch, k, val []byte, t time.Time)) error {
	t := now()
	b := v.store.NewBatch()
	defer b.Close()
	err := v.store.Scan(store.Prefix(collection), nil, func(k, val []byte) bool {
		drop(b, k, val, t)
		return true
	})
	if err != nil || b.Empty() {
		return err
	}
	return b.Commit()
}
