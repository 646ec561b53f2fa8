package test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestReloadUnderRace runs the in-process reload test under the race
// detector: without -race it cannot see a config writing state the serving
// config reads, which is the bug it guards against (issue: Core/Bind). It is
// here so the suite's one command covers it.
func TestReloadUnderRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddymodules with -race")
	}
	cmd := exec.Command("go", "test", "-race", "-count=1", "-run", "^TestReloadWhileServing$", "./caddymodules/")
	cmd.Dir = harness.RepoRoot()
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -race ./caddymodules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
