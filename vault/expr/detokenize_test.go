package expr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const (
	cardID  = "815029c2-29ec-4fc2-8cd4-99feb3ee582c"
	ssnID   = "1d08babf-456a-4bef-993d-aece3c1a2f66"
	firstID = "523949a9-e32f-4b5b-a0ad-7a435c79deb4"
	lastID  = "42af9170-e6ca-4ea7-a43b-730a0b47b6d0"
	aliasID = "830-46-3333"
	deniedI = "5c20545b-52dc-4a60-b9b5-5b7c84f22369"
)

var errForbidden = errors.New("forbidden")

// notFound is how a caller's typed not-found error can satisfy ErrNotFound.
type notFound struct{ id string }

func (e *notFound) Error() string        { return "token " + e.id + " not found" }
func (e *notFound) Is(target error) bool { return target == ErrNotFound }

// fakeResolver serves fixed tokens and counts calls per id.
type fakeResolver struct {
	mu     sync.Mutex
	tokens map[string]map[string]any // whole token objects
	calls  map[string]int
}

func newFake(t testing.TB) *fakeResolver {
	return &fakeResolver{calls: map[string]int{}, tokens: map[string]map[string]any{
		cardID:   {"id": cardID, "type": "card", "data": decode(t, `{"number":"4242424242424242","expiration_month":11,"expiration_year":2025,"cvc":"123"}`), "metadata": map[string]any{"name": "card one"}},
		ssnID:    {"id": ssnID, "type": "social_security_number", "data": "111-22-3333"},
		firstID:  {"id": firstID, "type": "token", "data": "John"},
		lastID:   {"id": lastID, "type": "token", "data": "Brown"},
		aliasID:  {"id": aliasID, "type": "token", "data": "aliased"},
		"nulltk": {"id": "nulltk", "type": "token", "data": nil},
	}}
}

