// Package harness runs the real Strongroom binary (Caddy with the vault
// modules) for end-to-end tests: it builds ./cmd/strongroom once per test
// process, starts servers on free ports with their own data, config and
// home directories, and offers small HTTP helpers.
//
// Every server gets its own HOME, XDG_CONFIG_HOME and XDG_DATA_HOME, so
// servers started in parallel (also by other test packages) never share
// Caddy's autosave or storage. Inherited STRONGROOM_* variables are dropped
// so a developer's shell cannot change what a test sees.
package harness

import (
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for the server to answer HTTP.
const StartTimeout = 60 * time.Second

// Options configure Start.
type Options struct {
	Caddyfile     string   // Caddyfile contents; empty = the repo's Caddyfile
	Env           []string // extra KEY=VALUE (applied last, so they win)
	DataDir       string   // reuse an existing data dir; empty = t.TempDir()
	ManagementKey string   // empty = a fresh random "key_..." value
	// CPUs caps the server process at this many CPUs with a cgroup of its
	// own (cpucap_linux.go; CPUCapAvailable tells whether one can be made
	// here); 0 leaves it uncapped.
	CPUs float64
}

// Server is one running (or stopped) strongroom process.
type Server struct {
	BaseURL       string // http://localhost:<Port>
	Port          int
	AdminAddr     string // host:port of Caddy's admin API
	DataDir       string
	ManagementKey string

	bin        string
	home       string
	configPath string
	env        []string // opts.Env
	client     *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process exited
	waitErr error
	log     *logBuffer
	cpu     *cpuCap // nil: uncapped
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// NewKey returns a random API key in the "key_<base58>" shape.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = base58Alphabet[int(b[i])%len(base58Alphabet)]
	}
	return "key_" + string(b)
}

// Start starts a server and waits until it answers HTTP (at most
// StartTimeout). It fails the test, with the server log, if the server does
// not come up. t.Cleanup stops it (and logs its output if the test failed).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := prepare(t, opts)
	t.Cleanup(func() {
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if running {
			s.Stop(t)
		}
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.DataDir, tail(s.Log(), 6<<10))
		}
	})
	s.launch(t)
	return s
}

// StartFailure starts a server that is expected NOT to come up: it waits
// for the process to exit and returns its exit code and log. The test fails
// if the server answers HTTP instead (the server is then stopped).
func StartFailure(t testing.TB, opts Options) (exitCode int, log string) {
	t.Helper()
	s := prepare(t, opts)
	if err := s.spawn(); err != nil {
		t.Fatalf("harness: start %s: %v", s.bin, err)
	}
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.mu.Lock()
			err := s.waitErr
			s.cmd = nil
			s.mu.Unlock()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			return code, s.Log()
		case <-time.After(100 * time.Millisecond):
		}
		if s.answers() {
			s.Stop(t)
			t.Fatalf("harness: expected the server not to start, but it answers on %s; log:\n%s", s.BaseURL, tail(s.Log(), 16<<10))
		}
	}
	s.Kill(t)
	t.Fatalf("harness: server neither started nor exited within %s; log:\n%s", StartTimeout, tail(s.Log(), 16<<10))
	return 0, ""
}

func prepare(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		bin:           Binary(t),
		home:          t.TempDir(),
		DataDir:       opts.DataDir,
		ManagementKey: opts.ManagementKey,
		env:           append([]string(nil), opts.Env...),
		log:           &logBuffer{},
	}
	if s.DataDir == "" {
		s.DataDir = t.TempDir()
	}
	if abs, err := filepath.Abs(s.DataDir); err == nil {
		s.DataDir = abs
	}
	s.env = append(storageEnv(t, s.DataDir, opts), s.env...) // storage.go
	if opts.CPUs > 0 {
		g, err := newCPUCap(opts.CPUs)
		if err != nil {
			t.Fatalf("harness: cap the server at %.2f CPUs: %v", opts.CPUs, err)
		}
		s.cpu = g
		// Registered before Start's stop, so it runs after the process exited.
		t.Cleanup(func() { removeCPUCap(t, g) })
	}
	if s.ManagementKey == "" {
		s.ManagementKey = NewKey()
	}
	if opts.Caddyfile == "" {
		s.configPath = filepath.Join(RepoRoot(), "Caddyfile")
	} else {
		s.configPath = filepath.Join(s.home, "Caddyfile")
		if err := os.WriteFile(s.configPath, []byte(opts.Caddyfile), 0o600); err != nil {
			t.Fatalf("harness: write Caddyfile: %v", err)
		}
	}
	s.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	return s
}
