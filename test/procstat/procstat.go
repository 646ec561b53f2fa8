// Package procstat reads what the tests need to know of a process from
// Linux's /proc/<pid>/stat: whether it runs, its parent and children, and
// the CPU time it used. Elsewhere (no /proc) every read reports false.
package procstat

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fields are the fields of /proc/<pid>/stat after the parenthesised
// command name (which may itself hold spaces): state, ppid, …
func fields(pid int) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(b[i+1:])), true
}

// Alive reports whether pid still runs (a zombie awaiting its reaper has
// stopped running and counts as gone).
func Alive(pid int) bool {
	f, ok := fields(pid)
	return ok && len(f) > 0 && f[0] != "Z"
}

// Parent is the parent pid of pid.
func Parent(pid int) (int, bool) {
	f, ok := fields(pid)
	if !ok || len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Children lists the processes whose parent is pid.
func Children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := Parent(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// CPU is the user and system CPU time pid has used so far (utime, stime)
// and, with reaped, that of the children it has waited for (cutime,
// cstime); in ticks of 1/100 s (USER_HZ is 100 on every Linux Go supports).
func CPU(pid int, reaped bool) (time.Duration, bool) {
	f, ok := fields(pid)
	if !ok || len(f) < 15 {
		return 0, false
	}
	use := f[11:13]
	if reaped {
		use = f[11:15]
	}
	var ticks int64
	for _, v := range use {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}