func (f *fakeResolver) Resolve(_ context.Context, id string) (Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[id]++
	if id == deniedI {
		return Token{}, errForbidden
	}
	t, ok := f.tokens[id]
	if !ok {
		return Token{}, &notFound{id}
	}
	return FromObject(t), nil
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canon re-encodes JSON so expectations can be written as text.
func canon(t testing.TB, s string) string { return mustJSON(t, decode(t, s)) }

func TestDetokenizeGrammar(t *testing.T) {
	e := NewEngine()
	ctx := context.Background()
	tests := []struct {
		name string
		opts Options
		in   string
		want string
	}{
		// generation A
		{"A uuid primitive", Options{}, `{"ssn":"{{` + ssnID + `}}"}`, `{"ssn":"111-22-3333"}`},
		{"A complex embedded", Options{}, `{"card":"{{` + cardID + `}}"}`, `{"card":{"cvc":"123","expiration_month":11,"expiration_year":2025,"number":"4242424242424242"}}`},
		{"A bare JSONPath", Options{}, `{"n":"{{` + cardID + ` | $.number}}"}`, `{"n":"4242424242424242"}`},
		{"A bare JSONPath typed", Options{}, `{"m":"{{ ` + cardID + ` | $.expiration_month }}"}`, `{"m":11}`},
		{"A bare JSONPath none is null", Options{}, `{"m":"{{ ` + cardID + ` | $.nope }}"}`, `{"m":null}`},
		{"A bare JSONPath then filter", Options{}, `{"m":"{{ ` + cardID + ` | $.number | last4 }}"}`, `{"m":"4242"}`},
		{"A concatenation", Options{}, `{"name":"{{` + firstID + `}} {{` + lastID + `}}"}`, `{"name":"John Brown"}`},
		{"A non-id content ignored", Options{}, `{"a":"{{}}","b":"{{ x }}","c":"{{ a/b }}","d":"{{ {x} }}","e":"{{ 50% }}","f":"{{ a+b }}"}`,
			`{"a":"{{}}","b":"{{ x }}","c":"{{ a/b }}","d":"{{ {x} }}","e":"{{ 50% }}","f":"{{ a+b }}"}`},
		{"A ignored next to real", Options{}, `{"a":"{{ x }}-{{` + firstID + `}}"}`, `{"a":"{{ x }}-John"}`},
		// generation B
		{"B json filter", Options{}, `{"n":"{{ ` + cardID + ` | json: '$.number' }}"}`, `{"n":"4242424242424242"}`},
		{"B no spaces", Options{}, `{"n":"{{` + cardID + `|json:'$.cvc'}}"}`, `{"n":"123"}`},
		{"B alias id", Options{}, `{"a":"{{ ` + aliasID + ` }}"}`, `{"a":"aliased"}`},
		{"B reactor typed", Options{}, `{"month":"{{ ` + cardID + ` | json: '$.expiration_month' }}"}`, `{"month":11}`},
		{"B proxy stringifies primitives", Options{StringPrimitives: true}, `{"month":"{{ ` + cardID + ` | json: '$.expiration_month' }}","year":"{{ ` + cardID + ` | json: '$.expiration_year' }}","card":"{{ ` + cardID + ` }}","none":"{{ nulltk }}"}`,
			`{"month":"11","year":"2025","card":{"cvc":"123","expiration_month":11,"expiration_year":2025,"number":"4242424242424242"},"none":null}`},
		{"B transform filters", Options{}, `{"m":"{{ ` + cardID + ` | json: '$.expiration_month' | pad_left: 2, '0' }}","y":"{{ ` + cardID + ` | json: '$.expiration_year' | to_string | slice: -2, 2 }}"}`,
			`{"m":"11","y":"25"}`},
		{"B mask filter", Options{}, `{"s":"{{ ` + ssnID + ` | reveal_last: 4 }}"}`, `{"s":"XXX-XX-3333"}`},
		{"B card_exp", Options{}, `{"e":"{{ ` + cardID + ` | card_exp: 'MM/YY' }}"}`, `{"e":"11/25"}`},
		// generation C
		{"C token data path", Options{}, `{"n":"{{ token: ` + cardID + ` | json: '$.data.number' }}"}`, `{"n":"4242424242424242"}`},
		{"C token metadata", Options{}, `{"n":"{{ token: ` + cardID + ` | json: '$.metadata.name' }}"}`, `{"n":"card one"}`},
		{"C whole token", Options{}, `{"tokens":["{{ token: ` + ssnID + ` }}"]}`, `{"tokens":[{"data":"111-22-3333","id":"` + ssnID + `","type":"social_security_number"}]}`},
		{"C token bare path", Options{}, `{"t":"{{ token:` + ssnID + ` | $.type }}"}`, `{"t":"social_security_number"}`},
		// substitution rules
		{"object inside text is JSON", Options{}, `{"s":"card={{ ` + cardID + ` | json: '$' | json: '$.number' }};obj={{ token: ` + firstID + ` | json: '$.data' }}"}`, `{"s":"card=4242424242424242;obj=John"}`},
		{"object concatenated", Options{}, `{"s":"x{{ ` + cardID + ` }}"}`, `{"s":"x{\"cvc\":\"123\",\"expiration_month\":11,\"expiration_year\":2025,\"number\":\"4242424242424242\"}"}`},
		{"null concatenated", Options{}, `{"s":"[{{ nulltk }}]"}`, `{"s":"[]"}`},
		{"number concatenated", Options{}, `{"s":"{{ ` + cardID + ` | $.expiration_month }}/{{ ` + cardID + ` | $.expiration_year }}"}`, `{"s":"11/2025"}`},
		{"arrays and nesting", Options{}, `{"a":[1,"{{ ` + firstID + ` }}",{"b":["{{ ` + lastID + ` }}",true,null]}],"n":1.50}`, `{"a":[1,"John",{"b":["Brown",true,null]}],"n":1.50}`},
		{"whitespace around is text", Options{}, `{"s":" {{ ` + firstID + ` }}"}`, `{"s":" John"}`},
		{"keys untouched", Options{}, `{"{{ ` + firstID + ` }}":"v"}`, `{"{{ ` + firstID + ` }}":"v"}`},
		{"no expressions", Options{}, `{"a":"plain","b":[1,2],"c":"}} {{"}`, `{"a":"plain","b":[1,2],"c":"}} {{"}`},
		// delimiters
		{"<< >> delimiters", Options{Left: "<<", Right: ">>"}, `{"n":"<< ` + cardID + ` | json: '$.number' >>","k":"{{ ` + firstID + ` }}"}`,
			`{"n":"4242424242424242","k":"{{ ` + firstID + ` }}"}`},
		{"<< >> whole token", Options{Left: "<<", Right: ">>"}, `{"n":"<<token: ` + firstID + ` | json: '$.data'>> <<` + lastID + `>>"}`, `{"n":"John Brown"}`},
		// vars
		{"vars", Options{Vars: map[string]any{"proxy": map[string]any{"request": map[string]any{"headers": map[string]any{"X": "hv"}}}}},
			`{"h":"{{ proxy | json: '$.request.headers.X' }}","c":"{{ ` + firstID + ` | append: proxy.request.headers.X }}"}`, `{"h":"hv","c":"Johnhv"}`},
		{"config", Options{Vars: map[string]any{ConfigVar: map[string]any{"api_key": "k1", "n": "7"}}},
			`{"k":"{{ config: api_key }}","u":"{{config:api_key | upcase}}","s":"Bearer {{ config: api_key }}","f":"{{ ` + firstID + ` | append: config.n }}"}`,
			`{"k":"k1","u":"K1","s":"Bearer k1","f":"John7"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decode(t, tt.in)
			before := mustJSON(t, doc)
			got, err := e.Detokenize(ctx, doc, tt.opts, newFake(t))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, got), canon(t, tt.want); g != w {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
			if mustJSON(t, doc) != before {
				t.Fatal("input document was modified")
			}
		})
	}
}

func TestDetokenizeEquivalences(t *testing.T) {
	e := NewEngine()
	pairs := [][2]string{
		{`{{ ` + cardID + ` }}`, `{{ token: ` + cardID + ` | json: '$.data' }}`},
		{`{{ ` + cardID + ` | json: '$.number' }}`, `{{ token: ` + cardID + ` | json: '$.data.number' }}`},
		{`{{ ` + cardID + ` | $.number }}`, `{{ ` + cardID + ` | json: '$.number' }}`},
		{`{{` + cardID + `}}`, `{{ ` + cardID + ` }}`},
	}
	for _, p := range pairs {
		a, err1 := e.Detokenize(context.Background(), p[0], Options{}, newFake(t))
		b, err2 := e.Detokenize(context.Background(), p[1], Options{}, newFake(t))
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s ≠ %s: %v / %v (%v, %v)", p[0], p[1], a, b, err1, err2)
		}
	}
}

func TestDetokenizeResolvesOncePerID(t *testing.T) {
	e := NewEngine()
	f := newFake(t)
	doc := decode(t, `{"a":"{{ `+cardID+` }}","b":"{{ token: `+cardID+` }}","c":["{{ `+cardID+` | $.number }} {{`+cardID+`|json:'$.cvc'}}"],"d":"{{ `+firstID+` }}","e":"{{ `+firstID+` }}"}`)
	if _, err := e.Detokenize(context.Background(), doc, Options{MaxTokens: 2}, f); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.calls, map[string]int{cardID: 1, firstID: 1}) {
		t.Fatalf("calls = %v", f.calls)
	}
}

func TestDetokenizeMaxTokens(t *testing.T) {
	e := NewEngine()
	f := newFake(t)
	doc := decode(t, `{"a":"{{ `+cardID+` }}","b":"{{ `+firstID+` }} {{ `+lastID+` }}"}`)
	_, err := e.Detokenize(context.Background(), doc, Options{MaxTokens: 2}, f)
	var tm *TooManyTokensError
	if !errors.As(err, &tm) || tm.Limit != 2 || tm.Count != 3 {
		t.Fatalf("err = %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("resolver called before the limit check: %v", f.calls)
	}
	if _, err := e.Detokenize(context.Background(), doc, Options{MaxTokens: 3}, f); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	// Vars and ignored content do not count.
	doc = decode(t, `{"a":"{{ proxy }}","b":"{{ x }}","c":"{{ `+firstID+` }}"}`)
	if _, err := e.Detokenize(context.Background(), doc, Options{MaxTokens: 1, Vars: map[string]any{"proxy": 1}}, f); err != nil {
		t.Fatal(err)
	}
}

func TestDetokenizeNotFoundCollected(t *testing.T) {
	e := NewEngine()
	f := newFake(t)
	doc := decode(t, `{"a":"{{ zzz-unknown }}","b":["{{ aaa-unknown | json: '$.x' }}","{{ token: zzz-unknown }}"],"c":"{{ `+firstID+` }}"}`)
	_, err := e.Detokenize(context.Background(), doc, Options{}, f)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v", err)
	}
	if !reflect.DeepEqual(nf.IDs, []string{"aaa-unknown", "zzz-unknown"}) {
		t.Fatalf("ids = %v", nf.IDs)
	}
	if err.Error() != "Failed to detokenize some tokens: aaa-unknown, zzz-unknown" {
		t.Fatalf("message = %q", err)
	}
	var typed *notFound
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &typed) {
		t.Fatal("caller's typed errors must stay reachable")
	}
	if f.calls[firstID] != 1 || f.calls["zzz-unknown"] != 1 {
		t.Fatalf("calls = %v", f.calls)
	}
}

func TestDetokenizeResolverErrorUnchanged(t *testing.T) {
	e := NewEngine()
	_, err := e.Detokenize(context.Background(), map[string]any{"a": "{{ " + deniedI + " }}", "b": "{{ unknown-id }}"}, Options{}, newFake(t))
	if err != errForbidden && !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("err = %v", err)
	}
	_, err = e.Detokenize(context.Background(), "{{ "+deniedI+" }}", Options{}, newFake(t))
	if err != errForbidden {
		t.Fatalf("forbidden must propagate unchanged, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Detokenize(ctx, "{{ "+firstID+" }}", Options{}, newFake(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestDetokenizeExprErrors(t *testing.T) {
	e := NewEngine()
	for _, in := range []string{
		`{{ ` + firstID + ` | no_such_filter }}`,
		`{{ ` + firstID + ` | }}`,
		`{{ ` + firstID + ` | json: }}`,
		`{{ ` + cardID + ` | json: '$..*' }}`,
		`{{ ` + cardID + ` | $..* }}`,
		`{{ token: }}`,
		`{{ token_intent: ` + firstID + ` }}`,
		`{{ config: api_key }}`, // no configuration here
		`{{ ` + firstID + ` | $.a | }}`,
		`{{ ` + cardID + ` | json: '$.number' | plus: 'x' | to_number | to_boolean }}`,
	} {
		f := newFake(t)
		_, err := e.Detokenize(context.Background(), map[string]any{"k": in}, Options{}, f)
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Errorf("%s: err = %v, want *ExprError", in, err)
			continue
		}
		if !strings.Contains(err.Error(), strings.TrimSpace(in[:10])) {
			t.Errorf("%s: error does not name the expression: %v", in, err)
		}
		if strings.Contains(err.Error(), "4242424242424242") {
			t.Errorf("%s: error leaks token data: %v", in, err)
		}
	}
	// A configuration without the key, and a config expression without a key.
	for _, in := range []string{`{{ config: missing }}`, `{{ config: }}`} {
		_, err := e.Detokenize(context.Background(), map[string]any{"k": in},
			Options{Vars: map[string]any{ConfigVar: map[string]any{"api_key": "k1"}}}, newFake(t))
		var ee *ExprError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), "config") {
			t.Errorf("%s: err = %v, want an *ExprError naming the configuration", in, err)
		}
	}
	// Syntax errors are reported before any token is resolved.
	f := newFake(t)
	_, err := e.Detokenize(context.Background(), []any{"{{ " + firstID + " }}", "{{ " + lastID + " | nope: ( }}"}, Options{}, f)
	if err == nil || len(f.calls) != 0 {
		t.Fatalf("err = %v, calls = %v", err, f.calls)
	}
}

func TestDetokenizeString(t *testing.T) {
	e := NewEngine()
	ctx := context.Background()
	tests := []struct{ in, want string }{
		{"Bearer {{ " + firstID + " }}", "Bearer John"},
		{"{{ " + cardID + " | json: '$.expiration_month' }}", "11"},
		{"{{ " + cardID + " | json: '$.number' }}", "4242424242424242"},
		{"{{ " + ssnID + " }}", "111-22-3333"},
		{"{{ nulltk }}", ""},
		{"{{ token: " + lastID + " | json: '$.data' }}", "Brown"},
		{"{{ " + cardID + " | json: '$' | json: '$.cvc' }}", "123"},
		{"no expressions", "no expressions"},
	}
	for _, tt := range tests {
		got, err := e.DetokenizeString(ctx, tt.in, Options{}, newFake(t))
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	got, err := e.DetokenizeString(ctx, "{{ "+cardID+" }}", Options{}, newFake(t))
	if err != nil || got != `{"cvc":"123","expiration_month":11,"expiration_year":2025,"number":"4242424242424242"}` {
		t.Errorf("object = %q, %v", got, err)
	}
	got, err = e.DetokenizeString(ctx, "<<"+firstID+">>", Options{Left: "<<", Right: ">>"}, newFake(t))
	if err != nil || got != "John" {
		t.Errorf("<< >> = %q, %v", got, err)
	}
}

func TestDetokenizeNoCopyWithoutExpressions(t *testing.T) {
	e := NewEngine()
	doc := map[string]any{"a": "b", "c": []any{"d"}}
	got, err := e.Detokenize(context.Background(), doc, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(got).Pointer() != reflect.ValueOf(doc).Pointer() {
		t.Fatal("a document without expressions should be returned as is")
	}
	// Unchanged branches are shared, changed ones copied.
	inner := map[string]any{"x": "y"}
	doc = map[string]any{"keep": inner, "chg": map[string]any{"v": "{{ " + firstID + " }}"}}
	got, err = e.Detokenize(context.Background(), doc, Options{}, newFake(t))
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	if reflect.ValueOf(m["keep"]).Pointer() != reflect.ValueOf(inner).Pointer() {
		t.Fatal("unchanged branch copied")
	}
	if doc["chg"].(map[string]any)["v"] != "{{ "+firstID+" }}" {
		t.Fatal("input modified")
	}
	// Embedded objects never alias the resolver's token data.
	f := newFake(t)
	got, _ = e.Detokenize(context.Background(), "{{ "+cardID+" }}", Options{}, f)
	got.(map[string]any)["number"] = "mutated"
	if f.tokens[cardID]["data"].(map[string]any)["number"] != "4242424242424242" {
		t.Fatal("result aliases token data")
	}
}

func TestDetokenizeConcurrent(t *testing.T) {
	e := NewEngine()
	f := newFake(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				out, err := e.DetokenizeString(context.Background(), fmt.Sprintf("%d:{{ %s | json: '$.number' | last4 }}", g, cardID), Options{}, f)
				if err != nil || out != fmt.Sprintf("%d:4242", g) {
					errs <- fmt.Errorf("%q %v", out, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPackageLevelFunctions(t *testing.T) {
	if Default() != Default() {
		t.Fatal("Default must be shared")
	}
	s, err := EvalString("{{ data | last4 }}", map[string]any{"data": "123456"})
	if err != nil || s != "3456" {
		t.Fatal(s, err)
	}
	m, err := EvalMask("{{ data | reveal_last: 2 }}", "1234")
	if err != nil || m != "XX34" {
		t.Fatal(m, err)
	}
	v, err := Detokenize(context.Background(), "{{ "+firstID+" }}", Options{}, newFake(t))
	if err != nil || v != "John" {
		t.Fatal(v, err)
	}
	str, err := DetokenizeString(context.Background(), "{{ "+firstID+" }}!", Options{}, newFake(t))
	if err != nil || str != "John!" {
		t.Fatal(str, err)
	}
}
