package reactor

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
)

// wireArg is a typical execution's arguments: a detokenized card and a
// configuration.
var wireArg = []byte(`{"args":{"card":{"number":"4242424242424242","expiration_month":3,"expiration_year":2030,"cvc":"123"},"note":"` +
	strings.Repeat("x", 800) + `"},"configuration":{"MERCHANT":"m-1","PSP_KEY":"sk_test_123"}}`)

func TestRunMessageRoundTrip(t *testing.T) {
	m := runMsg{hash: [32]byte{1, 2, 3}, code: "module.exports = () => 1", tenant: "t1", arg: wireArg, bt: true}
	got, err := decodeRun(m.encode())
	if err != nil || got.hash != m.hash || got.code != m.code || got.tenant != m.tenant || !bytes.Equal(got.arg, m.arg) || !got.bt {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := decodeRun(m.encode()[:40]); err == nil {
		t.Error("a truncated payload decoded")
	}
}

func TestOutcomeChecksWhatTheWorkerSays(t *testing.T) {
	for name, payload := range map[string][]byte{
		"status out of range":  encodeOutcome(nil, &Error{Status: 200, Detail: "fine"}, false),
		"no detail":            encodeOutcome(nil, &Error{Status: 418}, false),
		"unknown outcome":      enc(nil).uint(0).uint(99),
		"value not JSON":       enc(nil).uint(0).uint(outValue).bytes([]byte("{")),
		"custom status of 999": encodeOutcome(nil, &CustomHTTPResponse{Status: 999}, false),
	} {
		_, err, recycle := decodeOutcome(payload)
		if e, ok := err.(*Error); !ok || e.Status != 500 || e.Detail != stoppedDetail || !recycle {
			t.Errorf("%s: %v (recycle %v), want the stopped-worker error", name, err, recycle)
		}
	}
	_, err, _ := decodeOutcome(encodeOutcome(nil, &CustomHTTPResponse{Status: 302, Headers: map[string]string{"Location": "/x", "Bad": "a\r\nb"}, Body: "b"}, false))
	if ch, ok := err.(*CustomHTTPResponse); !ok || ch.Headers["Location"] != "/x" || len(ch.Headers) != 1 {
		t.Errorf("custom response: %#v", err)
	}
}

func TestFramesBounded(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = a.Write([]byte{0xff, 0xff, 0xff, 0xff, 1}) }()
	if _, err := newConn(b).recv(); err != errFrameTooLarge {
		t.Errorf("recv of a huge length: %v", err)
	}
}

// BenchmarkWire compares encodings of one execution's frame payload (its
// arguments as JSON text, as the runtime already has them), encoded and
// decoded: the field encoding the channel uses, encoding/json of the same
// struct, and gob.
func BenchmarkWire(b *testing.B) {
	m := runMsg{hash: [32]byte{1}, tenant: "0191d2c0-0000-7000-8000-000000000000", arg: wireArg, bt: true}
	type jsonRun struct {
		Hash   []byte          `json:"hash"`
		Code   string          `json:"code,omitempty"`
		Tenant string          `json:"tenant"`
		Arg    json.RawMessage `json:"arg"`
		BT     bool            `json:"bt"`
	}
	b.Run("fields", func(b *testing.B) {
		for range b.N {
			if _, err := decodeRun(m.encode()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			out, _ := json.Marshal(jsonRun{Hash: m.hash[:], Tenant: m.tenant, Arg: m.arg, BT: m.bt})
			var in jsonRun
			if err := json.Unmarshal(out, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gob", func(b *testing.B) {
		for range b.N {
			var buf bytes.Buffer
			_ = gob.NewEncoder(&buf).Encode(jsonRun{Hash: m.hash[:], Tenant: m.tenant, Arg: m.arg, BT: m.bt})
			var in jsonRun
			if err := gob.NewDecoder(&buf).Decode(&in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWorkerCall is one trivial execution through a worker against
// the same in process: the difference is the channel's cost per call.
func BenchmarkWorkerCall(b *testing.B) {
	code := `module.exports = async (req) => ({ raw: req.args.n + 1 })`
	arg := map[string]any{"args": map[string]any{"n": 1}}
	b.Run("in-process", func(b *testing.B) {
		r := New(testLimits)
		p, _ := r.Compile(code)
		for range b.N {
			if _, err := r.Run(b.Context(), p, Invocation{TenantID: "t", Arg: arg}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("worker", func(b *testing.B) {
		pool, err := NewPool(PoolConfig{Workers: 1, Limits: testLimits, Command: []string{os.Args[0], WorkerCommand}})
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		r := New(testLimits)
		r.UseWorkers(pool)
		p, err := r.Compile(code)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := r.Run(b.Context(), p, Invocation{TenantID: "t", Arg: arg}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
