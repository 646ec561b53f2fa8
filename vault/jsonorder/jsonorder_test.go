package jsonorder

import (
	"encoding/json"
	"testing"
)

func TestRoundTripKeepsOrderAndNumbers(t *testing.T) {
	for _, in := range []string{
		`{"zulu":"z","alpha":{"b":1.50,"a":[1e3,-0,"<&>"]},"mid":null,"t":true}`,
		`[{"b":1,"a":2},[],{}]`,
		`"plain"`, `12345678901234567890`, `null`,
	} {
		v, err := Decode([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("round trip changed the JSON:\n in  %s\n out %s", in, out)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{`{"a":}`, `{"a":1} x`, `[1,2`, ``, `{"a" 1}`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("%q: expected an error", in)
		}
	}
	deep := make([]byte, 0, 2*(maxDepth+2))
	for i := 0; i < maxDepth+2; i++ {
		deep = append(deep, '[')
	}
	for i := 0; i < maxDepth+2; i++ {
		deep = append(deep, ']')
	}
	if _, err := Decode(deep); err != ErrTooDeep {
		t.Errorf("deep nesting: %v, want ErrTooDeep", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c"}]}`, `[]`, `"x"`, `{"k":1,"k":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Decode([]byte(in))
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("marshal of a decoded value failed: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		var a, b any
		if json.Unmarshal([]byte(in), &a) == nil && json.Unmarshal(out, &b) == nil {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("value changed: %s vs %s", ja, jb)
			}
		}
	})
}

// TestAppendMatchesMarshal: the fast path for plain strings writes what
// Marshal writes, and everything else goes through Marshal.
func TestAppendMatchesMarshal(t *testing.T) {
	for _, v := range []any{"4242424242424242", "", "a b~", `q"uote`, `back\slash`, "tab\t", "<&>",
		"café", "\u2028", "\xff", json.Number("1.50"), nil, true, []any{"x", 1.5}, map[string]any{"k": "v"}} {
		want, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Append([]byte("prefix:"), v)
		if err != nil || string(got) != "prefix:"+string(want) {
			t.Errorf("Append(%#v) = %q, %v; want prefix:%s", v, got, err, want)
		}
	}
}
