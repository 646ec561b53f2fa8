package test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// A reactor or formula changed on one node runs as changed on the other
// at once, although the other node had the reactor and its formula cached
// for the react path (it ran them just before): the change is acknowledged
// once the other node applied it from the feed. A deleted reactor stops
// answering there too.
func TestClusterReactorChangeReachesOtherNode(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{Caddyfile: reactorCaddyfile(t)})
	a, b := nodes[0], nodes[1]
	_, invoker := privateAppWith(t, a, "cluster invoker", "reactor:invoke")
	code := func(v int) string {
		return fmt.Sprintf("module.exports = async (req) => ({ raw: { v: %d, conf: req.configuration.K } });", v)
	}
	runs := func(id string, v int, conf string) func() bool {
		return func() bool {
			st, _, body := rxReact(t, b, invoker, id, nil)
			if st != http.StatusOK {
				return false
			}
			raw := decodeObj(t, body)["raw"]
			return jsonEq(raw, map[string]any{"v": v, "conf": conf})
		}
	}
	warm := func(id string, v int, conf string) { // B caches the reactor (and formula)
		for i := 0; i < 3; i++ {
			if !runs(id, v, conf)() {
				t.Fatalf("node B does not run reactor %s as created", id)
			}
		}
	}

	// A code reactor's code and configuration replaced.
	id := rxCode(t, a, "cluster reactor", code(1), map[string]string{"K": "one"})
	warm(id, 1, "one")
	honouredAtOnce(t, "reactor updated", func() {
		a.JSON(t, "PUT", "/reactors/"+id, a.ManagementKey, map[string]any{"name": "cluster reactor", "code": code(2),
			"configuration": map[string]string{"K": "two"}}, http.StatusOK)
	}, runs(id, 2, "two"))

	// A formula reactor's formula replaced.
	formula := func(v int) map[string]any {
		return map[string]any{"name": "cluster formula", "type": "private", "code": code(v),
			"configuration": []any{}, "request_parameters": []any{}}
	}
	fid := a.JSON(t, "POST", "/reactor-formulas", a.ManagementKey, formula(3), http.StatusCreated)["id"].(string)
	rid := rxReactor(t, a, map[string]any{"name": "cluster formula reactor", "configuration": map[string]string{"K": "f"},
		"formula": map[string]any{"id": fid}})["id"].(string)
	warm(rid, 3, "f")
	honouredAtOnce(t, "formula updated", func() {
		a.JSON(t, "PUT", "/reactor-formulas/"+fid, a.ManagementKey, formula(4), http.StatusOK)
	}, runs(rid, 4, "f"))

	// The code reactor deleted.
	honouredAtOnce(t, "reactor deleted", func() {
		mustStatus(t, "delete reactor", status(t, a, "DELETE", "/reactors/"+id, a.ManagementKey), http.StatusNoContent)
	}, func() bool {
		st, _, _ := rxReact(t, b, invoker, id, nil)
		return st == http.StatusNotFound
	})
}
