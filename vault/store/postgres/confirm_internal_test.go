package postgres

import "testing"

func TestSnapshotCovers(t *testing.T) {
	for _, c := range []struct {
		s, t string
		want bool
	}{
		{"10:10:", "10:10:", true},
		{"12:12:", "10:10:", true},
		{"10:10:", "12:12:", false},        // 10 and 11 completed for t only
		{"10:12:10,11", "12:12:", false},   // in progress for s
		{"10:10:", "10:12:10,11", true},    // 10 and 11 in progress for t
		{"10:12:11", "10:12:10,11", true},  // 10 done for s, in progress for t
		{"10:12:10,11", "10:12:11", false}, // 10 done for t only
		{"5:15:7", "5:12:7,9", true},       // 9 in progress for t, done for s
		{"5:15:7,9", "5:12:7", false},      // 9 done for t, not for s
		{"5:11:7", "5:12:7,11", true},      // 11 not begun for s, in progress for t
		{"3:20:", "4:9:4,8", true},         // s newer in every way
		{"20:20:", "4:9:4,8", true},
	} {
		s, ok1 := parseSnapshot(c.s)
		u, ok2 := parseSnapshot(c.t)
		if !ok1 || !ok2 {
			t.Fatalf("%q or %q did not parse", c.s, c.t)
		}
		if got := s.covers(u); got != c.want {
			t.Errorf("%q covers %q = %v, want %v", c.s, c.t, got, c.want)
		}
	}
	for _, bad := range []string{"", "1:2", "a:2:", "3:2:", "1:5:7", "1:5:0", "1:5:x", "1:5:2,"} {
		if _, ok := parseSnapshot(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	var none *snapshot
	if u, _ := parseSnapshot("1:1:"); none.covers(u) {
		t.Error("a snapshot that did not parse covers one")
	}
}
