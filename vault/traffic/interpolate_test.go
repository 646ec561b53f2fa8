package traffic

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/strongroom/strongroom/vault/expr"
)

func TestQueryRewritesOnlyTouchedParameters(t *testing.T) {
	d := NewDetokenizer(expr.Options{StringPrimitives: true}, resolver)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"b=1&a=hello%20world", "b=1&a=hello%20world"},
		{"z=%7E&y=a+b&x&&w=", "z=%7E&y=a+b&x&&w="},
		{"bad=%zz&pan=%7B%7B+" + cardID + "+%7D%7D", "bad=%zz&pan=4242424242424242"},
		{"b=1&s=x+%7B%7B+" + cardID + "+%7C+last4+%7D%7D&a=%20", "b=1&s=x+4242&a=%20"},
		{"%7B%7B+" + cardID + "+%7D%7D=key-not-resolved", "%7B%7B+" + cardID + "+%7D%7D=key-not-resolved"},
	} {
		got, err := d.Query(context.Background(), tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Query(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := d.Query(context.Background(), "a=1&pan=%7B%7B+"+objID[:8]+"-0000-4000-8000-00000000ffff+%7D%7D"); !errors.Is(err, expr.ErrNotFound) {
		t.Errorf("unknown token in the query: %v, want not found", err)
	}
}

func TestDropParamKeepsTheRest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"b=1&bt-proxy-key=k&a=hello%20world", "b=1&a=hello%20world"},
		{"bt-proxy-key=k", ""},
		{"bt%2Dproxy%2Dkey=k&x=%7e", "x=%7e"},
		{"bt-proxy-key&x=1&bt-proxy-key=2", "x=1"},
		{"bt-proxy-key=k%zz&x=1", "x=1"},
		{"x=1", "x=1"},
	} {
		if got := DropParam(tc.in, "bt-proxy-key"); got != tc.want {
			t.Errorf("DropParam(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHeaderCopiesOnlyWhenChanged(t *testing.T) {
	d := NewDetokenizer(expr.Options{Left: "<<", Right: ">>", StringPrimitives: true}, resolver)
	in := http.Header{"X-Pan": {"<< " + cardID + " >>"}, "X-Other": {"<< " + cardID + " | last4 >>"},
		"Bt-Secret": {"<< " + cardID + " >>"}, "X-Plain": {"{{ " + cardID + " }}"}}
	out, err := d.Header(context.Background(), in, []string{"X-Pan", "Bt-Secret", "X-Plain"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Get("X-Pan") != "4242424242424242" || in.Get("X-Pan") != "<< "+cardID+" >>" {
		t.Errorf("X-Pan: out %q, in %q", out.Get("X-Pan"), in.Get("X-Pan"))
	}
	if out.Get("X-Other") != in.Get("X-Other") || out.Get("Bt-Secret") != in.Get("Bt-Secret") || out.Get("X-Plain") != in.Get("X-Plain") {
		t.Errorf("a header not named, a control header or one without the delimiters changed: %v", out)
	}
	all, err := d.Headers(context.Background(), in)
	if err != nil || all.Get("X-Pan") != "4242424242424242" || all.Get("X-Other") != "4242" || all.Get("Bt-Secret") != in.Get("Bt-Secret") {
		t.Errorf("Headers = %v, %v; want every header but the control one resolved", all, err)
	}
	if none, _ := d.Header(context.Background(), in, nil); none.Get("X-Pan") != in.Get("X-Pan") {
		t.Errorf("Header with no names resolved %v", none)
	}
}

// One memo serves the request: the limit counts unique tokens across parts.
func TestDetokenizerLimitSpansParts(t *testing.T) {
	d := NewDetokenizer(expr.Options{MaxTokens: 1}, resolver)
	ctx := context.Background()
	if _, err := d.Header(ctx, http.Header{"X-A": {"{{ " + cardID + " }}"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Query(ctx, "again=%7B%7B+"+cardID+"+%7D%7D"); err != nil {
		t.Errorf("the same token again: %v", err)
	}
	var tm *expr.TooManyTokensError
	if _, err := d.Body(ctx, "application/json", []byte(`{"o":"{{ `+objID+` }}"}`)); !errors.As(err, &tm) {
		t.Errorf("a second token: %v, want too many tokens", err)
	}
}

func TestMayHold(t *testing.T) {
	d := NewDetokenizer(expr.Options{}, resolver)
	for _, tc := range []struct {
		h    http.Header
		q    string
		want bool
	}{
		{nil, "a=1", false},
		{nil, "a=%7b%7B", true},
		{nil, "a={{", true},
		{http.Header{"Bt-X": {"{{ x }}"}}, "", false},
		{http.Header{"X": {"{{ x }}"}}, "", true},
	} {
		if got := d.MayHold(tc.h, tc.q); got != tc.want {
			t.Errorf("MayHold(%v, %q) = %v", tc.h, tc.q, got)
		}
	}
}
