package reactor

import (
	"strings"
	"testing"
)

func TestBTAsyncCalls(t *testing.T) {
	r := testRuntime()
	bt := newMemBT()
	code := `module.exports = async function (req) {
		const created = await req.bt.tokens.create({ type: 'token', data: { cardNumber: req.args.n }, searchIndexes: ['{{ data }}'], metadata: { camelKey: 'v' } });
		const read = await req.bt.tokens.retrieve(created.id);
		const tokenized = await req.bt.tokenize({ a: req.args.n, b: [1] });
		const page = await req.bt.tokens.search({ query: 'x', pageSize: 10 });
		let missing;
		try { await req.bt.tokens.retrieve('nope') } catch (e) { missing = { name: e.name, status: e.status, detail: e.data.detail, isError: e instanceof Error } }
		let invalid;
		try { await req.bt.tokens.create({ type: 'token' }) } catch (e) { invalid = e.data.errors }
		await req.bt.tokens.delete(created.id);
		let gone;
		try { await req.bt.tokens.retrieve(created.id) } catch (e) { gone = e.status }
		return { raw: {
			keys: Object.keys(read).sort(),
			data: read.data, metadata: read.metadata,
			tokenizedShape: Object.keys(tokenized), tokenizedIsId: typeof tokenized.a === 'string',
			pageKeys: Object.keys(page.pagination), itemKeys: Object.keys(page.data.find((t) => t.id === created.id)).sort(),
			missing, invalid, gone,
		} };
	}`
	res, err := run(t, r, code, map[string]any{"args": map[string]any{"n": "4242"}}, bt)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"keys":["createdAt","data","id","metadata","searchIndexes","tenantId","type"],` +
		`"data":{"cardNumber":"4242"},"metadata":{"camelKey":"v"},` +
		`"tokenizedShape":["a","b"],"tokenizedIsId":true,` +
		`"pageKeys":["pageNumber","totalItems"],"itemKeys":["createdAt","data","id","metadata","searchIndexes","tenantId","type"],` +
		`"missing":{"name":"BasisTheoryApiError","status":404,"detail":"Token not found","isError":true},` +
		`"invalid":{"data":["The data field is required."]},"gone":404}`
	if got := jsonOf(t, res.Raw); got != want {
		t.Errorf("raw =\n%s\nwant\n%s", got, want)
	}
	if _, ok := bt.tokens["tok_1"]; ok {
		t.Error("tok_1 not deleted")
	}
	if !strings.Contains(strings.Join(bt.calls, ","), "create,get tok_1,tokenize") {
		t.Errorf("calls = %v", bt.calls)
	}
}

func TestBTRequestCasing(t *testing.T) {
	r := testRuntime()
	bt := newMemBT()
	_, err := run(t, r, `module.exports = async (req) => { await req.bt.tokens.create({ type: 'token', data: { innerKey: 1 }, searchIndexes: [], deduplicateToken: true }) }`, map[string]any{}, bt)
	if err != nil {
		t.Fatal(err)
	}
	tok := bt.tokens["tok_1"]
	if _, ok := tok["search_indexes"]; !ok {
		t.Errorf("token = %v, want search_indexes", tok)
	}
	if _, ok := tok["deduplicate_token"]; !ok {
		t.Errorf("token = %v, want deduplicate_token", tok)
	}
	if got := jsonOf(t, tok["data"]); got != `{"innerKey":1}` {
		t.Errorf("data = %s, want it untouched", got)
	}
}

func TestBTNull(t *testing.T) {
	r := testRuntime()
	res, err := run(t, r, `module.exports = async (req) => ({ raw: req.bt === null })`, map[string]any{"args": map[string]any{}}, nil)
	if err != nil || jsonOf(t, res.Raw) != "true" {
		t.Fatalf("res=%v err=%v", res, err)
	}
}

func TestBTBadArguments(t *testing.T) {
	r := testRuntime()
	bt := newMemBT()
	code := `module.exports = async (req) => {
		const out = [];
		for (const f of [() => req.bt.tokens.retrieve(42), () => req.bt.tokenize({ a: 1n }), () => { const o = {}; o.o = o; return req.bt.tokenize(o) }]) {
			try { await f(); out.push('ok') } catch (e) { out.push(e.name) }
		}
		return { raw: out }
	}`
	res, err := run(t, r, code, map[string]any{}, bt)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, res.Raw); got != `["TypeError","TypeError","TypeError"]` {
		t.Errorf("raw = %s", got)
	}
}
