package reactor

import (
	"context"
	"testing"
)

// A runtime built ahead of time serves one call only: what a call leaves
// in its runtime is never seen by the next, which gets the next spare.
func TestSpareRuntimeServesOneCall(t *testing.T) {
	r := testRuntime()
	r.keepSpare()
	pollute := compile(t, r, `module.exports = async () => {
		Object.prototype.polluted = 1;
		String.prototype.slice = () => 'hijacked';
		globalThis.lastCard = '4242424242424242';
		return { raw: ({}).polluted };
	}`)
	check := compile(t, r, `module.exports = async (req) => ({ raw: [({}).polluted, '4242'.slice(-2), typeof lastCard, typeof fetch, typeof setTimeout] })`)
	for i := range 3 {
		r.prepareSpare()
		if r.spare.next == nil {
			t.Fatal("no spare was built")
		}
		spare := r.spare.next
		res, err := r.Run(context.Background(), pollute, Invocation{TenantID: "a"})
		if err != nil || jsonOf(t, res.Raw) != "1" {
			t.Fatalf("pollute %d: res=%v err=%v", i, res, err)
		}
		if r.spare.next != nil {
			t.Fatal("the spare was not taken by the call")
		}
		r.prepareSpare()
		if r.spare.next == spare {
			t.Fatal("a used spare was offered again")
		}
		res, err = r.Run(context.Background(), check, Invocation{TenantID: "b"})
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonOf(t, res.Raw); got != `[null,"42","undefined","undefined","function"]` {
			t.Fatalf("the next call saw %s", got)
		}
	}
}

// Without keepSpare (the vault process, many calls at once) nothing is
// built ahead.
func TestNoSpareUnlessKept(t *testing.T) {
	r := testRuntime()
	r.prepareSpare()
	if r.spare.next != nil {
		t.Fatal("a spare was built for a runtime that keeps none")
	}
}
