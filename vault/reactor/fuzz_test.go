package reactor

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// FuzzArgs: any JSON document goes into the sandbox as req.args and comes
// back out unchanged (as JSON values), never panicking.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `"x"`, `1e400`, `-0`, `{"__proto__":{"a":1}}`, `{"a":[1,2,{"b":null}],"c":"\u2028<>&\ud800"}`, `123456789012345678901234567890`, `[[[[[[[[[[]]]]]]]]]]`, `{"b":1,"a":2,"b":3}`} {
		f.Add([]byte(s))
	}
	r := New(Limits{Timeout: 2 * time.Second, MaxPayload: 64 << 10})
	p, err := r.Compile(`module.exports = (req) => ({ raw: req.args })`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := jsonorder.Decode(data)
		if err != nil {
			return
		}
		res, err := r.Run(context.Background(), p, Invocation{Arg: map[string]any{"args": d}})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("non-reactor error %T %v", err, err)
			}
			return
		}
		in, err := jsonorder.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jsonorder.Marshal(res.Raw)
		if err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		// Compare as float64-based JSON values: numbers go through
		// JavaScript doubles ("1.0" comes back as 1, 1e400 as null).
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			return // out-of-range numbers: nothing to compare
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("result is not JSON: %s", out)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the value:\n in %s\nout %s", in, out)
		}
	})
}

// FuzzResult: whatever expression a reactor returns, Run ends with a
// result that encodes as JSON or with a *Error / *CustomHTTPResponse, never
// a panic or another error type.
func FuzzResult(f *testing.F) {
	for _, s := range []string{
		`1`, `{raw: 1}`, `{raw: [1, , 3]}`, `{raw: new Date(NaN)}`, `{raw: {toJSON: () => undefined}}`,
		`{raw: new Map([[1, 2]])}`, `{raw: new Uint8Array(3)}`, `{raw: Object.create(null)}`, `{raw: new Proxy([], {})}`,
		`{raw: Symbol('x')}`, `{raw: 1n}`, `(() => { throw 1 })()`, `Promise.reject(undefined)`, `{raw: -0}`,
		`{raw: 'a'.repeat(10)}`, `{tokenize: [undefined, function(){}]}`, `{raw: {[Symbol.iterator]: 1, a: 2}}`,
		`new Promise(r => setTimeout(() => r({raw: 2}), 1))`, `{raw: new Error('e')}`, `{raw: new Boolean(true)}`,
	} {
		f.Add(s)
	}
	r := New(Limits{Timeout: 200 * time.Millisecond, CompileTimeout: 100 * time.Millisecond, MaxPayload: 64 << 10, MaxMemory: 64 << 20})
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := r.Compile("module.exports = async (req) => (" + expr + "\n)")
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile: %T %v", err, err)
			}
			return
		}
		res, err := r.Run(context.Background(), p, Invocation{Arg: map[string]any{"args": map[string]any{"a": 1}}})
		if err != nil {
			var e *Error
			var ch *CustomHTTPResponse
			if !errors.As(err, &e) && !errors.As(err, &ch) {
				t.Fatalf("Run: %T %v", err, err)
			}
			return
		}
		if _, err := jsonorder.Marshal(res.Value); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
	})
}
