package pgtest

import (
	"strconv"
	"time"
)

// CPUTime is the CPU time (user and system) the server has used so far:
// the postmaster's, its exited children's, and its running backends'
// (load tests report it to show PostgreSQL was not the bottleneck). ok is
// false when the server is not running.
func (s *Server) CPUTime() (d time.Duration, ok bool) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, false
	}
	pid := cmd.Process.Pid
	d, ok = processTicks(pid, true)
	for _, child := range childrenOf(pid) {
		c, _ := processTicks(child, false)
		d += c
	}
	return d, ok
}

// processTicks reads utime and stime (and, with reaped, cutime and cstime:
// the children the process has waited for) from /proc/<pid>/stat, in
// ticks of 1/100 s (USER_HZ is 100 on every Linux Go supports).
func processTicks(pid int, reaped bool) (time.Duration, bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 15 {
		return 0, false
	}
	fields := f[11:13] // utime, stime
	if reaped {
		fields = f[11:15] // and cutime, cstime
	}
	var ticks int64
	for _, v := range fields {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}
