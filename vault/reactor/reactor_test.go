package reactor

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

func testRuntime(mods ...Module) *Runtime {
	r := New(testLimits, mods...)
	if testPool != nil && len(mods) == 0 {
		r.UseWorkers(testPool) // TestThroughWorkers
	}
	return r
}

var testLimits = Limits{Timeout: 3 * time.Second, CompileTimeout: time.Second}

func TestReactorContract(t *testing.T) {
	r := testRuntime()
	code := `module.exports = async function (req) {
		const { card, customer_id } = req.args;
		return {
			raw: { last4: card.number.slice(-4), customer: customer_id, key: req.configuration.API_KEY, hasBt: req.bt !== null },
			tokenize: { type: 'card', data: card },
		};
	};`
	arg := map[string]any{
		"args":          jsonorder.FromMap(map[string]any{"card": map[string]any{"number": "4242424242424242", "expiration_month": 12}, "customer_id": "abc"}),
		"configuration": map[string]string{"API_KEY": "sk_1"},
	}
	res, err := run(t, r, code, arg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasRaw || !res.HasTokenize {
		t.Fatalf("HasRaw=%v HasTokenize=%v", res.HasRaw, res.HasTokenize)
	}
	if got, want := jsonOf(t, res.Raw), `{"last4":"4242","customer":"abc","key":"sk_1","hasBt":false}`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
	if got, want := jsonOf(t, res.Tokenize), `{"type":"card","data":{"expiration_month":12,"number":"4242424242424242"}}`; got != want {
		t.Errorf("tokenize = %s, want %s", got, want)
	}
}

func TestFormulaContract(t *testing.T) {
	r := testRuntime()
	// The 2021 formula era: context.sourceToken, and a plain (non-async)
	// function returning a token-like object.
	code := `module.exports = function (context) {
		return { foo: 'bar', last4: context.sourceToken.data.number.substr(-4), cfg: context.configuration.x };
	}`
	arg := map[string]any{
		"sourceToken":   map[string]any{"id": "tok", "type": "card", "data": map[string]any{"number": "4111111111111111"}},
		"configuration": map[string]any{"x": "y"},
	}
	res, err := run(t, r, code, arg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, res.Value), `{"foo":"bar","last4":"1111","cfg":"y"}`; got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
	if res.HasRaw || res.HasTokenize {
		t.Errorf("HasRaw=%v HasTokenize=%v, want neither", res.HasRaw, res.HasTokenize)
	}
}

func TestExportShapes(t *testing.T) {
	r := testRuntime()
	for _, code := range []string{
		`module.exports = async (req) => ({ raw: 1 })`,
		`module.exports = function (req) { return { raw: 1 } }`,
		`exports.handler = async function (req) { return { raw: 1 } }`,
		`module.exports = { default: async () => ({ raw: 1 }) }`,
		`module.exports = async function (req) { return new Promise(r => setTimeout(() => r({ raw: 1 }), 5)) }`,
	} {
		res, err := run(t, r, code, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", code, err)
			continue
		}
		if jsonOf(t, res.Raw) != "1" {
			t.Errorf("%s: raw = %s", code, jsonOf(t, res.Raw))
		}
	}
}

func TestResultShapes(t *testing.T) {
	r := testRuntime()
	cases := []struct{ ret, want string }{
		{`undefined`, `null`},
		{`null`, `null`},
		{`{ raw: undefined, tokenize: null }`, `{"tokenize":null}`},
		{`{ raw: { d: new Date(0), f() {}, s: Symbol('x'), n: NaN, i: -Infinity, arr: [undefined, () => 1, 1.5, 1e21] } }`, `{"raw":{"d":"1970-01-01T00:00:00.000Z","n":null,"i":null,"arr":[null,null,1.5,1e+21]}}`},
		{`{ raw: { toJSON() { return 'custom' } } }`, `{"raw":"custom"}`},
		{`{ raw: [new Number(3), new String('s'), new Boolean(false)] }`, `{"raw":[3,"s",false]}`},
		{`{ raw: JSON.parse('{"__proto__": {"x": 1}}') }`, `{"raw":{"__proto__":{"x":1}}}`},
		{`{ raw: "<b>&</b>" }`, `{"raw":"<b>&</b>"}`},
		{`{ raw: { b: 1, a: 2 } }`, `{"raw":{"b":1,"a":2}}`},
	}
	for _, c := range cases {
		res, err := run(t, r, `module.exports = async () => (`+c.ret+`)`, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", c.ret, err)
			continue
		}
		if got := jsonOf(t, res.Value); got != c.want {
			t.Errorf("%s: value = %s, want %s", c.ret, got, c.want)
		}
	}
	res, _ := run(t, r, `module.exports = async () => ({ tokenize: undefined })`, nil, nil)
	if res.HasTokenize {
		t.Error("tokenize: undefined counted as present")
	}
}

func TestArgsArePlainValues(t *testing.T) {
	r := testRuntime()
	// The caller's map must not be reachable: writes stay in the sandbox.
	args := map[string]any{"a": 1}
	arg := map[string]any{"args": args, "configuration": map[string]any{}}
	code := `module.exports = async (req) => {
		req.args.a = 2; req.args.b = 3;
		return { raw: { proto: Object.getPrototypeOf(req.args) === Object.prototype, keys: Object.keys(req), isArr: Array.isArray(req.list) } }
	}`
	arg["list"] = []any{1, 2}
	res, err := run(t, r, code, arg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if args["a"] != 1 || len(args) != 1 {
		t.Errorf("caller's args changed: %v", args)
	}
	if got, want := jsonOf(t, res.Raw), `{"proto":true,"keys":["args","configuration","list","bt"],"isArr":true}`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
}

func TestCompileErrors(t *testing.T) {
	r := New(Limits{Timeout: 2 * time.Second, CompileTimeout: 300 * time.Millisecond, MaxCodeSize: 100})
	cases := []struct {
		code        string
		notFunc     bool
		msgContains string
	}{
		{`module.exports = async function (req) {`, false, "does not compile"},
		{`module.exports = 42`, true, "does not export a function"},
		{`module.exports = { handler: 1 }`, true, "does not export a function"},
		{``, true, "does not export a function"},
		{`throw new Error('top level')`, false, "top level"},
		{`while (true) {}`, false, "did not finish"},
		{strings.Repeat("x", 101), false, "at most 100 characters"},
		{`module.exports = () => 1 //` + strings.Repeat("é", 72), false, ""}, // 172 bytes, 100 characters: fine
	}
	for _, c := range cases {
		_, err := r.Compile(c.code)
		if c.msgContains == "" {
			if err != nil {
				t.Errorf("%.40q: %v", c.code, err)
			}
			continue
		}
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%.40q: err = %v, want *CompileError", c.code, err)
			continue
		}
		if ce.NotAFunction != c.notFunc || !strings.Contains(ce.Message, c.msgContains) {
			t.Errorf("%.40q: %+v, want NotAFunction=%v and %q", c.code, ce, c.notFunc, c.msgContains)
		}
		if strings.Contains(ce.Message, "reactor.js") || strings.Contains(ce.Message, "function (exports") {
			t.Errorf("%.40q: message shows the wrapper: %s", c.code, ce.Message)
		}
	}
	healthy(t, r)
}

func TestSyntaxErrorColumn(t *testing.T) {
	r := testRuntime()
	_, err := r.Compile(`module.exports = )`)
	var ce *CompileError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "line 1:18") {
		t.Fatalf("err = %v, want a message at line 1:18", err)
	}
}

