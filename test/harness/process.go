package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/procstat"
)

// stopTimeout bounds a graceful stop before the process is killed.
const stopTimeout = 30 * time.Second

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
	return procstat.CPU(cmd.Process.Pid, false)
}

// Log returns the combined stdout/stderr of every process of this server.
func (s *Server) Log() string { return s.log.String() }

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
