package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/test/harness"
)

// revocationBound is the contract: a revocation made on one node is
// honoured on every node within it.
const revocationBound = 2 * time.Second

// honouredAtOnce makes a change on one node and checks that another node
// honours it at its first answer after the change's: a write that other
// nodes may have cached returns only once they applied it, or once they
// stopped serving their caches (the feed stalled), so within the bound.
func honouredAtOnce(t *testing.T, what string, change func(), check func() bool) {
	t.Helper()
	start := time.Now()
	change()
	took := time.Since(start)
	if !check() {
		t.Fatalf("%s: not honoured on the other node right after the change's answer (%s)", what, took.Round(time.Millisecond))
	}
	if took > revocationBound {
		t.Fatalf("%s: the change took %s to answer, more than %s", what, took.Round(time.Millisecond), revocationBound)
	}
	t.Logf("%s: honoured at once, the change answered in %s", what, took.Round(time.Millisecond))
}

// A key deleted, an application deleted or its permissions narrowed on
// one node stop working on the other at once, although the other node had
// the principal and the token cached (it served them just before): the
// change is acknowledged once the other node applied it from the feed.
func TestClusterRevocationAtOnce(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	revocations(t, nodes[0], nodes[1])
}

// The same with the change feed stalled on every node (its table locked
// by another session, so no poll completes): a node that cannot confirm
// it is fresh bypasses its caches, the revoking write answers once that
// is so (within 2 s), and every revocation holds at once.
func TestClusterRevocationWithFeedStalled(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	c, err := pgx.Connect(ctx, databaseOf(t, a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE strongroom_feed_meta IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// Both nodes' pollers are stuck behind the lock before anything is revoked.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'strongroom feed' AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d feed pollers wait on the lock, want 2: the feed is not stalled", waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
	revocations(t, a, b)
}

// revocations revokes on a and checks each change is honoured on b.
func revocations(t *testing.T, a, b *harness.Server) {
	reader := createApp(t, a, map[string]any{"name": "Reader", "type": "private", "permissions": []string{"token:create", "token:read"}})
	appID, key := reader["id"].(string), reader["key"].(string)
	tok := a.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "secret"}, http.StatusCreated)["id"].(string)
	warm := func() { // B caches the principal and the token
		for i := 0; i < 3; i++ {
			b.JSON(t, "GET", "/tokens/"+tok, key, nil, http.StatusOK)
		}
	}

	// Permission change.
	warm()
	setPermissions := func(perms ...string) func() {
		return func() {
			a.JSON(t, "PUT", "/applications/"+appID, a.ManagementKey, map[string]any{"name": "Reader", "permissions": perms}, http.StatusOK)
		}
	}
	honouredAtOnce(t, "permission removed", setPermissions("token:create"), func() bool { return status(t, b, "GET", "/tokens/"+tok, key) == http.StatusForbidden })
	honouredAtOnce(t, "permission restored", setPermissions("token:create", "token:read"), func() bool { return status(t, b, "GET", "/tokens/"+tok, key) == http.StatusOK })

	// A second key of the application, then the first deleted.
	key2 := a.JSON(t, "POST", "/applications/"+appID+"/keys", a.ManagementKey, nil, http.StatusCreated)
	warm()
	keys := a.JSONValue(t, "GET", "/applications/"+appID+"/keys", a.ManagementKey, nil, http.StatusOK).([]any)
	honouredAtOnce(t, "key deleted", func() {
		for _, k := range keys {
			if id := k.(map[string]any)["id"]; id != key2["id"] {
				mustStatus(t, "delete key", status(t, a, "DELETE", fmt.Sprint("/applications/", appID, "/keys/", id), a.ManagementKey), http.StatusNoContent)
			}
		}
	}, func() bool { return keyWorks(t, b, key) == http.StatusUnauthorized })
	mustStatus(t, "the remaining key", status(t, b, "GET", "/tokens/"+tok, key2["key"].(string)), http.StatusOK)

	// The application deleted.
	honouredAtOnce(t, "application deleted", func() {
		mustStatus(t, "delete application", status(t, a, "DELETE", "/applications/"+appID, a.ManagementKey), http.StatusNoContent)
	}, func() bool { return keyWorks(t, b, key2["key"].(string)) == http.StatusUnauthorized })

	// A token updated or deleted on one node: the other, which had it
	// cached, reads the change at once.
	other := createApp(t, a, map[string]any{"name": "Deleter", "type": "private", "permissions": tokenPerms})["key"].(string)
	b.JSON(t, "GET", "/tokens/"+tok, other, nil, http.StatusOK)
	a.JSON(t, "PATCH", "/tokens/"+tok, other, map[string]any{"metadata": map[string]any{"v": "2"}}, http.StatusOK)
	if got := b.JSON(t, "GET", "/tokens/"+tok, other, nil, http.StatusOK)["metadata"]; fmt.Sprint(got) != "map[v:2]" {
		t.Fatalf("the other node reads metadata %v right after the update, want v=2", got)
	}
	mustStatus(t, "delete token", status(t, a, "DELETE", "/tokens/"+tok, other), http.StatusNoContent)
	mustStatus(t, "token deleted, read on the other node", status(t, b, "GET", "/tokens/"+tok, other), http.StatusNotFound)
}

