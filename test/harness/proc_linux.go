package harness

import "syscall"

// sysProcAttr makes the kernel kill a server whose test process dies, so an
// interrupted `go test` leaves no strongroom processes behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
