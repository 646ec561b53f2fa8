package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func openTest(t *testing.T) *Pebble {
	t.Helper()
	p, err := OpenPebble(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func put(t *testing.T, s Store, kv ...string) {
	t.Helper()
	b := s.NewBatch()
	defer b.Close()
	for i := 0; i < len(kv); i += 2 {
		b.Set([]byte(kv[i]), []byte(kv[i+1]))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func scanKeys(t *testing.T, s Store, reverse bool, prefix, start []byte) []string {
	t.Helper()
	var out []string
	fn := func(k, _ []byte) bool { out = append(out, string(k)); return true }
	var err error
	if reverse {
		err = s.ScanReverse(prefix, start, fn)
	} else {
		err = s.Scan(prefix, start, fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGetAndNotFound(t *testing.T) {
	s := openTest(t)
	if _, err := s.Get([]byte("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	put(t, s, "k", "v1")
	v, err := s.Get([]byte("k"))
	if err != nil || string(v) != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// The value is a copy the caller owns.
	v[0] = 'X'
	v2, _ := s.Get([]byte("k"))
	if string(v2) != "v1" {
		t.Fatalf("Get returned an alias of the store's buffer: %q", v2)
	}
	// An empty value is present, not missing.
	put(t, s, "empty", "")
	if v, err := s.Get([]byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q, %v", v, err)
	}
	// Overwrite and delete.
	put(t, s, "k", "v2")
	if v, _ := s.Get([]byte("k")); string(v) != "v2" {
		t.Fatalf("overwrite: %q", v)
	}
	b := s.NewBatch()
	b.Delete([]byte("k"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := s.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestScanPrefixAndStart(t *testing.T) {
	s := openTest(t)
	put(t, s, "a/1", "", "a/2", "", "a/3", "", "a0", "", "a", "", "b/1", "", "a/", "")
	if got, want := scanKeys(t, s, false, []byte("a/"), nil), []string{"a/", "a/1", "a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan a/ = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("a/2")), []string{"a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan a/ from a/2 = %v, want %v (start inclusive)", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("a/15")), []string{"a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan from absent start = %v, want %v", got, want)
	}
	// A start below the prefix is clamped to it, a start past it gives nothing.
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("0")), []string{"a/", "a/1", "a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan from below prefix = %v", got)
	}
	if got := scanKeys(t, s, false, []byte("a/"), []byte("zz")); len(got) != 0 {
		t.Fatalf("Scan from past prefix = %v", got)
	}
	if got := scanKeys(t, s, false, []byte("c"), nil); len(got) != 0 {
		t.Fatalf("Scan empty prefix range = %v", got)
	}
	// nil prefix is everything.
	if got := scanKeys(t, s, false, nil, nil); len(got) != 7 {
		t.Fatalf("Scan all = %v", got)
	}
	// Stopping early.
	n := 0
	if err := s.Scan([]byte("a/"), nil, func(_, _ []byte) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Fatalf("early stop: n=%d err=%v", n, err)
	}
}

func TestScanValues(t *testing.T) {
	s := openTest(t)
	put(t, s, "p\x001", "one", "p\x002", "two")
	var got []string
	err := s.Scan(Prefix("p"), nil, func(k, v []byte) bool {
		got = append(got, string(k[2:])+"="+string(v))
		return true
	})
	if err != nil || !eq(got, []string{"1=one", "2=two"}) {
		t.Fatalf("values %v, %v", got, err)
	}
}

func TestScanReverse(t *testing.T) {
	s := openTest(t)
	put(t, s, "x", "", "t/1", "", "t/2", "", "t/3", "", "t/30", "", "u", "")
	if got, want := scanKeys(t, s, true, []byte("t/"), nil), []string{"t/30", "t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/3")), []string{"t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from t/3 = %v, want %v (start inclusive)", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/25")), []string{"t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from absent t/25 = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/1")), []string{"t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from first = %v", got)
	}
	if got := scanKeys(t, s, true, []byte("t/"), []byte("t/0")); len(got) != 0 {
		t.Fatalf("ScanReverse from below = %v", got)
	}
	// A start past the prefix is clamped to its end.
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("zzz")), []string{"t/30", "t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from past end = %v", got)
	}
	n := 0
	if err := s.ScanReverse([]byte("t/"), nil, func(_, _ []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("early stop: n=%d err=%v", n, err)
	}
}

func TestScanPrefixOfFFBytes(t *testing.T) {
	s := openTest(t)
	put(t, s, "\xfe", "", "\xff", "", "\xff\x00", "", "\xff\xff", "", "\xff\xff\x01", "")
	if got, want := scanKeys(t, s, false, []byte("\xff\xff"), nil), []string{"\xff\xff", "\xff\xff\x01"}; !eq(got, want) {
		t.Fatalf("Scan 0xffff = %q, want %q", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("\xff"), nil), []string{"\xff\xff\x01", "\xff\xff", "\xff\x00", "\xff"}; !eq(got, want) {
		t.Fatalf("ScanReverse 0xff = %q, want %q", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("\xfe"), nil), []string{"\xfe"}; !eq(got, want) {
		t.Fatalf("Scan 0xfe = %q", got)
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct{ in, want []byte }{
		{[]byte("ab"), []byte("ac")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xff\xff"), []byte("b")},
		{[]byte("\x00"), []byte("\x01")},
		{[]byte("a\x00"), []byte("a\x01")},
		{[]byte("\xfe\xff"), []byte("\xff")},
		{[]byte("\xff"), nil},
		{[]byte("\xff\xff\xff"), nil},
		{[]byte{}, nil},
		{nil, nil},
	}
	for _, c := range cases {
		in := append([]byte(nil), c.in...)
		got := PrefixEnd(c.in)
		if !bytes.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
		if !bytes.Equal(in, c.in) {
			t.Errorf("PrefixEnd modified its argument %q", in)
		}
		// Every key with the prefix sorts below the end.
		if got != nil {
			for _, suffix := range []string{"", "\x00", "\xff\xff\xff"} {
				k := append(append([]byte(nil), c.in...), suffix...)
				if bytes.Compare(k, got) >= 0 {
					t.Errorf("key %q is not below PrefixEnd %q", k, got)
				}
			}
		}
	}
}

func TestKeyAndPrefix(t *testing.T) {
	if got := Key("a", "b", "c"); string(got) != "a\x00b\x00c" {
		t.Fatalf("Key = %q", got)
	}
	if got := Key(); len(got) != 0 {
		t.Fatalf("Key() = %q", got)
	}
	if got := Prefix("a", "b"); string(got) != "a\x00b\x00" {
		t.Fatalf("Prefix = %q", got)
	}
	// A prefix of tenant "t1" must not cover tenant "t10".
	if bytes.HasPrefix(Key("tok", "t10", "x"), Prefix("tok", "t1")) {
		t.Fatal("Prefix(t1) covers keys of t10")
	}
}

func TestDeletePrefix(t *testing.T) {
	s := openTest(t)
	put(t, s, "t\x00a\x001", "", "t\x00a\x002", "", "t\x00ab\x001", "", "t\x00b\x001", "", "t\x00a", "")
	b := s.NewBatch()
	b.DeletePrefix(Prefix("t", "a"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got, want := scanKeys(t, s, false, []byte("t"), nil), []string{"t\x00a", "t\x00ab\x001", "t\x00b\x001"}; !eq(got, want) {
		t.Fatalf("after DeletePrefix: %q, want %q", got, want)
	}
	// DeletePrefix of an all-0xff prefix deletes to the end of the keyspace.
	put(t, s, "\xff\xff", "", "\xff\xff\x05", "", "\xfe", "")
	b = s.NewBatch()
	b.DeletePrefix([]byte("\xff\xff"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := scanKeys(t, s, false, []byte("\xff"), nil); len(got) != 0 {
		t.Fatalf("0xff keys left: %q", got)
	}
	if _, err := s.Get([]byte("\xfe")); err != nil {
		t.Fatalf("0xfe deleted: %v", err)
	}
}

func TestBatchAtomicity(t *testing.T) {
	s := openTest(t)
	put(t, s, "keep", "1", "gone", "1")
	b := s.NewBatch()
	if !b.Empty() {
		t.Fatal("new batch not empty")
	}
	b.Set([]byte("new1"), []byte("x"))
	b.Set([]byte("new2"), []byte("y"))
	b.Delete([]byte("gone"))
	if b.Empty() {
		t.Fatal("batch with writes reports empty")
	}
	// Nothing is visible before Commit.
	if _, err := s.Get([]byte("new1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("uncommitted write visible: %v", err)
	}
	if _, err := s.Get([]byte("gone")); err != nil {
		t.Fatalf("uncommitted delete visible: %v", err)
	}
	// A closed, uncommitted batch is discarded.
	b.Close()
	b.Close() // idempotent
	if _, err := s.Get([]byte("new1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("discarded batch applied: %v", err)
	}
	// A committed batch applies all of its writes.
	b = s.NewBatch()
	for i := 0; i < 100; i++ {
		b.Set([]byte(fmt.Sprintf("n%03d", i)), []byte("v"))
	}
	b.Delete([]byte("gone"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := scanKeys(t, s, false, []byte("n"), nil); len(got) != 100 {
		t.Fatalf("committed %d of 100 writes", len(got))
	}
	if _, err := s.Get([]byte("gone")); !errors.Is(err, ErrNotFound) {
		t.Fatal("committed delete not applied")
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	p, err := OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, p, "durable", "yes")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v, err := p.Get([]byte("durable")); err != nil || string(v) != "yes" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}
