package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A CPU cap is a cgroup of its own per server, with a CFS quota: cgroup v1's
// cpu controller (cpu.cfs_quota_us over cpu.cfs_period_us) or cgroup v2's
// cpu.max. Every thread of the process, and every one it starts later,
// is in the group, so the cap holds however many threads Go runs.

const (
	cgroupV1CPU = "/sys/fs/cgroup/cpu"
	cgroupV2    = "/sys/fs/cgroup"
	// capPeriodUS is the quota's period: a short one (10 ms) spreads a
	// capped process's CPU evenly, where the default 100 ms lets it run
	// flat out for a third of it and then stalls every request for the rest.
	capPeriodUS = 10_000
)

var capSeq atomic.Int64

// cpuCap is one server's cgroup.
type cpuCap struct {
	dir   string
	procs string // the file a pid is written to
}

// CPUCapAvailable reports how servers' CPU can be capped here (a
// description of the mechanism), or an error saying why it cannot.
func CPUCapAvailable() (string, error) {
	g, err := newCPUCap(1)
	if err != nil {
		return "", err
	}
	defer g.remove()
	return "cgroup " + g.dir, nil
}

// newCPUCap creates a cgroup whose processes share cpus CPUs.
func newCPUCap(cpus float64) (*cpuCap, error) {
	if cpus <= 0 {
		return nil, errors.New("harness: a CPU cap must be positive")
	}
	quota := strconv.Itoa(int(cpus * capPeriodUS))
	name := fmt.Sprintf("strongroom-test-%d-%d", os.Getpid(), capSeq.Add(1))
	if _, err := os.Stat(filepath.Join(cgroupV1CPU, "cpu.cfs_quota_us")); err == nil {
		g := &cpuCap{dir: filepath.Join(cgroupV1CPU, name)}
		g.procs = filepath.Join(g.dir, "cgroup.procs")
		return g, g.create(map[string]string{"cpu.cfs_period_us": strconv.Itoa(capPeriodUS), "cpu.cfs_quota_us": quota})
	}
	if c, err := os.ReadFile(filepath.Join(cgroupV2, "cgroup.controllers")); err == nil && strings.Contains(" "+string(c), " cpu") {
		// Children get the cpu controller only when the parent delegates it.
		_ = os.WriteFile(filepath.Join(cgroupV2, "cgroup.subtree_control"), []byte("+cpu"), 0)
		g := &cpuCap{dir: filepath.Join(cgroupV2, name)}
		g.procs = filepath.Join(g.dir, "cgroup.procs")
		return g, g.create(map[string]string{"cpu.max": quota + " " + strconv.Itoa(capPeriodUS)})
	}
	return nil, errors.New("no cgroup cpu controller (v1 " + cgroupV1CPU + " or v2 cpu.max) on this machine")
}

func (g *cpuCap) create(files map[string]string) error {
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return fmt.Errorf("harness: cgroup %s: %w", g.dir, err)
	}
	for _, f := range []string{"cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.max"} {
		v, ok := files[f]
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(g.dir, f), []byte(v), 0); err != nil {
			g.remove()
			return fmt.Errorf("harness: cgroup %s: %w", f, err)
		}
	}
	return nil
}

// add moves a process, all its threads, into the group.
func (g *cpuCap) add(pid int) error {
	return os.WriteFile(g.procs, []byte(strconv.Itoa(pid)), 0)
}

// remove deletes the group; its processes must have exited (the kernel
// refuses to remove a group that still has tasks).
func (g *cpuCap) remove() error { return os.Remove(g.dir) }

// removeCPUCap removes g once its process is gone; the kernel may take a
// moment after the exit to let go of the group.
func removeCPUCap(t testing.TB, g *cpuCap) {
	var err error
	for range 50 {
		if err = g.remove(); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("harness: remove cgroup %s: %v", g.dir, err)
}
