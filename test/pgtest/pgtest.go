// Package pgtest starts private PostgreSQL 15 servers for tests: initdb in
// a temporary directory as the postgres user, SCRAM password auth, TCP on
// 127.0.0.1 at a free port, no Unix socket. The postmaster is the test
// process's direct child with a parent-death signal, so it dies with the
// test even on kill -9. Tests skip when PostgreSQL is not installed, unless
// CI=true (then they fail).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/strongroom/strongroom/test/procstat"
)

// BinDir is where Debian's postgresql-15 installs the server programs.
const BinDir = "/usr/lib/postgresql/15/bin"

// Password is the superuser's password (SCRAM-SHA-256) on test servers.
const Password = "strongroom-test"

// dirPrefix names server directories under os.TempDir, suffixed by the
// test process's pid so stale ones can be removed.
const dirPrefix = "strongroom-pg-"

// Server is one running (or stopped) private PostgreSQL.
type Server struct {
	Port int
	Dir  string // holds data/ (owned by postgres) and the server log

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	uid  uint32
	gid  uint32
}

// Require skips the test when PostgreSQL 15 is not installed (fails under
// CI=true, where .ci/run installs it).
func Require(t testing.TB) {
	t.Helper()
	_, err := os.Stat(filepath.Join(BinDir, "initdb"))
	if err == nil {
		_, err = user.Lookup("postgres")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: PostgreSQL 15 is required under CI: %v", err)
		}
		t.Skipf("pgtest: PostgreSQL 15 not installed (%v)", err)
	}
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns one server for the whole test process (started on first
// use, killed when the process exits): tests isolate themselves with
// NewDatabase.
func Shared(t testing.TB) *Server {
	t.Helper()
	Require(t)
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("pgtest: %v", sharedErr)
	}
	return shared
}

// Start starts a server owned by the test (stopped at its end); use it to
// kill or restart the database under a test.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	s, err := start()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		os.RemoveAll(s.Dir)
	})
	return s
}

func start() (*Server, error) {
	removeStale()
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, uid: uint32(uid), gid: uint32(gid)}
	// The postgres user must reach its data dir through ours.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chown(data, uid, gid); err != nil {
		return nil, err
	}
	initdb := s.command(filepath.Join(BinDir, "initdb"), "-D", data, "-U", "postgres",
		"--pwfile="+pwfile, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	os.Remove(pwfile)
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		if err = s.launch(); err == nil || attempt == 2 {
			return s, err
		}
	}
}

// command runs a PostgreSQL program as the postgres user (servers refuse
// to run as root), killed if this process dies.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: s.uid, Gid: s.gid},
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true, // the postmaster in a group of its own (its children leave it: Kill finds them by parent)
	}
	return cmd
}

// launch starts the postmaster and waits until it accepts a login.
func (s *Server) launch() error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := s.command(filepath.Join(BinDir, "postgres"), "-D", filepath.Join(s.Dir, "data"),
		"-p", strconv.Itoa(s.Port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB", "-c", "fsync=on")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			c.Close(context.Background())
			return nil
		}
	}
	s.Kill()
	return errors.New("postgres did not accept connections within 60s")
}

// DSN is the connection URL of database db on this server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", Password, s.Port, db)
}

// NewDatabase creates an empty database for the test and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "t_" + strings.ToLower(strconv.FormatInt(time.Now().UnixNano(), 36))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.DSN(name)
}

// Kill sends SIGKILL to the postmaster and every backend at once (a crash
// of the database server) and waits until they are all gone. Backends
// leave the postmaster's process group (each calls setsid), so they are
// found by parent and killed one by one: a backend left alive would
// answer a query sent after the "crash" until it noticed its postmaster
// had died.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	children := procstat.Children(cmd.Process.Pid)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	for _, pid := range children {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	<-done
	for _, pid := range children {
		for deadline := time.Now().Add(10 * time.Second); procstat.Alive(pid) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Restart starts the server again on the same port after Kill: it runs
// crash recovery from its WAL like any restarted PostgreSQL.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		// The killed postmaster's backends may hold the port for a moment.
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("pgtest: restart: %v", err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale deletes directories of test processes that no longer run.
func removeStale() {
	entries, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, e := range entries {
		rest := strings.TrimPrefix(filepath.Base(e), dirPrefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(e)
		}
	}
}
