package harness

import (
	"os"
	"syscall"
	"time"

	"github.com/strongroom/strongroom/test/procstat"
)

// sysProcAttr makes the kernel kill a server whose test process dies, so an
// interrupted `go test` leaves no strongroom processes behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// SelfCPU is the CPU time the test process (the load generator) has used.
func SelfCPU() (time.Duration, bool) { return procstat.CPU(os.Getpid(), false) }
