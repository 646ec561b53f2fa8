package test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// smallDisk mounts a fresh tmpfs of size bytes and returns its path. It
// skips where mounting is not permitted (not root, no CAP_SYS_ADMIN),
// unless CI=true.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %s tmpfs (the disk-full test runs as root in CI): %v: %s", size, err, out)
		}
		t.Skipf("cannot mount a tmpfs here (%v: %s): the disk-full test needs root", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func freeSpace(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fill writes a file of n bytes (all the space there is when n < 0) in dir.
func fill(t *testing.T, dir, name string, n int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n != 0 {
		c := chunk
		if n > 0 && n < int64(len(c)) {
			c = c[:n]
		}
		w, err := f.Write(c)
		if n > 0 {
			n -= int64(w)
		}
		if errors.Is(err, syscall.ENOSPC) && n < 0 {
			if len(chunk) == 1 {
				return
			}
			chunk = chunk[:len(chunk)/2] // top up the last partial block
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiskFull: on a disk below the vault's reserve, writes answer a 507
// problem naming the storage and leave nothing behind, reads go on, and the
// server stops cleanly on SIGTERM; it starts on a completely full disk,
// serves reads and stops cleanly again; once space is freed every
// acknowledged write is there and writes work again.
func TestDiskFull(t *testing.T) {
	const reserve = 32 << 20
	disk := smallDisk(t, "256m")
	s := harness.Start(t, harness.Options{
		DataDir:   filepath.Join(disk, "data"),
		Caddyfile: repoCaddyfileWith(t, fmt.Sprintf("disk_reserve %d", reserve)),
	})
	key := tokenApp(t, s, "token:create", "token:read", "token:update", "token:delete")
	acked := map[string]string{} // token id → its data
	for i := range 20 {
		data := fmt.Sprintf("acknowledged-%d", i)
		tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": data}, http.StatusCreated)
		acked[tok["id"].(string)] = data
	}
	var some string
	for id := range acked {
		some = id
		break
	}

	// Below the reserve (but not out of space): writes are refused cleanly.
	fill(t, disk, "filler", freeSpace(t, disk)-reserve/2)
	refused := func(phase string) {
		t.Helper()
		st, hdr, body := s.Do(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "refused"})
		checkProblem(t, phase+": create token", st, hdr, body, http.StatusInsufficientStorage, "storage")
		st, hdr, body = s.Do(t, "PATCH", "/tokens/"+some, key, map[string]any{"metadata": map[string]string{"k": "v"}})
		checkProblem(t, phase+": update token", st, hdr, body, http.StatusInsufficientStorage, "storage")
		st, hdr, body = s.Do(t, "DELETE", "/tokens/"+some, key, nil)
		checkProblem(t, phase+": delete token", st, hdr, body, http.StatusInsufficientStorage, "storage")
		st, hdr, body = s.Do(t, "POST", "/applications", s.ManagementKey, map[string]any{"name": "x", "type": "private", "permissions": []string{"token:read"}})
		checkProblem(t, phase+": create application", st, hdr, body, http.StatusInsufficientStorage, "storage")
	}
	readsAll := func(phase string) {
		t.Helper()
		for id, data := range acked {
			tok := s.JSON(t, "GET", "/tokens/"+id, key, nil, http.StatusOK)
			if tok["data"] != data {
				t.Fatalf("%s: token %s reads %v, want %q", phase, id, tok["data"], data)
			}
		}
	}
	refused("below the reserve")
	readsAll("below the reserve")
	if !strings.Contains(s.Log(), "is below the reserve") {
		t.Errorf("the log does not say writes are refused for lack of space:\n%s", s.Log())
	}
	stopCleanly(t, s, "below the reserve")

	// Out of space altogether: the server still starts, serves reads and
	// refuses writes, then stops cleanly.
	fill(t, disk, "filler", -1)
	if free := freeSpace(t, disk); free > 64<<10 {
		t.Fatalf("the disk still has %d bytes free", free)
	}
	s.Restart(t)
	readsAll("full disk at start")
	refused("full disk at start")
	if got := s.Log(); !strings.Contains(got, "the store is open read-only") {
		t.Errorf("the log does not say the store is read-only for lack of space:\n%s", got)
	}
	stopCleanly(t, s, "full disk at start")

	// Space freed: everything acknowledged is there, nothing refused is,
	// and writes work again.
	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	readsAll("after freeing space")
	page := s.JSON(t, "GET", "/tokens?size=100", key, nil, http.StatusOK)
	if n := num(page["pagination"].(map[string]any)["total_items"]); n != len(acked) {
		t.Errorf("after freeing space the tenant holds %d tokens, want the %d acknowledged: %s", n, len(acked), js(page))
	}
	s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "writable again"}, http.StatusCreated)
}

// stopCleanly sends SIGTERM and asserts a prompt, clean exit (the harness
// fails the test if the process outlives its stop timeout).
func stopCleanly(t *testing.T, s *harness.Server, phase string) {
	t.Helper()
	s.Stop(t)
	if err := s.ExitErr(); err != nil {
		t.Fatalf("%s: SIGTERM did not stop the server cleanly: %v", phase, err)
	}
}
