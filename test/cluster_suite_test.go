package test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/test/pgtest"
)

// pebbleOnly are the end-to-end tests about the embedded store itself (its
// data directory, file modes, offline CLI on a stopped server's directory,
// Pebble backups, records rewritten on disk, the free-space reserve), the
// load tests (measured
// per backend in TestLoadCluster) and the cluster tests (already on
// PostgreSQL). TestAuditOfFailures waits only for the first refusal entry
// of the background audit writer, which PostgreSQL commits later than
// Pebble.
const pebbleOnly = `^(TestLoad|TestBackup|TestCluster|TestSuiteOnPostgres|TestDataDirModes|TestMissingMasterKeyBesideData|` +
	`TestHealthAndReadiness|TestWrongMasterKeyRefusesToStart|TestRestartKeepsApplicationsAndKeys|TestRewrittenTokenRecordFailsClosed|` +
	`TestValidateWritesNothing|TestTokensAcrossTenants|TestWebhookDeliveriesSurviveKill|TestAuditOfFailures|TestDiskFull)`

// TestSuiteOnPostgres runs the end-to-end suite again, this package and
// the SDK conformance suite (each SDK on its own node of a two-node
// cluster), with every server on PostgreSQL (STRONGROOM_TEST_STORAGE),
// so `go test ./...` keeps both backends equal.
func TestSuiteOnPostgres(t *testing.T) {
	if harness.Postgres() {
		t.Skip("this run is the PostgreSQL run")
	}
	if testing.Short() {
		t.Skip("the PostgreSQL re-run is skipped with -short")
	}
	pgtest.Require(t)
	bin := harness.Binary(t) // built once, shared with the re-run
	start := time.Now()
	cmd := exec.Command("go", "test", "-count=1", "-timeout", "25m", "-skip", pebbleOnly, "./test/", "./test/sdk/")
	cmd.Dir = harness.RepoRoot()
	cmd.Env = append(os.Environ(), harness.EnvTestStorage+"=postgres", "STRONGROOM_TEST_BINARY="+bin)
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ok ") || strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
			t.Log(line)
		}
	}
	if err != nil {
		t.Fatalf("the suite on PostgreSQL failed (%v); output tail:\n%s", err, tailText(string(out), 16<<10))
	}
	t.Logf("the suite on PostgreSQL passed in %s", time.Since(start).Round(time.Second))
}

func tailText(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
