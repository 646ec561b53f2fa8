package caddymodules

import (
	"os"
	"testing"

	"github.com/strongroom/strongroom/vault/reactor"
)

// TestMain makes the test binary a reactor worker when a vault app
// provisioned in a test starts one (the pool runs os.Executable()).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == reactor.WorkerCommand {
		os.Exit(reactor.ServeWorker(buildReactorModules))
	}
	os.Exit(m.Run())
}
