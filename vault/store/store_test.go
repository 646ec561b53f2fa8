package store_test

import (
	"bytes"
	"testing"

	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/storetest"
)

func TestPebbleConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func openTest(t *testing.T) *store.Pebble {
	t.Helper()
	p, err := store.OpenPebble(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
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
		got := store.PrefixEnd(c.in)
		if !bytes.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("store.PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
		if !bytes.Equal(in, c.in) {
			t.Errorf("store.PrefixEnd modified its argument %q", in)
		}
		// Every key with the prefix sorts below the end.
		if got != nil {
			for _, suffix := range []string{"", "\x00", "\xff\xff\xff"} {
				k := append(append([]byte(nil), c.in...), suffix...)
				if bytes.Compare(k, got) >= 0 {
					t.Errorf("key %q is not below store.PrefixEnd %q", k, got)
				}
			}
		}
	}
}

func TestKeyAndPrefix(t *testing.T) {
	if got := store.Key("a", "b", "c"); string(got) != "a\x00b\x00c" {
		t.Fatalf("Key = %q", got)
	}
	if got := store.Key(); len(got) != 0 {
		t.Fatalf("store.Key() = %q", got)
	}
	if got := store.Prefix("a", "b"); string(got) != "a\x00b\x00" {
		t.Fatalf("Prefix = %q", got)
	}
	// A prefix of tenant "t1" must not cover tenant "t10".
	if bytes.HasPrefix(store.Key("tok", "t10", "x"), store.Prefix("tok", "t1")) {
		t.Fatal("store.Prefix(t1) covers keys of t10")
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	p, err := store.OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBatch()
	b.Set([]byte("durable"), []byte("yes"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = store.OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v, err := p.Get([]byte("durable")); err != nil || string(v) != "yes" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}
