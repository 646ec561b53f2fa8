// Package ratelimit counts requests per caller and class against limits
// such as `20/s` or `600/m`, with token buckets from golang.org/x/time/rate.
// Memory is bounded: callers idle long enough to have a full bucket are
// forgotten (a fresh bucket is the same as theirs), and past MaxCallers the
// oldest generation of buckets is dropped.
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The request classes a limit may be set for.
const (
	Tokenize = "tokenize" // token creation
	Read     = "read"     // token reads, lists, searches, detokenize
	Proxy    = "proxy"    // /proxy
	React    = "react"    // reactor execution
)

// Classes lists every class, in the order the README documents them.
var Classes = []string{Tokenize, Read, Proxy, React}

// MaxCallers bounds the buckets kept per generation (two generations are
// kept, so at most twice this many).
const MaxCallers = 50_000

// Rate is a limit: N requests per Per, with bursts of up to N.
type Rate struct {
	N   int
	Per time.Duration
}

func (r Rate) String() string {
	if r.Per == time.Minute {
		return strconv.Itoa(r.N) + "/m"
	}
	return strconv.Itoa(r.N) + "/s"
}

// ParseRate parses `<n>/s` or `<n>/m` (n a positive integer).
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || n > 1_000_000_000 {
		return Rate{}, fmt.Errorf("rate %q: want <n>/s or <n>/m with n a positive integer", s)
	}
	switch unit {
	case "s":
		return Rate{N: n, Per: time.Second}, nil
	case "m":
		return Rate{N: n, Per: time.Minute}, nil
	}
	return Rate{}, fmt.Errorf("rate %q: the unit must be s or m", s)
}

// Limiter enforces one Rate per class. A nil *Limiter allows everything.
type Limiter struct {
	limits map[string]Rate
	now    func() time.Time

	mu       sync.Mutex
	cur, old map[string]*rate.Limiter
	rotated  time.Time
}

// New returns a limiter for limits (class → rate), or nil when there is
// none. Unknown classes are an error.
func New(limits map[string]Rate) (*Limiter, error) {
	for c := range limits {
		if !Known(c) {
			return nil, fmt.Errorf("unknown rate limit class %q (want one of %s)", c, strings.Join(Classes, ", "))
		}
	}
	if len(limits) == 0 {
		return nil, nil
	}
	return &Limiter{limits: limits, now: time.Now, cur: map[string]*rate.Limiter{}, old: map[string]*rate.Limiter{}}, nil
}

// Known reports whether c is one of Classes.
func Known(c string) bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// Limit returns the rate of class and whether one is set.
func (l *Limiter) Limit(class string) (Rate, bool) {
	if l == nil {
		return Rate{}, false
	}
	r, ok := l.limits[class]
	return r, ok
}

// Allow takes one request of caller in class. When over the limit it
// returns false and how long until the request would be allowed.
func (l *Limiter) Allow(class, caller string) (ok bool, retryAfter time.Duration) {
	r, limited := l.Limit(class)
	if !limited {
		return true, 0
	}
	now := l.now()
	lim := l.bucket(class+"\x00"+caller, r, now)
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket finds or creates the caller's bucket. The current generation is
// rotated to old when it is full or once per refill window (the longest
// time an idle bucket takes to fill up again), so a caller survives
// rotation only while it keeps calling.
func (l *Limiter) bucket(key string, r Rate, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.cur[key]; ok {
		return b
	}
	if len(l.cur) >= MaxCallers || now.Sub(l.rotated) > time.Minute {
		l.old, l.cur, l.rotated = l.cur, make(map[string]*rate.Limiter, len(l.cur)), now
	}
	b, ok := l.old[key]
	if !ok {
		b = rate.NewLimiter(rate.Every(r.Per/time.Duration(r.N)), r.N)
	}
	l.cur[key] = b
	return b
}

// RetryAfterSeconds is d rounded up to whole seconds (at least 1), the
// value of a Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}
