package pgtest

import (
	"time"

	"github.com/strongroom/strongroom/test/procstat"
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
	d, ok = procstat.CPU(pid, true)
	for _, child := range procstat.Children(pid) {
		c, _ := procstat.CPU(child, false)
		d += c
	}
	return d, ok
}