// Deleting the tenant on one node ends every key of it on the other at
// once, the other node having just served them.
func TestClusterTenantDeletionAtOnce(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	a, b := nodes[0], nodes[1]
	key := tokenApp(t, a, tokenPerms...)
	tok := b.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "x"}, http.StatusCreated)["id"].(string)
	b.JSON(t, "GET", "/tokens/"+tok, key, nil, http.StatusOK)
	mustStatus(t, "GET /tenants/self on b", status(t, b, "GET", "/tenants/self", b.ManagementKey), http.StatusOK)
	honouredAtOnce(t, "tenant deleted", func() {
		mustStatus(t, "DELETE /tenants/self", status(t, a, "DELETE", "/tenants/self", a.ManagementKey), http.StatusNoContent)
	}, func() bool {
		return keyWorks(t, b, key) == http.StatusUnauthorized && status(t, b, "GET", "/tenants/self", b.ManagementKey) == http.StatusUnauthorized
	})
}

// kill -9 of a node under write load loses no write it acknowledged: the
// other node reads every one.
func TestClusterNodeKilledUnderWriteLoad(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	a, b := nodes[0], nodes[1]
	key := tokenApp(t, a, tokenPerms...)
	load := startWriteLoad(t, []*harness.Server{a}, key, 8)
	time.Sleep(1500 * time.Millisecond)
	a.Kill(t)
	acked, _ := load.stop()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for id, data := range acked {
		if got := b.JSON(t, "GET", "/tokens/"+id, key, nil, http.StatusOK); got["data"] != data {
			t.Fatalf("token %s reads %v on the surviving node, want %s", id, got["data"], data)
		}
	}
	t.Logf("%d acknowledged writes, all read back from the other node", len(acked))
}

// writeLoad is writers creating tokens on nodes until stopped, keeping
// every acknowledged (201) token's data and a count of each status (0: no
// answer, e.g. from a node that was killed).
type writeLoad struct {
	mu       sync.Mutex
	acked    map[string]string
	statuses map[int]int
	done     chan struct{}
	wg       sync.WaitGroup
}

func startWriteLoad(t *testing.T, nodes []*harness.Server, key string, writers int) *writeLoad {
	l := &writeLoad{acked: map[string]string{}, statuses: map[int]int{}, done: make(chan struct{})}
	for w := 0; w < writers; w++ {
		n := nodes[w%len(nodes)]
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.done:
					return
				default:
				}
				data := fmt.Sprintf("w%d-%d", w, i)
				start := time.Now()
				st, body := postToken(n, key, data)
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("a create took %s", d)
				}
				l.mu.Lock()
				l.statuses[st]++
				if st == http.StatusCreated {
					l.acked[decodeObj(t, body)["id"].(string)] = data
				}
				l.mu.Unlock()
				switch st {
				case http.StatusCreated:
				case http.StatusServiceUnavailable, 0:
					time.Sleep(50 * time.Millisecond)
				default:
					t.Errorf("create: %d %s", st, body)
				}
			}
		}()
	}
	return l
}

// created is how many writes were acknowledged so far.
func (l *writeLoad) created() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses[http.StatusCreated]
}

// stop ends the load and returns what was acknowledged and the statuses.
func (l *writeLoad) stop() (map[string]string, map[int]int) {
	close(l.done)
	l.wg.Wait()
	return l.acked, l.statuses
}

// postToken creates a token; status 0 means no answer came.
func postToken(n *harness.Server, key, data string) (int, []byte) {
	req, _ := harness.NewRequest("POST", n.BaseURL+"/tokens", key, map[string]any{"type": "token", "data": data})
	resp, err := n.Client().Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, body
}
