package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// TestLoadBackup (opt-in: STRONGROOM_BENCH_BACKUP_TOKENS=<n>, e.g.
// 1000000) fills a store with n tokens, then prints the time and size of
// an online backup, and the token write throughput while backups run back
// to back as a ratio against the throughput just before, in the same run.
func TestLoadBackup(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STRONGROOM_BENCH_BACKUP_TOKENS"))
	if n <= 0 || testing.Short() {
		t.Skip("set STRONGROOM_BENCH_BACKUP_TOKENS=<tokens> to run")
	}
	s := harness.Start(t, harness.Options{})
	app := createApp(t, s, map[string]any{"name": "writer", "type": "private", "permissions": []string{"token:create", "token:read"}})
	key := app["key"].(string)

	fillStart := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	tw := startTokenWriters(ctx, s, key, 16)
	for len(tw.snapshot()) < n {
		time.Sleep(200 * time.Millisecond)
		if time.Since(fillStart) > 2*time.Hour {
			t.Fatalf("only %d of %d tokens after 2 h", len(tw.snapshot()), n)
		}
	}
	cancel()
	tw.wg.Wait()
	t.Logf("filled %d tokens in %s", len(tw.snapshot()), time.Since(fillStart).Round(time.Second))

	backup := func(i int) (time.Duration, string) {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("b", i))
		t0 := time.Now()
		if out, errOut, ok := cli(t, t.TempDir(), nil, "backup", "--address", s.AdminAddr, "--output", dir); !ok {
			t.Fatalf("backup: %s%s", out, errOut)
		}
		return time.Since(t0), dir
	}
	dur, dir := backup(0)
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})

	const window = 3 * time.Second
	throughput := func(during bool) float64 {
		ctx, cancel := context.WithCancel(context.Background())
		w := startTokenWriters(ctx, s, key, 16)
		var backups atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; during && ctx.Err() == nil && i <= 50; i++ {
				backup(i)
				backups.Add(1)
			}
		}()
		time.Sleep(window)
		cancel()
		w.wg.Wait()
		<-done
		if during {
			t.Logf("%d backups during the window", backups.Load())
		}
		return float64(len(w.snapshot())) / window.Seconds()
	}
	base := throughput(false)
	with := throughput(true)
	t.Logf("backup of %d tokens: %s, %.1f MiB (hard-linked tables on the same file system)", n, dur.Round(time.Millisecond), float64(size)/(1<<20))
	t.Logf("token writes while backing up: %.2fx the throughput without (%.0f vs %.0f writes/s)", with/base, with, base)
}
