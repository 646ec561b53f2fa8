package test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// race sends n requests at once, alternating between the nodes, and counts
// the statuses they answered.
func race(t *testing.T, nodes []*harness.Server, n int, send func(i int, node *harness.Server) int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := send(i, nodes[i%len(nodes)])
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts
}

// Read-modify-writes racing on two nodes of one database: each is a
// conditional write, so exactly one of several racing claims wins, and a
// write that read a record another node changed or deleted meanwhile is
// rerun on the new state instead of overwriting it.
func TestClusterConditionalWrites(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	mk := nodes[0].ManagementKey
	const racers = 8

	t.Run("one project id, one 201", func(t *testing.T) {
		for round := range 5 {
			id := fmt.Sprint("project-race", round)
			got := race(t, nodes, racers, func(i int, n *harness.Server) int {
				st, _, _ := n.Do(t, "POST", "/projects", mk, map[string]any{"id": id, "name": fmt.Sprint("from ", i)})
				return st
			})
			if got[http.StatusCreated] != 1 || got[http.StatusConflict] != racers-1 {
				t.Fatalf("round %d: statuses %v; want one 201 and %d 409", round, got, racers-1)
			}
		}
	})

	t.Run("a session nonce authorizes once", func(t *testing.T) {
		_, pub := publicAppWith(t, nodes[0], "race public", "token:create")
		_, priv := privateAppWith(t, nodes[1], "race private", "token:create", "token:read")
		for round := range 5 {
			nonce := nodes[round%2].JSON(t, "POST", "/sessions", pub, nil, http.StatusOK)["nonce"].(string)
			got := race(t, nodes, racers, func(_ int, n *harness.Server) int {
				st, _, _ := n.Do(t, "POST", "/sessions/authorize", priv, map[string]any{"nonce": nonce, "permissions": []string{"token:read"}})
				return st
			})
			if got[http.StatusNoContent] != 1 || got[http.StatusBadRequest] != racers-1 {
				t.Fatalf("round %d: statuses %v; want one 204 and %d 400", round, got, racers-1)
			}
		}
	})

	// Updates and deletes of one record on both nodes: exactly one delete
	// answers 204, the others 404; an update answers its success, 404 once
	// the delete won, or 409 if it lost every rerun; the record is gone.
	updateVsDelete := func(t *testing.T, path, method string, update func(i int) map[string]any) {
		t.Helper()
		var mu sync.Mutex
		deleted := map[int]int{}
		got := race(t, nodes, racers, func(i int, n *harness.Server) int {
			if i%4 == 0 {
				st, _, _ := n.Do(t, "DELETE", path, mk, nil)
				mu.Lock()
				deleted[st]++
				mu.Unlock()
				return st
			}
			st, _, _ := n.Do(t, method, path, mk, update(i))
			return st
		})
		if deleted[http.StatusNoContent] != 1 || deleted[http.StatusNotFound] != racers/4-1 {
			t.Fatalf("%s: deletes answered %v (all: %v); want one 204, the others 404", path, deleted, got)
		}
		for st := range got {
			if st != http.StatusOK && st != http.StatusNoContent && st != http.StatusNotFound && st != http.StatusConflict {
				t.Fatalf("%s: statuses %v", path, got)
			}
		}
		for i, n := range nodes {
			if st, _, body := n.Do(t, "GET", path, mk, nil); st != http.StatusNotFound {
				t.Fatalf("%s: node %d reads the deleted record: %d %s", path, i, st, body)
			}
		}
	}

	t.Run("an update racing a delete never brings the application back", func(t *testing.T) {
		for range 5 {
			id := createApp(t, nodes[0], map[string]any{"name": "doomed", "type": "private", "permissions": []string{"token:read"}})["id"].(string)
			updateVsDelete(t, "/applications/"+id, "PUT", func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprint("renamed ", i), "permissions": []string{"token:read"}}
			})
		}
	})

	t.Run("an update racing a delete never brings the proxy back", func(t *testing.T) {
		for range 5 {
			id := nodes[1].JSON(t, "POST", "/proxies", mk, map[string]any{"name": "race", "destination_url": "https://example.com"}, http.StatusCreated)["id"].(string)
			updateVsDelete(t, "/proxies/"+id, "PATCH", func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprint("renamed ", i)}
			})
		}
	})
}