func TestCompileCache(t *testing.T) {
	r := testRuntime()
	a := compile(t, r, `module.exports = () => 1`)
	b := compile(t, r, `module.exports = () => 1`)
	if a != b {
		t.Error("same code compiled twice")
	}
}

func TestTimers(t *testing.T) {
	r := testRuntime()
	code := `module.exports = async () => {
		const order = [];
		const cancelled = setTimeout(() => order.push('cancelled'), 1);
		clearTimeout(cancelled);
		setTimeout((x) => order.push(x), 20, 'late');
		setTimeout(() => order.push('early'), 1);
		setImmediate(() => order.push('immediate'));
		queueMicrotask(() => order.push('micro'));
		let n = 0;
		await new Promise((resolve) => { const id = setInterval(() => { if (++n === 3) { clearInterval(id); resolve(); } }, 2); });
		await new Promise((resolve) => setTimeout(resolve, 30));
		return { raw: { order, n } };
	}`
	res, err := run(t, r, code, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, res.Raw), `{"order":["micro","immediate","early","late"],"n":3}`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
}

func TestUncaughtTimerException(t *testing.T) {
	r := testRuntime()
	res, err := run(t, r, `module.exports = () => new Promise(() => { setTimeout(() => { throw new TypeError('in timer') }, 1) })`, nil, nil)
	e := reactorError(t, err)
	if res != nil || e.Status != 500 || e.Errors["error"][0] != "in timer" {
		t.Errorf("err = %+v", e)
	}
}

