package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/expr"
)

const (
	cardID = "3f0c1c6e-2f39-4a3e-9c57-0d2d2d2d2d2d"
	objID  = "8a1b2c3d-0000-4000-8000-000000000001"
)

var tokens = map[string]map[string]any{
	cardID: {"id": cardID, "type": "card_number", "data": "4242424242424242"},
	objID:  {"id": objID, "type": "token", "data": map[string]any{"name": "Ada <&>", "n": json.Number("1.50")}},
}

var resolver = expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) {
	if t, ok := tokens[id]; ok {
		return expr.FromObject(t), nil
	}
	return expr.Token{}, expr.ErrNotFound
})

func TestDetokenizeBodyKeepsEveryOtherByte(t *testing.T) {
	opts := Options{StringPrimitives: true}
	for _, tc := range []struct{ ct, in, want string }{
		{"application/json",
			`{ "z" : 1.50, "pan":"{{ ` + cardID + ` }}", "who":"{{ ` + objID + ` }}", "s":"x {{ ` + cardID + ` | last4 }}" }`,
			`{ "z" : 1.50, "pan":"4242424242424242", "who":{"n":1.50,"name":"Ada <&>"}, "s":"x 4242" }`},
		{"application/json", `["no expressions", {"k": "{{ a/b }}", "t": "{{}}"}]`, ``},
		{"application/json", `{"q\"{{ ` + cardID + ` }}":"say \"{{ ` + cardID + ` | last4 }}\"","b":"\\"}`,
			`{"q\"{{ ` + cardID + ` }}":"say \"4242\"","b":"\\"}`},
		{"application/x-www-form-urlencoded", `a=1&pan=%7B%7B+` + cardID + `+%7D%7D`, `a=1&pan=4242424242424242`},
		{"text/plain", `card={{ ` + cardID + ` | card_bin }}`, `card=42424242`},
	} {
		out, err := DetokenizeBody(context.Background(), tc.ct, []byte(tc.in), opts, resolver)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		want := tc.want
		if want == "" {
			want = tc.in
		}
		if string(out) != want {
			t.Errorf("%s\n got  %s\n want %s", tc.in, out, want)
		}
	}
}

// FuzzDetokenizeBody: the rewriter never panics; a failure returns no
// body at all (nothing half substituted goes out); a JSON body stays
// valid JSON; and no known token's expression survives a success.
func FuzzDetokenizeBody(f *testing.F) {
	for _, s := range []string{
		`{"pan":"{{ ` + cardID + ` }}","x":[1,"{{ ` + objID + ` | json: '$.name' }}"]}`,
		`{"a":"{{ ` + cardID + ` }} and {{ ` + cardID + ` | last4 }}"}`,
		`{"k":"\u007b\u007b ` + cardID + ` }}"}`,
		`{"bad":"{{ ` + cardID + ` | json: '$.[' }}"}`,
		`{"unknown":"{{ 11111111-2222-4333-8444-555555555555 }}"}`,
		`["{{", "}}", "{{}}"]`, `not json {{ ` + cardID + ` }}`,
		// Escaped quotes and backslashes around and inside expressions.
		`{"a":"x\"{{ ` + cardID + ` }}\"y","k\"{{":"{{ ` + cardID + ` | last4 }}","b":"\\{{ ` + cardID + ` }}\\"}`,
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		ct := "text/plain"
		if asJSON {
			ct = "application/json"
		}
		out, err := DetokenizeBody(context.Background(), ct, []byte(body), Options{MaxTokens: 100, StringPrimitives: true}, resolver)
		if err != nil {
			if out != nil {
				t.Fatalf("error %v but a body was returned", err)
			}
			return
		}
		if asJSON && json.Valid([]byte(body)) && !json.Valid(out) {
			t.Fatalf("valid JSON in, invalid out:\n in  %s\n out %s", body, out)
		}
		if asJSON && json.Valid(out) {
			var v any
			_ = json.Unmarshal(out, &v)
			enc, _ := json.Marshal(v)
			for id := range tokens {
				if bytes.Contains(enc, []byte("{{ "+id+" }}")) && strings.Contains(body, "{{ "+id+" }}") && json.Valid([]byte(body)) {
					t.Fatalf("expression for %s survived:\n in  %s\n out %s", id, body, out)
				}
			}
		}
	})
}

func TestMayHoldExpressions(t *testing.T) {
	for _, c := range []struct {
		ctype, encoding string
		want            bool
	}{
		{"application/json", "", true},
		{"application/vnd.api+json; charset=utf-8", "", true},
		{"application/x-www-form-urlencoded", "", true},
		{"text/plain", "", true},
		{"application/xml", "", true},
		{"multipart/form-data; boundary=x", "", true},
		{"", "", true},
		{"not a type", "", true},
		{"application/json", "identity", true},
		{"application/json", "gzip", false},
		{"application/octet-stream", "", false},
		{"image/png", "", false},
		{"video/mp4", "", false},
		{"application/pdf", "", false},
		{"application/grpc", "", false},
	} {
		h := http.Header{}
		if c.ctype != "" {
			h.Set("Content-Type", c.ctype)
		}
		if c.encoding != "" {
			h.Set("Content-Encoding", c.encoding)
		}
		if got := MayHoldExpressions(h); got != c.want {
			t.Errorf("Content-Type %q, Content-Encoding %q: %v, want %v", c.ctype, c.encoding, got, c.want)
		}
	}
}
