package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
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

// marshalStd is what Marshal gave before it wrote values itself:
// encoding/json all the way down, Objects through their MarshalJSON.
func marshalStd(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stdValue(v)); err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(b.String(), "\n")
}

// stdObject encodes its members through encoding/json only.
type stdObject struct{ o *Object }

func (s stdObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range s.o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, part := range []any{k, stdValue(s.o.Values[k])} {
			if j == 1 {
				b.WriteByte(':')
			}
			var e bytes.Buffer
			enc := json.NewEncoder(&e)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(part); err != nil {
				return nil, err
			}
			b.Write(bytes.TrimRight(e.Bytes(), "\n"))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func stdValue(v any) any {
	switch x := v.(type) {
	case *Object:
		if x == nil {
			return nil
		}
		return stdObject{x}
	case []any:
		if x == nil {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stdValue(e)
		}
		return out
	}
	return v
}

// Marshal writes exactly what encoding/json writes (without HTML
// escaping), for every kind of value and every string that needs escaping.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "4242424242424242", `q"uote`, `back\slash`, "<&>", "tab\tnl\n", "\x00\x1f\x7f",
		"é日本", "\u2028\u2029", "bad\xffutf8", "emoji 😀"}
	var vals []any
	for _, s := range strs {
		vals = append(vals, s)
	}
	vals = append(vals, nil, true, false, json.Number("12.50"), json.Number("-0"), json.Number("1e-7"), json.Number(""), 3.25, 7, int64(-9), []any(nil), []any{},
		(*Object)(nil), map[string]any{"b": 1, "a": "<x>"}, struct {
			A string `json:"a"`
		}{"s"})
	rnd := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) any
	gen = func(depth int) any {
		if depth > 3 || rnd.IntN(3) == 0 {
			return vals[rnd.IntN(len(vals))]
		}
		if rnd.IntN(2) == 0 {
			o := &Object{Values: map[string]any{}}
			for range rnd.IntN(4) {
				o.Set(strs[rnd.IntN(len(strs))], gen(depth+1))
			}
			return o
		}
		arr := []any{}
		for range rnd.IntN(4) {
			arr = append(arr, gen(depth+1))
		}
		return arr
	}
	for i := range 3000 {
		v := gen(0)
		got, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalStd(t, v); string(got) != want {
			t.Fatalf("value %d:\n got  %s\n want %s", i, got, want)
		}
	}
	// A json.Number that is not a number is refused, as encoding/json does.
	for _, bad := range []json.Number{"1x", "01", "-", " 1", "1."} {
		if _, err := Marshal(bad); err == nil {
			t.Errorf("Marshal(json.Number(%q)) gave no error", bad)
		}
	}
	// Inside a value encoding/json encodes, an Object is the same text.
	in := map[string]any{"o": FromMap(map[string]any{"z": "<", "a": []any{json.Number("1")}})}
	got, _ := Marshal(in)
	if want := marshalStd(t, in); string(got) != want {
		t.Fatalf("nested in a map:\n got  %s\n want %s", got, want)
	}
}

// decodeStd is Decode as it was, over encoding/json's token stream: the
// oracle Decode is checked against.
func decodeStd(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value func(depth int) (any, error)
	value = func(depth int) (any, error) {
		if depth > maxDepth {
			return nil, ErrTooDeep
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return tok, nil
		}
		if d == '{' {
			o := &Object{Values: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := value(depth + 1)
				if err != nil {
					return nil, err
				}
				if _, dup := o.Values[kt.(string)]; !dup {
					o.Keys = append(o.Keys, kt.(string))
				}
				o.Values[kt.(string)] = v
			}
			_, err := dec.Token()
			return o, err
		}
		arr := []any{}
		for dec.More() {
			v, err := value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	v, err := value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

var decodeSeeds = []string{
	`{"zulu":"z","alpha":{"b":1.50,"a":[1e3,-0,"<&>"]},"mid":null,"t":true}`, `[{"b":1,"a":2},[],{}]`,
	`"plain"`, `12345678901234567890`, `null`, ` [ 1 , 2 ] `, `{"a":1,"a":2,"b":3}`, `"\ud83d\ude00 \ud83d x \udc00 \u00e9 \/\b\f\n\r\t\"\\"`,
	`"\ud800\u0041"`, `"\u12"`, `"\x"`, `{"a":}`, `{"a":1} x`, `[1,2`, ``, `{"a" 1}`, `[1,]`, `{"a":1,}`, `01`, `-`, `1.`, `1e`, `1e+`,
	`-0.5E-7`, `tru`, `nul`, `"a` + "\x01" + `"`, `[` + "\t\n\r" + `]`, `{} {}`, `"é日本"`, `1 2`, `[1 2]`, `{"a":1 "b":2}`, "\xff",
}

// Decode accepts and rejects exactly what the token-stream decoder did,
// and gives the same values.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := Decode(data)
		want, werr := decodeStd(data)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: Decode err %v, encoding/json err %v", data, gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode %#v, encoding/json %#v", data, got, want)
		}
	})
}

func TestDecodeDeepNesting(t *testing.T) {
	for _, n := range []int{maxDepth, maxDepth + 1, maxDepth + 2} {
		in := strings.Repeat("[", n) + strings.Repeat("]", n)
		_, gerr := Decode([]byte(in))
		_, werr := decodeStd([]byte(in))
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("depth %d: Decode err %v, encoding/json err %v", n, gerr, werr)
		}
	}
}

// benchDoc is a reactor's argument: a detokenized card and a configuration.
const benchDoc = `{"args":{"card":{"number":"4242424242424242","expiration_month":3,"expiration_year":2030,"cvc":"123"}},"configuration":{"MERCHANT":"m-1","KEY":"<secret & value>"}}`

// BenchmarkDecode compares Decode with the token-stream decoder it replaced.
func BenchmarkDecode(b *testing.B) {
	for name, decode := range map[string]func([]byte) (any, error){"Decode": Decode, "encoding-json-tokens": decodeStd} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode([]byte(benchDoc)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshal compares Marshal with encoding/json all the way down.
func BenchmarkMarshal(b *testing.B) {
	v, _ := Decode([]byte(benchDoc))
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			marshalStd(b, v)
		}
	})
}
