//go:build !linux

package harness

import (
	"errors"
	"testing"
)

type cpuCap struct{}

// CPUCapAvailable reports that servers' CPU cannot be capped: cgroups are
// Linux's.
func CPUCapAvailable() (string, error) {
	return "", errors.New("CPU caps need Linux cgroups")
}

func newCPUCap(float64) (*cpuCap, error) { return nil, errors.New("CPU caps need Linux cgroups") }
func (*cpuCap) add(int) error            { return nil }
func (*cpuCap) remove() error            { return nil }

func removeCPUCap(testing.TB, *cpuCap) {}
