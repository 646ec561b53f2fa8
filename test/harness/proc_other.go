//go:build !linux

package harness

import (
	"syscall"
	"time"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// SelfCPU is the CPU time the test process has used: unknown here.
func SelfCPU() (time.Duration, bool) { return 0, false }
