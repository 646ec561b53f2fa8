package bterrors

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/reactor"
)

const fallback = "Something went wrong. Please try again. If the problem persists, please contact support@basistheory.com"

func runCode(t *testing.T, r *reactor.Runtime, code string) (*reactor.Result, error) {
	t.Helper()
	p, err := r.Compile(code)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r.Run(context.Background(), p, reactor.Invocation{TenantID: "t", Arg: map[string]any{"args": map[string]any{}}})
}

func throwing(expr string) string {
	return `const sdk = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async function (req) { throw ` + expr + ` }`
}

func TestEveryClass(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	cases := []struct {
		class  string
		status int
		detail string
	}{
		{"BadRequestError", 400, "Bad Request"},
		{"InvalidReactorConfigurationError", 400, "Invalid Reactor Configuration"},
		{"AuthenticationError", 401, "Authentication Failed"},
		{"InvalidPaymentMethodError", 402, "Invalid Payment Method"},
		{"AuthorizationError", 403, "Forbidden"},
		{"InvalidReactorFormulaError", 422, "Invalid Reactor Formula"},
		{"RateLimitError", 429, "Rate Limit Exceeded"},
		{"ReactorRuntimeError", 500, "Reactor Runtime Error"},
		{"ServiceUnavailableError", 503, "Service Unavailable"},
	}
	for _, c := range cases {
		_, err := runCode(t, r, throwing(`new sdk.`+c.class+`('boom')`))
		var e *reactor.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v", c.class, err)
			continue
		}
		want := &reactor.Error{Status: c.status, Detail: c.detail, Errors: map[string][]string{"error": {"boom"}}}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("%s: %+v, want %+v", c.class, e, want)
		}
	}
}

func TestErrorsNormalisation(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	cases := []struct {
		arg  string
		want map[string][]string
	}{
		{`'card expired'`, map[string][]string{"error": {"card expired"}}},
		{`['a', { b: 1 }, null, 2]`, map[string][]string{"error": {"a", `{"b":1}`, fallback, "2"}}},
		{`new TypeError('bad type')`, map[string][]string{"error": {"bad type"}}},
		{`new Error()`, map[string][]string{"error": {"Error"}}},
		{`{ card: ['expired', 'stolen'], cvc: 'wrong', nested: { x: 1 }, empty: '', zero: 0, no: null }`, map[string][]string{
			"card": {"expired", "stolen"}, "cvc": {"wrong"}, "nested": {`{"x":1}`}, "empty": {fallback}, "zero": {fallback}, "no": {fallback}}},
		{``, map[string][]string{"error": {fallback}}},
		{`undefined`, map[string][]string{"error": {fallback}}},
		{`null`, map[string][]string{"error": {fallback}}},
		{`42`, map[string][]string{"error": {"42"}}},
		{`(() => { const o = {}; o.o = o; return { circular: o } })()`, map[string][]string{"circular": {fallback}}},
	}
	for _, c := range cases {
		_, err := runCode(t, r, throwing(`new sdk.BadRequestError(`+c.arg+`)`))
		var e *reactor.Error
		if !errors.As(err, &e) || e.Status != 400 {
			t.Errorf("%s: err = %v", c.arg, err)
			continue
		}
		if !reflect.DeepEqual(e.Errors, c.want) {
			t.Errorf("%s: errors = %q, want %q", c.arg, e.Errors, c.want)
		}
	}
}