func TestConsoleDiscards(t *testing.T) {
	r := testRuntime()
	res, err := run(t, r, `module.exports = async () => { console.log('4242424242424242'); console.error({a: 1}); console.table([]); return { raw: typeof console.log } }`, nil, nil)
	if err != nil || jsonOf(t, res.Raw) != `"function"` {
		t.Fatalf("res=%v err=%v", res, err)
	}
}

func TestPayloadIn(t *testing.T) {
	r := New(Limits{MaxPayload: 1000})
	p := compile(t, r, `module.exports = (x) => x`)
	_, err := r.Run(context.Background(), p, Invocation{Arg: map[string]any{"args": strings.Repeat("a", 1000)}})
	if e := reactorError(t, err); e.Status != 413 {
		t.Errorf("status = %d", e.Status)
	}
	_, err = r.Run(context.Background(), p, Invocation{Arg: map[string]any{"bad": make(chan int)}})
	if err == nil {
		t.Error("a channel argument was accepted")
	}
}

func TestCancelledContext(t *testing.T) {
	r := testRuntime()
	p := compile(t, r, `module.exports = () => new Promise(r => setTimeout(r, 10000))`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.Run(ctx, p, Invocation{})
	if e := reactorError(t, err); e.Status != 499 || time.Since(start) > time.Second {
		t.Errorf("err = %+v after %v", e, time.Since(start))
	}
	healthy(t, r)
}

func TestCaseConversion(t *testing.T) {
	for in, want := range map[string]string{"searchIndexes": "search_indexes", "fingerprintExpression": "fingerprint_expression", "id": "id", "expiresAt": "expires_at", "HTMLBody": "html_body", "card2Number": "card2_number"} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"created_at": "createdAt", "search_indexes": "searchIndexes", "id": "id", "_id": "id", "total_items": "totalItems"} {
		if got := camelCase(in); got != want {
			t.Errorf("camelCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNonErrorThrows(t *testing.T) {
	r := testRuntime()
	cases := []struct {
		throw string
		want  map[string][]string
	}{
		{`'x'`, map[string][]string{"error": {"x"}}},
		{`{ a: 1 }`, map[string][]string{"a": {"1"}}},
		{`null`, map[string][]string{"error": {fallbackMessage}}},
		{`undefined`, map[string][]string{"error": {fallbackMessage}}},
		{`0`, map[string][]string{"error": {fallbackMessage}}},
		{`[1, { b: 2 }, null]`, map[string][]string{"error": {"1", `{"b":2}`, fallbackMessage}}},
		{`new RangeError('range')`, map[string][]string{"error": {"range"}}},
		{`Symbol('s')`, map[string][]string{"error": {"Symbol(s)"}}},
		{`() => 1`, map[string][]string{"error": {"() => 1"}}},
	}
	for _, c := range cases {
		_, err := run(t, r, `module.exports = async () => { throw `+c.throw+` }`, nil, nil)
		e := reactorError(t, err)
		if e.Status != 500 || e.Detail != "Reactor Runtime Error" || !reflect.DeepEqual(e.Errors, c.want) {
			t.Errorf("throw %s: %+v, want errors %q", c.throw, e, c.want)
		}
		noHostDetail(t, e)
	}
	// A TypeError raised by goja itself says nothing about the host either.
	_, err := run(t, r, `module.exports = async (req) => req.args.missing.deeper`, map[string]any{"args": map[string]any{}}, nil)
	e := reactorError(t, err)
	if e.Status != 500 || !strings.Contains(e.Errors["error"][0], "Cannot read property 'deeper' of undefined") {
		t.Errorf("TypeError: %+v", e)
	}
	noHostDetail(t, e)
	healthy(t, r)
}

// Positions in compile errors count from the customer's code: no
// internal script name, no wrapper columns, no line the customer did not
// write.
func TestSyntaxErrorPositionsAreTheCustomers(t *testing.T) {
	r := New(Limits{})
	for code, want := range map[string]string{
		"let let = 1;":                        "line 1:5",
		"module.exports = async function ( {": "the end of the code",
	} {
		_, err := r.Compile(code)
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Fatalf("%q: %v", code, err)
		}
		if !strings.Contains(ce.Message, want) || strings.Contains(ce.Message, scriptName) {
			t.Errorf("%q: %q, want a position %q and no %q", code, ce.Message, want, scriptName)
		}
	}
}
