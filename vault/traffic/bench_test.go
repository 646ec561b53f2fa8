package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/expr"
)

// benchDoc builds a JSON body of about size bytes with n token expressions
// (one `{{ id }}` per payment), and the tokens a resolver returns for them
// (the whole token object, as the vault's resolver does).
func benchDoc(n, size int) ([]byte, map[string]expr.Token) {
	toks := make(map[string]expr.Token, n)
	items := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		toks[id] = expr.FromObject(map[string]any{"id": id, "type": "card_number", "data": fmt.Sprintf("42424242424242%02d", i),
			"metadata": map[string]any{"order": fmt.Sprint(i)}})
		items[i] = fmt.Sprintf(`{"n":%d,"amount":12.50,"pan":"{{ %s }}"}`, i, id)
	}
	head := `{"payments":[` + strings.Join(items, ",") + `],"memo":"`
	pad := max(0, size-len(head)-2)
	return []byte(head + strings.Repeat("m", pad) + `"}`), toks
}

func benchResolver(toks map[string]expr.Token) expr.Resolver {
	return expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) {
		t, ok := toks[id]
		if !ok {
			return expr.Token{}, fmt.Errorf("%w: %s", expr.ErrNotFound, id)
		}
		return t, nil
	})
}

// BenchmarkDetokenizeBody measures the body rewrite of one proxied request
// (4 KiB JSON) with the proxy's options, resolution excluded (an in-memory
// resolver): with 10 expressions, with 1, and without any (the fast path).
func BenchmarkDetokenizeBody(b *testing.B) {
	opts := expr.Options{MaxTokens: 100, StringPrimitives: true}
	for _, n := range []int{10, 1, 0} {
		body, toks := benchDoc(n, 4096)
		r := benchResolver(toks)
		b.Run(fmt.Sprintf("4KiB_%d_tokens", n), func(b *testing.B) {
			ctx := context.Background()
			if _, err := DetokenizeBody(ctx, "application/json", body, opts, r); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DetokenizeBody(ctx, "application/json", body, opts, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
