//go:build unix

// Package sdk runs the Node conformance suite in this directory (the official
// Basis Theory SDKs, basis-theory-js 1.22.2 and @basis-theory/node-sdk 5.7.0,
// driven with `node --test`) against a real Strongroom server.
package sdk

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

const nodeTimeout = 10 * time.Minute

func TestSDKConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("SDK conformance suite needs node and npm; skipped with -short")
	}
	dir, err := os.Getwd() // go test runs in the package directory: test/sdk
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the SDK conformance suite (or run with -short): %v", err)
	}

	harness.EnsureNodeModules(t, dir)

	files, err := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	// STRONGROOM_SDK_TESTS=logs,webhooks runs only the files whose names
	// contain one of the words (while working on one resource).
	if only := os.Getenv("STRONGROOM_SDK_TESTS"); only != "" {
		files = slices.DeleteFunc(files, func(f string) bool {
			return !slices.ContainsFunc(strings.Split(only, ","), func(w string) bool { return strings.Contains(f, w) })
		})
	}

	opts := harness.Options{Env: []string{"STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"}}
	var srv, jsSrv *harness.Server
	if harness.Postgres() { // a two-node cluster: each SDK on its own node
		nodes := harness.Cluster(t, 2, nil, opts)
		srv, jsSrv = nodes[0], nodes[1]
	} else {
		srv = harness.Start(t, opts)
	}
	// Webhook receivers verify signatures with the key the operator prints.
	pem, err := exec.Command(harness.Binary(t), "vault", "webhook-key", "--data-dir", srv.DataDir, "--address", srv.AdminAddr).Output()
	if err != nil {
		t.Fatalf("vault webhook-key: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	args := append([]string{"--test", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(filteredEnv(),
		"STRONGROOM_BASE_URL="+srv.BaseURL,
		"STRONGROOM_JS_BASE_URL="+jsURL(jsSrv),
		"STRONGROOM_MANAGEMENT_KEY="+srv.ManagementKey,
		"STRONGROOM_WEBHOOK_PUBLIC_KEY="+string(pem),
		"NO_COLOR=1",
	)
	err = runStreaming(t, cmd)
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("node --test did not finish within %s", nodeTimeout)
	}
	if err != nil {
		t.Fatalf("node --test failed: %v", err)
	}
}

// filteredEnv is the environment minus variables that would change what the
// suite talks to (node-sdk reads BT-API-KEY when no key is given).
func filteredEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "STRONGROOM_") || strings.HasPrefix(kv, "BT-API-KEY=") || strings.HasPrefix(kv, "NODE_OPTIONS=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runStreaming runs cmd in its own process group (so a timeout kills node's
// per-file child processes too), copying its output line by line to the
// test log as it arrives.
func runStreaming(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr) // drain after an over-long line
	}()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	pw.Close()
	wg.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee
	}
	return err
}

// jsURL is the node basis-theory-js talks to: empty means the same as the
// node SDK's.
func jsURL(s *harness.Server) string {
	if s == nil {
		return ""
	}
	return s.BaseURL
}
