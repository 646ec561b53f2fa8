package test

import (
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// The offline CLI opens the PostgreSQL store the environment names (as the
// default Caddyfile does), beside a running node: a tenant and key it
// creates work on the node at once, `tenant list` reads what the node
// wrote, and without the master key it refuses instead of making one.
func TestClusterOfflineCLI(t *testing.T) {
	t.Parallel()
	node := harness.Cluster(t, 1, nil, harness.Options{})[0]
	cli := func(t *testing.T, env []string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(harness.Binary(t), append([]string{"vault"}, args...)...)
		cmd.Dir = t.TempDir() // no ./data: only the database is opened
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli(t, node.Env(), "tenant", "create", "--name", "From the CLI")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`management key: (\S+)`).FindStringSubmatch(out)
	if key == nil {
		t.Fatalf("no key printed:\n%s", out)
	}
	self := node.JSON(t, "GET", "/tenants/self", key[1], nil, http.StatusOK)
	if self["name"] != "From the CLI" {
		t.Fatalf("the node reads tenant %v", self)
	}
	out, err = cli(t, node.Env(), "tenant", "list")
	if err != nil || !strings.Contains(out, self["id"].(string)) {
		t.Fatalf("tenant list: %v\n%s", err, out)
	}
	var noKey []string
	for _, e := range node.Env() {
		if !strings.HasPrefix(e, "STRONGROOM_MASTER_KEY=") {
			noKey = append(noKey, e)
		}
	}
	noKey = append(noKey, "STRONGROOM_MASTER_KEY=")
	if out, err := cli(t, noKey, "tenant", "list"); err == nil || !strings.Contains(out, "never generates one") {
		t.Fatalf("without the master key: %v\n%s", err, out)
	}
}