func TestClassesBehaveLikeTheSDK(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	res, err := runCode(t, r, `const { BadRequestError, BasisTheoryReactorError, CustomHttpResponseError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
	module.exports = async () => {
		const e = new BadRequestError('x');
		const c = new CustomHttpResponseError({ status: 201, body: 'b' });
		let invalid = [];
		for (const s of [99, 600, '200', 200.5, undefined]) {
			try { new CustomHttpResponseError({ status: s }) } catch (err) { invalid.push(err.message) }
		}
		return { raw: {
			name: e.name, message: e.message, status: e.status,
			instances: [e instanceof BadRequestError, e instanceof BasisTheoryReactorError, e instanceof Error, c instanceof Error],
			rfc: e.toRFC7807(), body: c.toResponseBody(), stack: typeof e.stack, className: BadRequestError.name,
			invalid, same: require('@basis-theory/basis-theory-reactor-formulas-sdk-js').BadRequestError === BadRequestError,
		} };
	}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := jsonorder.Marshal(res.Raw)
	want := `{"name":"BadRequestError","message":"Bad Request","status":400,"instances":[true,true,true,true],` +
		`"rfc":{"detail":"Bad Request","status":400,"errors":{"error":["x"]}},"body":{"status":201,"headers":{},"body":"b"},` +
		`"stack":"string","className":"BadRequestError","invalid":["status is not a valid integer","status is not a valid integer","status is not a valid integer","status is not a valid integer","status is not a valid integer"],"same":true}`
	if string(b) != want {
		t.Errorf("raw =\n%s\nwant\n%s", b, want)
	}
}

func TestCustomHTTPResponse(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	_, err := runCode(t, r, throwing(`new sdk.CustomHttpResponseError({ status: 302, headers: { Location: 'https://psp.example/3ds', 'X-N': 5, 'Bad\nName': 'x', Split: 'a\r\nSet-Cookie: y', f() {} }, body: { ok: false, list: [1] } })`))
	var ch *reactor.CustomHTTPResponse
	if !errors.As(err, &ch) {
		t.Fatalf("err = %T %v", err, err)
	}
	if ch.Status != 302 || !reflect.DeepEqual(ch.Headers, map[string]string{"Location": "https://psp.example/3ds", "X-N": "5"}) {
		t.Errorf("response = %+v", ch)
	}
	if b, _ := jsonorder.Marshal(ch.Body); string(b) != `{"ok":false,"list":[1]}` {
		t.Errorf("body = %s", b)
	}
	// No body or headers: {} for both, like the SDK.
	_, err = runCode(t, r, throwing(`new sdk.CustomHttpResponseError({ status: 204 })`))
	if !errors.As(err, &ch) || ch.Status != 204 || len(ch.Headers) != 0 {
		t.Fatalf("err = %v", err)
	}
	if b, _ := jsonorder.Marshal(ch.Body); string(b) != `{}` {
		t.Errorf("body = %s", b)
	}
}

func TestTamperedErrors(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	cases := []struct {
		expr   string
		status int
		detail string
	}{
		// A status outside 400–599 is not a reactor error any more.
		{`Object.assign(new sdk.BadRequestError('x'), { status: 200 })`, 500, "Reactor Runtime Error"},
		{`Object.assign(new sdk.BadRequestError('x'), { status: '400' })`, 500, "Reactor Runtime Error"},
		{`Object.assign(new sdk.CustomHttpResponseError({ status: 200 }), { status: 700 })`, 500, "Reactor Runtime Error"},
		// Forged from the prototype: the fields are validated like any other.
		{`Object.assign(Object.create(sdk.BadRequestError.prototype), { status: 402, message: 'forged', errors: 5 })`, 402, "forged"},
		{`Object.assign(new sdk.AuthenticationError('x'), { message: 42 })`, 401, "Reactor Runtime Error"},
		// Rejected promises and rethrows keep the class.
		{`await Promise.reject(new sdk.RateLimitError())`, 429, "Rate Limit Exceeded"},
	}
	for _, c := range cases {
		code := throwing(c.expr)
		if strings.HasPrefix(c.expr, "await") {
			code = `const sdk = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async function (req) { ` + c.expr + ` }`
		}
		_, err := runCode(t, r, code)
		var e *reactor.Error
		if !errors.As(err, &e) || e.Status != c.status || e.Detail != c.detail {
			t.Errorf("%s: err = %+v", c.expr, err)
		}
	}
}

func TestNonSDKThrows(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	cases := []struct {
		expr string
		want map[string][]string
	}{
		{`'x'`, map[string][]string{"error": {"x"}}},
		{`{ a: 1 }`, map[string][]string{"a": {"1"}}},
		{`null`, map[string][]string{"error": {fallback}}},
		{`undefined`, map[string][]string{"error": {fallback}}},
		{`new Error('plain')`, map[string][]string{"error": {"plain"}}},
		{`new (class Custom extends Error {})('sub')`, map[string][]string{"error": {"sub"}}},
		{`{ status: 402, message: 'duck typed' }`, map[string][]string{"status": {"402"}, "message": {"duck typed"}}},
	}
	for _, c := range cases {
		_, err := runCode(t, r, throwing(c.expr))
		var e *reactor.Error
		if !errors.As(err, &e) || e.Status != 500 || e.Detail != "Reactor Runtime Error" {
			t.Errorf("%s: err = %+v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(e.Errors, c.want) {
			t.Errorf("%s: errors = %q, want %q", c.expr, e.Errors, c.want)
		}
		b, _ := json.Marshal(e)
		for _, bad := range []string{".go", "goja", "/root", "github.com"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s: leaks %q: %s", c.expr, bad, b)
			}
		}
	}
}

func TestCaddyModule(t *testing.T) {
	info, err := caddy.GetModule("vault.reactor_modules.bt_errors")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := info.New().(reactor.Module)
	if !ok || m.Name() != Name {
		t.Fatalf("module = %#v", info.New())
	}
}
