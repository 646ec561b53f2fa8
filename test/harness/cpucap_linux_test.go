package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A capped process is in its own cgroup with the quota asked for, and the
// group is gone once the process has exited and the cap is removed.
func TestCPUCap(t *testing.T) {
	if _, err := CPUCapAvailable(); err != nil {
		t.Skipf("no writable cgroup here: %v", err)
	}
	g, err := newCPUCap(0.25)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	member, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if !strings.Contains(string(member), "/"+filepath.Base(g.dir)+"\n") {
		t.Fatalf("the process is not in %s: %s", g.dir, member)
	}
	quota, err := os.ReadFile(filepath.Join(g.dir, "cpu.cfs_quota_us"))
	if err != nil { // cgroup v2
		quota, err = os.ReadFile(filepath.Join(g.dir, "cpu.max"))
	}
	if want := strconv.Itoa(capPeriodUS / 4); err != nil || !strings.HasPrefix(string(quota), want) {
		t.Fatalf("quota %q (%v), want %s of every %d µs", quota, err, want, capPeriodUS)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	removeCPUCap(t, g)
	if _, err := os.Stat(g.dir); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", g.dir, err)
	}
}
