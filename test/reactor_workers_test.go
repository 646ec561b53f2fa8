package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// workersCaddyfile runs reactor code in a small pool: 2 warm workers, at
// most 6, each limited to 128 MiB, extras stopped after 1 s idle.
func workersCaddyfile(t testing.TB, more ...string) string {
	return reactorCaddyfile(t, append([]string{"workers 2", "max_workers 6", "memory 128MiB", "worker_idle 1s"}, more...)...)
}

// workerPIDs lists the vault's reactor worker processes.
func workerPIDs(t testing.TB, vault int) []int {
	t.Helper()
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", vault))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(s)
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if bytes.Contains(cmd, []byte("reactor-worker")) && !slices.Contains(out, pid) {
				out = append(out, pid)
			}
		}
	}
	slices.Sort(out)
	return out
}

// procAlive reports whether pid runs (a zombie does not).
func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// rssKiB is a process's resident set size.
func rssKiB(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the status of %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// otherTenant creates a second tenant through the admin API and returns a
// key that may create and invoke reactors in it.
func otherTenant(t testing.TB, s *harness.Server) string {
	t.Helper()
	resp, err := http.Post("http://"+s.AdminAddr+"/vault/tenants", "application/json", strings.NewReader(`{"name":"bystander","type":"production"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ManagementKey string `json:"management_key"`
	}
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.ManagementKey == "" {
		t.Fatalf("creating a tenant: %d %s", resp.StatusCode, b)
	}
	return out.ManagementKey
}

// bystander keeps a second tenant's reactor busy while an attack runs: it
// reacts in a loop and records every failure and each call's latency.
type bystander struct {
	s        *harness.Server
	key, id  string
	mu       sync.Mutex
	took     []time.Duration
	failures []string
	stop     chan struct{}
	done     sync.WaitGroup
}

func startBystander(t testing.TB, s *harness.Server) *bystander {
	t.Helper()
	key := otherTenant(t, s)
	r := s.JSON(t, "POST", "/reactors", key, map[string]any{"name": "bystander",
		"code": `module.exports = async (req) => ({ raw: { n: req.args.n * 2 } })`}, http.StatusCreated)
	app := s.JSON(t, "POST", "/applications", key, map[string]any{"name": "bystander", "type": "private", "permissions": []string{"reactor:invoke"}}, http.StatusCreated)
	key = app["key"].(string)
	b := &bystander{s: s, key: key, id: r["id"].(string), stop: make(chan struct{})}
	b.done.Add(1)
	go func() {
		defer b.done.Done()
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			default:
			}
			body, _ := json.Marshal(map[string]any{"args": map[string]any{"n": i}})
			req, _ := harness.NewRequest("POST", s.BaseURL+"/reactors/"+b.id+"/react", key, body)
			start := time.Now()
			resp, err := s.Client().Do(req)
			var got []byte
			if err == nil {
				got, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			took := time.Since(start)
			b.mu.Lock()
			want := fmt.Sprintf(`{"raw":{"n":%d}}`, 2*i)
			if err != nil || resp.StatusCode != http.StatusOK || string(got) != want {
				b.failures = append(b.failures, fmt.Sprintf("call %d: %v %s", i, err, got))
			}
			b.took = append(b.took, took)
			b.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return b
}

// finish stops the loop, fails the test on any failed call and logs the
// latency.
func (b *bystander) finish(t testing.TB, what string) {
	t.Helper()
	close(b.stop)
	b.done.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.took) == 0 {
		t.Fatalf("%s: the other tenant made no call", what)
	}
	for _, f := range b.failures {
		t.Errorf("%s: the other tenant's react failed: %s", what, f)
	}
	d := slices.Clone(b.took)
	slices.Sort(d)
	t.Logf("%s: other tenant's react during the attack: %d calls, p50 %v, p99 %v, max %v", what, len(d),
		d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond), d[len(d)-1].Round(time.Microsecond))
}

// hostileCases is the table: code that killed or starved an
// in-process vault, each with the statuses its call may answer.
var hostileCases = []struct {
	name   string
	code   string
	status []int
}{
	{"sparse array from a synchronous export", `module.exports = function () { const a = []; a.length = 4294967295; return { raw: a } }`, []int{500}},
	{"sparse array as a fetch body", `module.exports = async () => { const a = []; a.length = 4294967295; await fetch('http://127.0.0.1:9/', { method: 'POST', body: a }); return {} }`, []int{500}},
	{"JSON.parse of 4,000,000 nested arrays", `module.exports = async () => ({ raw: JSON.parse('['.repeat(4e6) + ']'.repeat(4e6)) })`, []int{500}},
	{"backtracking regular expression with a lookahead", `module.exports = async () => ({ raw: /^(?=(a+)+$)(a+)+b$/.test('a'.repeat(64)) })`, []int{408}},
	{"JSON.stringify of a deep structure", `module.exports = async () => { let o = []; for (let i = 0; i < 2e6; i++) o = [o]; return { raw: JSON.stringify(o).length } }`, []int{408, 500}},
	{"exporting a huge array", `module.exports = async () => ({ raw: new Array(5e7).fill(1) })`, []int{408, 500}},
	{"huge typed array", `module.exports = async () => ({ raw: new Uint8Array(2 ** 31).length })`, []int{500}},
	{"string repeat past memory", `module.exports = async () => ({ raw: 'x'.repeat(2 ** 29).length })`, []int{408, 500}},
	{"padStart past memory", `module.exports = async () => ({ raw: ''.padStart(2 ** 29, 'ab').length })`, []int{408, 500}},
	{"join past memory", `module.exports = async () => ({ raw: new Array(2 ** 26).join('abcdefgh').length })`, []int{408, 500}},
	{"infinite loop", `module.exports = async () => { for (;;) {} }`, []int{408}},
}

// TestReactorWorkersHostile runs each hostile reactor against a running
// server: the call gets its error (RFC 7807, no host detail), the vault
// process is the same one, its memory comes back near where it started,
// and another tenant's reactor keeps answering throughout.
func TestReactorWorkersHostile(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: workersCaddyfile(t)})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	pid := s.PID()
	by := startBystander(t, s)
	time.Sleep(300 * time.Millisecond)
	baseline := rssKiB(t, pid)
	for _, c := range hostileCases {
		id := rxCode(t, s, c.name, c.code, nil)
		start := time.Now()
		st, hdr, b := rxReact(t, s, invoker, id, map[string]any{})
		if !slices.Contains(c.status, st) {
			t.Errorf("%s: status %d, want one of %v: %s", c.name, st, c.status, b)
		} else {
			checkProblem(t, c.name, st, hdr, b, st)
		}
		noHostDetail(t, c.name, b)
		if s.PID() != pid {
			t.Fatalf("%s: the vault process changed (%d, was %d)", c.name, s.PID(), pid)
		}
		t.Logf("%s: %d in %v", c.name, st, time.Since(start).Round(time.Millisecond))
	}
	by.finish(t, "hostile table")
	var after int64
	ok := waitFor(10*time.Second, func() bool { after = rssKiB(t, pid); return after < baseline+64<<10 })
	t.Logf("vault RSS: %d KiB before the attack, %d KiB after", baseline, after)
	if !ok {
		t.Errorf("the vault's RSS grew from %d KiB to %d KiB", baseline, after)
	}
	if n := len(workerPIDs(t, pid)); n < 2 {
		t.Errorf("%d workers after the attack, want at least 2", n)
	}
}

// TestReactorWorkersStorm sends 200 concurrent hostile calls from one
// tenant (infinite loops, backtracking regular expressions, huge
// allocations): another tenant's calls keep succeeding, every hostile call
// gets a problem, and afterwards the pool is back to its size.
func TestReactorWorkersStorm(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: workersCaddyfile(t, "max_per_tenant 200", "max_concurrent 256")})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	pid := s.PID()
	codes := []string{
		`module.exports = async () => { for (;;) {} }`,
		`module.exports = async () => ({ raw: /^(?=(a+)+$)(a+)+b$/.test('a'.repeat(64)) })`,
		`module.exports = async () => ({ raw: new Uint8Array(2 ** 31).length })`,
		`module.exports = async () => { let a = []; for (;;) a.push(new Array(1e6).fill(1)) }`,
	}
	var ids []string
	for i, c := range codes {
		ids = append(ids, rxCode(t, s, fmt.Sprint("storm ", i), c, nil))
	}
	by := startBystander(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"args": map[string]any{}})
			req, _ := harness.NewRequest("POST", s.BaseURL+"/reactors/"+ids[i%len(ids)]+"/react", invoker, body)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Errorf("storm call %d: %v", i, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
			if resp.StatusCode < 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("storm call %d: %d %s %s", i, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			noHostDetail(t, "storm", b)
		}()
	}
	wg.Wait()
	by.finish(t, "storm")
	t.Logf("storm statuses: %v", statuses)
	if s.PID() != pid {
		t.Fatalf("the vault process changed")
	}
	var n []int
	if !waitFor(15*time.Second, func() bool { n = workerPIDs(t, pid); return len(n) == 2 }) {
		t.Errorf("after the storm the pool has %d workers, want 2", len(n))
	}
	// And it serves.
	id := rxCode(t, s, "after", `module.exports = async () => ({ raw: 'ok' })`, nil)
	if r := rxReactOK(t, s, invoker, id, nil); r["raw"] != "ok" {
		t.Errorf("after the storm: %v", r)
	}
}

// TestReactorWorkersConfined checks what a worker process has: its channel,
// /dev/null and a pipe for its fatal error as descriptors, an empty environment, / as working
// directory, an address-space limit.
func TestReactorWorkersConfined(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: workersCaddyfile(t), Env: []string{"STRONGROOM_CANARY=secret-canary"}})
	var pids []int
	// Ready: started, and past the set-up of their limits.
	limited := func(pid int) bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Max address space") {
				return !strings.Contains(l, "unlimited")
			}
		}
		return false
	}
	if !waitFor(20*time.Second, func() bool {
		pids = workerPIDs(t, s.PID())
		return len(pids) >= 2 && !slices.ContainsFunc(pids, func(p int) bool { return !limited(p) })
	}) {
		t.Fatalf("%d workers started, want 2 with an address-space limit", len(pids))
	}
	time.Sleep(200 * time.Millisecond) // past closing what they inherited
	for _, pid := range pids {
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || len(env) != 0 {
			t.Errorf("worker %d environment: %q (%v), want empty", pid, env, err)
		}
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != "/" {
			t.Errorf("worker %d working directory %q (%v), want /", pid, cwd, err)
		}
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		sockets := 0
		for _, fd := range fds {
			target, _ := os.Readlink(fd)
			n, _ := strconv.Atoi(filepath.Base(fd))
			switch {
			case n <= 1 && target == "/dev/null":
			case n == 2 && strings.HasPrefix(target, "pipe:"): // its fatal error, read by the vault
			case strings.HasPrefix(target, "socket:"):
				sockets++
			case strings.HasPrefix(target, "anon_inode:"): // the Go runtime's own (epoll, eventfd)
			default:
				t.Errorf("worker %d has fd %d open on %q", pid, n, target)
			}
		}
		if sockets != 1 {
			t.Errorf("worker %d has %d sockets, want its channel only", pid, sockets)
		}
	}
}

// TestReactorWorkersNoOrphans kills the vault with SIGKILL: its workers
// die with it (parent-death signal, and the closed channel).
func TestReactorWorkersNoOrphans(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: workersCaddyfile(t)})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	id := rxCode(t, s, "busy", `module.exports = async () => { for (;;) {} }`, nil)
	go func() {
		req, _ := harness.NewRequest("POST", s.BaseURL+"/reactors/"+id+"/react", invoker, []byte(`{}`))
		if resp, err := s.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	var pids []int
	if !waitFor(20*time.Second, func() bool { pids = workerPIDs(t, s.PID()); return len(pids) >= 2 }) {
		t.Fatalf("%d workers started, want 2", len(pids))
	}
	time.Sleep(200 * time.Millisecond) // the looping call is in a worker
	s.Kill(t)
	if !waitFor(5*time.Second, func() bool {
		return !slices.ContainsFunc(pids, procAlive)
	}) {
		t.Errorf("workers %v outlived the vault", slices.DeleteFunc(pids, func(p int) bool { return !procAlive(p) }))
	}
}

// TestReactorWorkersReload: reloading the same config keeps the same warm
// workers; a config with other reactor limits gets a new pool and the old
// workers stop; stopping the vault stops the workers.
func TestReactorWorkersReload(t *testing.T) {
	t.Parallel()
	cf := workersCaddyfile(t)
	s := harness.Start(t, harness.Options{Caddyfile: cf})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	id := rxCode(t, s, "echo", `module.exports = async (req) => ({ raw: req.args })`, nil)
	var before []int
	if !waitFor(20*time.Second, func() bool { before = workerPIDs(t, s.PID()); return len(before) == 2 }) {
		t.Fatalf("%d workers started, want 2", len(before))
	}
	s.ReloadCaddyfile(t, []byte(cf))
	if r := rxReactOK(t, s, invoker, id, map[string]any{"a": 1}); !jsonEq(r["raw"], map[string]any{"a": 1.0}) {
		t.Errorf("after reload: %v", r)
	}
	if after := workerPIDs(t, s.PID()); !slices.Equal(before, after) {
		t.Errorf("reloading the same config replaced the workers: %v, then %v", before, after)
	}
	s.ReloadCaddyfile(t, []byte(strings.Replace(cf, "memory 128MiB", "memory 96MiB", 1)))
	if r := rxReactOK(t, s, invoker, id, map[string]any{"a": 2}); !jsonEq(r["raw"], map[string]any{"a": 2.0}) {
		t.Errorf("after a new config: %v", r)
	}
	if !waitFor(10*time.Second, func() bool { return !slices.ContainsFunc(before, procAlive) }) {
		t.Errorf("the old pool's workers %v still run after a config with other limits", before)
	}
	// A clean stop stops the workers too.
	current := workerPIDs(t, s.PID())
	s.Stop(t)
	if !waitFor(10*time.Second, func() bool { return !slices.ContainsFunc(current, procAlive) }) {
		t.Errorf("workers %v still run after the vault stopped", current)
	}
}

// TestReactorWorkersZero: `workers 0` runs reactor code in the vault
// process (the benchmark's baseline): no worker starts, reactors work.
func TestReactorWorkersZero(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: reactorCaddyfile(t, "workers 0")})
	_, invoker := privateAppWith(t, s, "invoker", "reactor:invoke")
	id := rxCode(t, s, "echo", `module.exports = async (req) => ({ raw: req.args.n + 1 })`, nil)
	if r := rxReactOK(t, s, invoker, id, map[string]any{"n": 1}); r["raw"] != 2.0 {
		t.Errorf("react: %v", r)
	}
	if pids := workerPIDs(t, s.PID()); len(pids) != 0 {
		t.Errorf("workers %v started with workers 0", pids)
	}
}
