package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/store"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := store.OpenPebble(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func appendAll(t *testing.T, s store.Store, entries ...Entry) {
	t.Helper()
	b := s.NewBatch()
	defer b.Close()
	for _, e := range entries {
		Append(b, e)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func entry(tenant, typ, id, op string, at time.Time) Entry {
	return Entry{TenantID: tenant, ActorID: "app-1", ActorType: "application", EntityType: typ, EntityID: id,
		Operation: op, Message: op + " " + typ, CreatedAt: apitime.New(at)}
}

func ids(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.EntityID
	}
	return out
}

func sameIDs(a []Entry, want ...string) bool {
	got := ids(a)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// seed writes e0..e9 one second apart, alternating token and application.
func seed(t *testing.T, s store.Store) {
	var es []Entry
	for i := 0; i < 10; i++ {
		typ := "token"
		if i%2 == 1 {
			typ = "application"
		}
		es = append(es, entry("t1", typ, fmt.Sprintf("e%d", i), "create", base.Add(time.Duration(i)*time.Second)))
	}
	// Written out of order: the key orders them, not the write order.
	appendAll(t, s, es[5:]...)
	appendAll(t, s, es[:5]...)
	appendAll(t, s, entry("t2", "token", "other-tenant", "create", base.Add(3*time.Second)))
}

func TestListNewestFirst(t *testing.T) {
	s := openStore(t)
	seed(t, s)
	got, total, err := listOffset(s, "t1", Filter{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if total != 10 || !sameIDs(got, "e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1", "e0") {
		t.Fatalf("List = %v (total %d)", ids(got), total)
	}
	if got[0].TenantID != "t1" || got[0].ActorID != "app-1" || got[0].Operation != "create" || !got[0].CreatedAt.Equal(base.Add(9*time.Second)) {
		t.Fatalf("entry fields not kept: %+v", got[0])
	}
}

func TestListPagination(t *testing.T) {
	s := openStore(t)
	seed(t, s)
	got, total, err := listOffset(s, "t1", Filter{}, 3, 4)
	if err != nil || total != 10 || !sameIDs(got, "e6", "e5", "e4", "e3") {
		t.Fatalf("offset 3 limit 4 = %v total %d err %v", ids(got), total, err)
	}
	got, total, _ = listOffset(s, "t1", Filter{}, 20, 4)
	if len(got) != 0 || total != 10 {
		t.Fatalf("past the end = %v total %d", ids(got), total)
	}
}

func TestListFilters(t *testing.T) {
	s := openStore(t)
	seed(t, s)
	got, total, _ := listOffset(s, "t1", Filter{EntityType: "application"}, 0, 100)
	if total != 5 || !sameIDs(got, "e9", "e7", "e5", "e3", "e1") {
		t.Fatalf("entity_type filter = %v total %d", ids(got), total)
	}
	got, total, _ = listOffset(s, "t1", Filter{EntityID: "e4"}, 0, 100)
	if total != 1 || !sameIDs(got, "e4") {
		t.Fatalf("entity_id filter = %v", ids(got))
	}
	got, _, _ = listOffset(s, "t1", Filter{EntityType: "application", EntityID: "e4"}, 0, 100)
	if len(got) != 0 {
		t.Fatalf("contradicting filters = %v", ids(got))
	}
	got, _, _ = listOffset(s, "t2", Filter{}, 0, 100)
	if !sameIDs(got, "other-tenant") {
		t.Fatalf("tenant isolation: t2 sees %v", ids(got))
	}
	got, _, _ = listOffset(s, "t", Filter{}, 0, 100)
	if len(got) != 0 {
		t.Fatalf("tenant prefix t sees %v", ids(got))
	}
}

func TestListDateRange(t *testing.T) {
	s := openStore(t)
	seed(t, s)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"start inclusive", Filter{Start: at(7)}, []string{"e9", "e8", "e7"}},
		{"end exclusive", Filter{End: at(3)}, []string{"e2", "e1", "e0"}},
		{"both", Filter{Start: at(2), End: at(5)}, []string{"e4", "e3", "e2"}},
		{"start between entries", Filter{Start: at(7).Add(time.Millisecond)}, []string{"e9", "e8"}},
		{"end just after an entry", Filter{End: at(3).Add(time.Microsecond)}, []string{"e3", "e2", "e1", "e0"}},
		{"empty window", Filter{Start: at(4), End: at(4)}, nil},
		{"start after all", Filter{Start: at(100)}, nil},
		{"end before all", Filter{End: at(0)}, nil},
		{"with type", Filter{EntityType: "token", Start: at(2), End: at(7)}, []string{"e6", "e4", "e2"}},
	}
	for _, c := range cases {
		got, total, err := listOffset(s, "t1", c.f, 0, 100)
		if err != nil || total != len(c.want) || !sameIDs(got, c.want...) {
			t.Errorf("%s: got %v (total %d, err %v), want %v", c.name, ids(got), total, err, c.want)
		}
	}
}

// Entries are keyed at nanosecond precision: a Start equal to an entry's
// exact creation instant must include it.
func TestListStartInclusiveAtNanosecondPrecision(t *testing.T) {
	s := openStore(t)
	at := base.Add(123456789 * time.Nanosecond)
	appendAll(t, s, entry("t1", "token", "exact", "create", at))
	got, total, err := listOffset(s, "t1", Filter{Start: at}, 0, 10)
	if err != nil || total != 1 || !sameIDs(got, "exact") {
		t.Fatalf("Filter{Start: %s} = %v (total %d, err %v), want [exact]: start is inclusive", at.Format(time.RFC3339Nano), ids(got), total, err)
	}
	got, _, _ = listOffset(s, "t1", Filter{End: at}, 0, 10)
	if len(got) != 0 {
		t.Fatalf("Filter{End: at} included the entry: %v", ids(got))
	}
}

func TestSameInstantEntriesKeptApart(t *testing.T) {
	s := openStore(t)
	var es []Entry
	for i := 0; i < 5; i++ {
		es = append(es, entry("t1", "token", fmt.Sprintf("same%d", i), "read", base))
	}
	appendAll(t, s, es...)
	got, total, _ := listOffset(s, "t1", Filter{Start: base, End: base.Add(time.Second)}, 0, 10)
	if total != 5 || len(got) != 5 {
		t.Fatalf("entries at one instant: %v (total %d)", ids(got), total)
	}
}

func TestDeleteTenant(t *testing.T) {
	s := openStore(t)
	seed(t, s)
	b := s.NewBatch()
	DeleteTenant(b, "t1")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got, total, _ := listOffset(s, "t1", Filter{}, 0, 100); total != 0 {
		t.Fatalf("t1 after delete: %v", ids(got))
	}
	if got, _, _ := listOffset(s, "t2", Filter{}, 0, 100); !sameIDs(got, "other-tenant") {
		t.Fatalf("t2 lost entries: %v", ids(got))
	}
}

func TestEntriesAreOnlyWhatWasGiven(t *testing.T) {
	s := openStore(t)
	appendAll(t, s, entry("t1", "token", "tok-1", "create", base))
	err := s.Scan(store.Prefix("log", "t1"), nil, func(k, v []byte) bool {
		for _, want := range []string{`"tenant_id":"t1"`, `"entity_id":"tok-1"`, `"operation":"create"`, `"created_at":"2024-03-01T12:00:00+00:00"`} {
			if !bytes.Contains(v, []byte(want)) {
				t.Errorf("stored entry %s lacks %s", v, want)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The hand-written encoder must produce what encoding/json would.
func TestEntryMarshalMatchesEncodingJSON(t *testing.T) {
	type plain Entry // no MarshalJSON: reflection
	for _, e := range []Entry{
		{TenantID: "t", EntityType: "token", EntityID: "id", Operation: "read", Message: "Token retrieved", CreatedAt: apitime.New(time.Unix(1, 5000).UTC())},
		{TenantID: "t", ActorID: "a", ActorType: "application", EntityType: "token", EntityID: "quote\" back\\ <&> é \n", Operation: "create", Message: "m"},
	} {
		got, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(plain(e))
		if string(got) != string(want) {
			t.Errorf("\n got  %s\n want %s", got, want)
		}
		var back Entry
		if err := json.Unmarshal(got, &back); err != nil || back.EntityID != e.EntityID {
			t.Errorf("round trip: %v %+v", err, back)
		}
	}
}

// TestAppendKeyForm: Append writes the key store.Key(prefix, tenant,
// timeKey(created), <16 hex digits>) and the entry's JSON, which List reads
// back, across many entries sharing the pooled buffer.
func TestAppendKeyForm(t *testing.T) {
	s := openStore(t)
	var es []Entry
	for i := range 50 {
		es = append(es, entry("t-key", "token", fmt.Sprintf("id-%02d", i), "read", base.Add(time.Duration(i)*time.Microsecond)))
	}
	appendAll(t, s, es...)
	n := 0
	err := s.Scan(tenantPrefix("t-key"), nil, func(k, v []byte) bool {
		e := es[n]
		want := store.Key(prefix, e.TenantID, timeKey(e.CreatedAt.Time))
		rest, ok := bytes.CutPrefix(k, append(want, 0))
		if !ok || len(rest) != 16 || len(bytes.Trim(rest, "0123456789abcdef")) != 0 {
			t.Errorf("key %q, want %q + 0x00 + 16 hex digits", k, want)
		}
		var got Entry
		if err := json.Unmarshal(v, &got); err != nil || got.EntityID != e.EntityID || got.Message != e.Message || !got.CreatedAt.Equal(e.CreatedAt.Time) {
			t.Errorf("value %s (%v), want %+v", v, err, e)
		}
		n++
		return true
	})
	if err != nil || n != len(es) {
		t.Fatalf("scanned %d entries (%v), want %d", n, err, len(es))
	}
}

// listOffset is an offset page of List as entries and total.
func listOffset(s store.Store, tenantID string, f Filter, offset, limit int) ([]Entry, int, error) {
	pg, err := List(s, tenantID, f, nil, offset, limit)
	return pg.Entries, pg.Total, err
}

// A cursor page starts at the entry the previous page's Next names and
// walks every entry once; a cursor of another tenant is refused.
func TestListCursor(t *testing.T) {
	s := openStore(t)
	b := s.NewBatch()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 7; i++ {
		Append(b, Entry{TenantID: "t1", EntityType: "token", EntityID: fmt.Sprint("e", i), CreatedAt: apitime.New(base.Add(time.Duration(i) * time.Second))})
	}
	Append(b, Entry{TenantID: "t2", EntityType: "token", EntityID: "other", CreatedAt: apitime.New(base)})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	first, err := List(s, "t1", Filter{}, nil, 0, 3)
	if err != nil || len(first.Entries) != 3 || first.Total != 7 || first.Next == nil {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	var ids []string
	for _, e := range first.Entries {
		ids = append(ids, e.EntityID)
	}
	for cur := first.Next; cur != nil; {
		pg, err := List(s, "t1", Filter{}, cur, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pg.Entries {
			ids = append(ids, e.EntityID)
		}
		cur = pg.Next
	}
	if got := fmt.Sprint(ids); got != "[e6 e5 e4 e3 e2 e1 e0]" {
		t.Errorf("cursor walk: %s", got)
	}
	t2, _ := List(s, "t2", Filter{}, nil, 0, 10)
	if _, err := List(s, "t1", Filter{}, append(tenantPrefix("t2"), 'x'), 0, 3); !errors.Is(err, ErrCursor) {
		t.Errorf("a cursor of another tenant: %v (t2 has %d)", err, len(t2.Entries))
	}
}
