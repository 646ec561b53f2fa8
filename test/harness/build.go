package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		// file is <root>/test/harness/build.go
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root
		}
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("harness: cannot find the repository root (go.mod)")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// binDirPrefix names the per-process build directories under os.TempDir.
const binDirPrefix = "strongroom-harness-"

// Binary returns the path of the strongroom binary, building ./cmd/strongroom
// once per test process into a temporary directory. STRONGROOM_TEST_BINARY,
// when set, names a prebuilt binary to use instead.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("STRONGROOM_TEST_BINARY"); p != "" {
			buildPath, buildErr = filepath.Abs(p)
			return
		}
		removeStaleBuilds()
		dir := filepath.Join(os.TempDir(), binDirPrefix+strconv.Itoa(os.Getpid()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			buildErr = err
			return
		}
		out := filepath.Join(dir, "strongroom")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/strongroom")
		cmd.Dir = RepoRoot()
		cmd.Env = os.Environ()
		if msg, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/strongroom: %v\n%s", err, msg)
			return
		}
		buildPath = out
	})
	if buildErr != nil {
		t.Fatalf("harness: %v", buildErr)
	}
	return buildPath
}

// removeStaleBuilds deletes build directories of test processes that no
// longer run (each build is ~100 MB).
func removeStaleBuilds() {
	entries, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(e), binDirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // alive (or not ours to judge)
		}
		os.RemoveAll(e)
	}
}
