package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{"20/s": {20, time.Second}, "600/m": {600, time.Minute}} {
		got, err := ParseRate(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "20", "0/s", "-1/s", "1.5/s", "20/h", "/s", "x/m", "20/s/s", "99999999999/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestLimiterPerCallerAndClass(t *testing.T) {
	l, err := New(map[string]Rate{Tokenize: {2, time.Second}, Read: {60, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return clock }
	for i := range 2 {
		if ok, _ := l.Allow(Tokenize, "a"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, retry := l.Allow(Tokenize, "a")
	if ok || retry <= 0 || retry > time.Second || RetryAfterSeconds(retry) != 1 {
		t.Fatalf("third request: ok=%v retry=%v; want refused with a retry under 1s", ok, retry)
	}
	if ok, _ := l.Allow(Tokenize, "b"); !ok {
		t.Fatal("another caller was refused")
	}
	if ok, _ := l.Allow(Read, "a"); !ok {
		t.Fatal("another class of the same caller was refused")
	}
	if ok, _ := l.Allow(Proxy, "a"); !ok {
		t.Fatal("a class without a limit was refused")
	}
	clock = clock.Add(500 * time.Millisecond) // one token back at 2/s
	if ok, _ := l.Allow(Tokenize, "a"); !ok {
		t.Fatal("refused after the bucket refilled")
	}
	if ok, _ := l.Allow(Tokenize, "a"); ok {
		t.Fatal("allowed past the refill")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	l, _ := New(map[string]Rate{Proxy: {1, time.Second}})
	clock := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return clock }
	l.Allow(Proxy, "steady") // drained
	for i := range 3 * MaxCallers {
		l.Allow(Proxy, "ip-"+strconv.Itoa(i))
		if i%1000 == 0 {
			l.Allow(Proxy, "steady") // keeps calling: stays tracked, stays limited
		}
	}
	if n := len(l.cur) + len(l.old); n > 2*MaxCallers {
		t.Fatalf("%d buckets kept; want at most %d", n, 2*MaxCallers)
	}
	if ok, _ := l.Allow(Proxy, "steady"); ok {
		t.Fatal("a caller that kept calling got a fresh bucket")
	}
}

func TestNewRefusesUnknownClass(t *testing.T) {
	if _, err := New(map[string]Rate{"write": {1, time.Second}}); err == nil {
		t.Fatal("unknown class accepted")
	}
	if l, err := New(nil); l != nil || err != nil {
		t.Fatalf("New(nil) = %v, %v; want nil, nil", l, err)
	}
	var none *Limiter
	if ok, _ := none.Allow(Tokenize, "a"); !ok {
		t.Fatal("nil limiter refused")
	}
}
