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
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for the server to answer HTTP.
const StartTimeout = 60 * time.Second

// stopTimeout bounds a graceful stop before the process is killed.
const stopTimeout = 30 * time.Second

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

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		// file is <root>/test/harness/harness.go
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

// CPUTime is the CPU time (user and system) the running server process has
// used so far; ok is false when it is not running or the platform does not
// tell (it is read from /proc on Linux).
func (s *Server) CPUTime() (d time.Duration, ok bool) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, false
	}
	return processCPU(cmd.Process.Pid)
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

// launch starts the process and waits for it to answer, retrying with new
// ports when one was taken in the meantime.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		if err := s.spawn(); err != nil {
			t.Fatalf("harness: start %s: %v", s.bin, err)
		}
		err := s.waitReady()
		if err == nil {
			return
		}
		exited := s.exited()
		if !exited {
			s.Kill(t)
		} else {
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
		}
		if exited && attempt < 3 && strings.Contains(s.Log(), "address already in use") {
			s.log.Write([]byte("\n--- harness: port taken, retrying with new ports ---\n"))
			continue
		}
		t.Fatalf("harness: server did not start (%v); log:\n%s", err, tail(s.Log(), 32<<10))
	}
}

// spawn picks ports and starts the process (without waiting).
func (s *Server) spawn() error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	s.Port = ports[0]
	s.AdminAddr = "localhost:" + strconv.Itoa(ports[1])
	s.BaseURL = "http://localhost:" + strconv.Itoa(s.Port)

	env := make([]string, 0, len(os.Environ())+16)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "STRONGROOM_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+s.home,
		"XDG_CONFIG_HOME="+filepath.Join(s.home, "config"),
		"XDG_DATA_HOME="+filepath.Join(s.home, "data"),
		"STRONGROOM_PORT="+strconv.Itoa(s.Port),
		"STRONGROOM_ADMIN="+s.AdminAddr,
		"STRONGROOM_DATA_DIR="+s.DataDir,
		"STRONGROOM_MANAGEMENT_KEY="+s.ManagementKey,
	)
	env = append(env, s.env...)

	cmd := exec.Command(s.bin, "run", "--config", s.configPath, "--adapter", "caddyfile")
	cmd.Dir = s.home
	cmd.Env = env
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(s.log, "--- harness: starting on %s (admin %s), data %s ---\n", s.BaseURL, s.AdminAddr, s.DataDir)
	if err := cmd.Start(); err != nil {
		return err
	}
	if s.cpu != nil {
		if err := s.cpu.add(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("harness: put the server in its CPU cap: %w", err)
		}
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done, s.waitErr = cmd, done, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitReady polls until any HTTP answer arrives on BaseURL.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		if s.exited() {
			s.mu.Lock()
			err := s.waitErr
			s.mu.Unlock()
			return fmt.Errorf("process exited: %v", err)
		}
		if s.answers() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no HTTP answer on %s within %s", s.BaseURL, StartTimeout)
}

func (s *Server) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/", nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true
}

// Stop sends SIGTERM and waits for the process to exit (killing it after
// 30 s). Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.signalAndWait(t, syscall.SIGTERM)
}

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.signalAndWait(t, syscall.SIGKILL)
}

func (s *Server) signalAndWait(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		t.Errorf("harness: server did not exit %s after %v; killing it", stopTimeout, sig)
		_ = cmd.Process.Kill()
		<-done
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	s.client.CloseIdleConnections()
	fmt.Fprintf(s.log, "--- harness: process exited after %v ---\n", sig)
}

// ExitErr returns the last process's exit error (nil for a clean exit).
func (s *Server) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// Restart starts the server again with the same data dir, config, env and
// management key, stopping it first if it still runs. Ports may change.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.launch(t)
}

// Log returns the combined stdout/stderr of every process of this server.
func (s *Server) Log() string { return s.log.String() }

// Client returns the server's HTTP client (keep-alive, 30 s timeout).
func (s *Server) Client() *http.Client { return s.client }

// Do sends one request and returns status, headers and body. body is nil
// (no body), []byte or string (sent raw), or anything else (sent as JSON).
// A non-nil body is sent with Content-Type application/json. apiKey, when
// non-empty, goes in BT-API-KEY. Transport errors fail the test, so call it
// from the test goroutine only.
func (s *Server) Do(t testing.TB, method, path, apiKey string, body any) (int, http.Header, []byte) {
	t.Helper()
	req, err := NewRequest(method, s.BaseURL+path, apiKey, body)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	return s.Send(t, req)
}

// Send sends a prepared request (see NewRequest) with the server's client.
func (s *Server) Send(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("harness: %s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, b
}

// NewRequest builds a request the way Do sends it.
func NewRequest(method, url, apiKey string, body any) (*http.Request, error) {
	var rd io.Reader
	hasBody := body != nil
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("BT-API-KEY", apiKey)
	}
	return req, nil
}

// JSON sends a request like Do, fails the test unless the status is
// wantStatus (printing the body), and decodes a JSON object body. An empty
// body gives nil; a body that is not a JSON object fails the test.
func (s *Server) JSON(t testing.TB, method, path, apiKey string, body any, wantStatus int) map[string]any {
	t.Helper()
	v := s.JSONValue(t, method, path, apiKey, body, wantStatus)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s %s: want a JSON object, got %T: %s", method, path, v, mustJSON(v))
	}
	return m
}

// JSONValue is JSON for any JSON value (arrays included).
func (s *Server) JSONValue(t testing.TB, method, path, apiKey string, body any, wantStatus int) any {
	t.Helper()
	status, _, b := s.Do(t, method, path, apiKey, body)
	if status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, wantStatus, b)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON (%v): %s", method, path, err, b)
	}
	return v
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// freePorts returns n distinct free TCP ports on localhost.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// logBuffer is a goroutine-safe, append-only output buffer.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...(truncated)...\n" + s[len(s)-n:]
}
