package reactor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// memBT is a small in-memory BTClient: the vault wiring is the lead's, the
// sandbox only needs something that answers like it.
type memBT struct {
	mu     sync.Mutex
	tokens map[string]map[string]any
	next   int
	// block, when set, makes GetToken wait for it (concurrency tests).
	block chan struct{}
	calls []string
}

func newMemBT() *memBT { return &memBT{tokens: map[string]map[string]any{}} }

func (m *memBT) record(s string) {
	m.mu.Lock()
	m.calls = append(m.calls, s)
	m.mu.Unlock()
}

func (m *memBT) create(req any) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	id := fmt.Sprintf("tok_%d", m.next)
	o, _ := req.(*jsonorder.Object)
	t := map[string]any{"id": id, "type": "token", "tenant_id": "t1", "created_at": "2024-01-01T00:00:00Z"}
	if o != nil {
		for _, k := range o.Keys {
			t[k] = o.Values[k]
		}
	}
	t["id"] = id
	m.tokens[id] = t
	return t
}

func (m *memBT) Tokenize(ctx context.Context, body any) (any, error) {
	m.record("tokenize")
	// Tokenize every primitive leaf, keep the shape (enough for tests).
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case *jsonorder.Object:
			out := &jsonorder.Object{Values: map[string]any{}}
			for _, k := range x.Keys {
				out.Set(k, walk(x.Values[k]))
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		default:
			return m.create(jsonorder.FromMap(map[string]any{"type": "token", "data": x}))["id"]
		}
	}
	return walk(body), nil
}

func (m *memBT) CreateToken(ctx context.Context, req any) (any, error) {
	m.record("create")
	if o, ok := req.(*jsonorder.Object); ok {
		if _, ok := o.Get("data"); !ok {
			p := problem.New(400, "")
			p.Errors["data"] = []string{"The data field is required."}
			return nil, p
		}
	}
	return m.create(req), nil
}

func (m *memBT) GetToken(ctx context.Context, id string) (any, error) {
	m.record("get " + id)
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return nil, problem.New(404, "Token not found")
	}
	return t, nil
}

func (m *memBT) DeleteToken(ctx context.Context, id string) error {
	m.record("delete " + id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[id]; !ok {
		return problem.New(404, "Token not found")
	}
	delete(m.tokens, id)
	return nil
}

func (m *memBT) SearchTokens(ctx context.Context, query any) (any, error) {
	m.record("search")
	m.mu.Lock()
	defer m.mu.Unlock()
	data := []any{}
	for _, t := range m.tokens {
		data = append(data, t)
	}
	return map[string]any{"pagination": map[string]any{"total_items": len(data), "page_number": 1}, "data": data}, nil
}

// compile compiles code or fails the test.
func compile(t testing.TB, r *Runtime, code string) *Program {
	t.Helper()
	p, err := r.Compile(code)
	if err != nil {
		t.Fatalf("Compile(%q): %v", code, err)
	}
	return p
}

// run compiles and runs code with arg.
func run(t testing.TB, r *Runtime, code string, arg map[string]any, bt BTClient) (*Result, error) {
	t.Helper()
	p := compile(t, r, code)
	return r.Run(context.Background(), p, Invocation{TenantID: "t1", Arg: arg, BT: bt})
}

// jsonOf encodes a result value for comparisons.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := jsonorder.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// reactorError asserts err is an *Error.
func reactorError(t testing.TB, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error = %T %v, want *Error", err, err)
	}
	return e
}

// noHostDetail fails when text shows anything about the host.
func noHostDetail(t testing.TB, e *Error) {
	t.Helper()
	b, _ := json.Marshal(e)
	s := string(b)
	for _, bad := range []string{".go", "goroutine", "/root", "/work", "goja", "runtime error", "panic", "github.com", "127.0.0.1", "169.254"} {
		if strings.Contains(s, bad) {
			t.Errorf("error %s leaks host detail %q", s, bad)
		}
	}
}

// healthy checks the runtime still runs a normal reactor.
func healthy(t testing.TB, r *Runtime) {
	t.Helper()
	res, err := run(t, r, `module.exports = async function (req) { return { raw: { ok: req.args.n + 1 } } }`, map[string]any{"args": map[string]any{"n": 41}}, nil)
	if err != nil {
		t.Fatalf("healthy run: %v", err)
	}
	if got := jsonOf(t, res.Raw); got != `{"ok":42}` {
		t.Fatalf("healthy run raw = %s", got)
	}
}
