package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// decode parses JSON the way request bodies are decoded (json.Number).
func decode(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// evalTyped evaluates a template with data bound, typed when it is a lone expression.
func evalTyped(e *Engine, src string, data any) (any, error) {
	return e.EvalMask(src, data)
}

const (
	cardData  = `{"number":"3622720627165567","expiration_month":10,"expiration_year":2028}`
	booksData = `{"books":[{"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553-21311-3","price":8.99},
		{"category":"fantasy","author":"J. R. R. Tolkien","title":"The Lord of the Rings","isbn":"0-395-19395-8","price":22.99}],
		"bicycle":{"color":"red","price":19.95},
		"bicycles":[{"color":"red","price":19.95},{"color":"blue","price":24.95}],
		"numeric_value":3.14159,"boolean_value":true,"string_value":"foo",
		"true_string":"true","false_string":"false","int_string":"42","decimal_string":"3.14159"}`
)

func TestFilters(t *testing.T) {
	e := NewEngine()
	tests := []struct {
		name string
		data string // JSON
		expr string
		want any // string, number (json.Number/int64/float64), bool, nil, or map via JSON text "json:..."
	}{
		// json (JSONPath)
		{"json string", booksData, `{{ data | json: '$.bicycle.color' }}`, "red"},
		{"json number typed", booksData, `{{ data | json: '$.bicycle.price' }}`, json.Number("19.95")},
		{"liquid property", booksData, `{{ data.bicycle.color }}`, "red"},
		{"liquid object", booksData, `{{ data.bicycle }}`, `json:{"color":"red","price":19.95}`},
		{"json index", booksData, `{{ data | json: '$.books[0].author' }}`, "Herman Melville"},
		{"json filter script over json.Number", booksData, `{{ data | json: '$.books[?(@.price < 10)].title' }}`, "Moby Dick"},
		{"json none is nil", booksData, `{{ data | json: '$.nonexistent' }}`, nil},
		{"liquid missing is nil", booksData, `{{ data.nonexistent }}`, nil},
		{"json double quotes", booksData, `{{ data | json: "$.bicycle.color" }}`, "red"},
		{"json no arg is JSON text", `{"a":1}`, `{{ data | json }}`, `{"a":1}`},

		// last4
		{"last4", cardData, `{{ data.number | last4 }}`, "5567"},
		{"last4 after slice", cardData, `{{ data.number | slice: 12, 2 | last4 }}`, "55"},
		{"last4 short", `"12"`, `{{ data | last4 }}`, "12"},
		{"last4 null", `null`, `{{ data | last4 }}`, nil},

		// pad_left / pad_right
		{"pad_left 0", `"1234"`, `{{ data | pad_left: 6, '0' }}`, "001234"},
		{"pad_left X", `"1234"`, `{{ data | pad_left: 6, 'X' }}`, "XX1234"},
		{"pad_left equal", `"1234"`, `{{ data | pad_left: 4, '0' }}`, "1234"},
		{"pad_left shorter", `"1234"`, `{{ data | pad_left: 2, '0' }}`, "1234"},
		{"pad_left number", `3`, `{{ data | pad_left: 2, '0' }}`, "03"},
		{"pad_left null", `null`, `{{ data | pad_left: 2, '0' }}`, nil},
		{"pad_right 0", `"1234"`, `{{ data | pad_right: 6, '0' }}`, "123400"},
		{"pad_right X", `"1234"`, `{{ data | pad_right: 6, 'X' }}`, "1234XX"},
		{"pad_right equal", `"1234"`, `{{ data | pad_right: 4, '0' }}`, "1234"},
		{"pad_right shorter", `"1234"`, `{{ data | pad_right: 2, '0' }}`, "1234"},

		// reveal
		{"reveal 6", `"3622-7206-2716-5567"`, `{{ data | reveal: 6 }}`, "3622-7XXXXXXXXXXXXX"},
		{"reveal 7,5", `"3622-7206-2716-5567"`, `{{ data | reveal: 7, 5 }}`, "3622-72XXXXXXX-5567"},
		{"reveal mask char", `"3622-7206-2716-5567"`, `{{ data | reveal: 7, 5, '#' }}`, "3622-72#######-5567"},
		{"reveal preserve", `"3622-7206-2716-5567"`, `{{ data | reveal: 7, 4, '#', "-" }}`, "3622-72##-####-5567"},
		{"reveal all", `"3622-7206-2716-5567"`, `{{ data | reveal: 10, 9 }}`, "XXXXXXXXXXXXXXXXXXX"},
		{"reveal unchanged masks all", `"--"`, `{{ data | reveal: 0, 0, 'X', '-' }}`, "XX"},

		// reveal_last (masks)
		{"reveal_last 6", `"36227206271667"`, `{{ data | reveal_last: 6 }}`, "XXXXXXXX271667"},
		{"reveal_last char", `"36227206271667"`, `{{ data | reveal_last: 3, '#' }}`, "###########667"},
		{"ssn mask dashes", `"123-45-6789"`, `{{ data | reveal_last: 4 }}`, "XXX-XX-6789"},
		{"ssn mask plain", `"123456789"`, `{{ data | reveal_last: 4 }}`, "XXXXX6789"},
		{"ein mask", `"12-3456789"`, `{{ data | reveal_last: 4 }}`, "XX-XXX6789"},
		{"card_number mask", `"4242424242424242"`, `{{ data | reveal_last: 4 }}`, "XXXXXXXXXXXX4242"},
		{"reveal_last longer", `"123"`, `{{ data | reveal_last: 4 }}`, "123"},

		// stringify / json_stringify
		{"stringify number", booksData, `{{ data.books[0].price | stringify }}`, "8.99"},
		{"stringify string", booksData, `{{ data.books[1].title | stringify }}`, "The Lord of the Rings"},
		{"stringify object", booksData, `{{ data.bicycles[1] | stringify }}`, `{"color":"blue","price":24.95}`},
		{"stringify array", booksData, `{{ data.bicycles | stringify }}`, `[{"color":"red","price":19.95},{"color":"blue","price":24.95}]`},
		{"json_stringify", `{"a":"<b>"}`, `{{ data | json_stringify }}`, `{"a":"<b>"}`},
		{"stringify null", `null`, `{{ data | stringify }}`, nil},

		// casts
		{"to_boolean true", booksData, `{{ data.true_string | to_boolean }}`, true},
		{"to_boolean false", booksData, `{{ data.false_string | to_boolean }}`, false},
		{"to_number int", booksData, `{{ data.int_string | to_number }}`, int64(42)},
		{"to_number decimal", booksData, `{{ data.decimal_string | to_number }}`, 3.14159},
		{"to_string number", booksData, `{{ data.numeric_value | to_string }}`, "3.14159"},
		{"to_string bool", booksData, `{{ data.boolean_value | to_string }}`, "true"},
		{"to_string string", booksData, `{{ data.string_value | to_string }}`, "foo"},
		{"to_string null", `null`, `{{ data | to_string }}`, nil},
		{"to_number null", `null`, `{{ data | to_number }}`, nil},

		// hmac / encodings. The card vector is the Basis Theory docs' one; the
		// docs' "secretText" vector is not HMAC-SHA256("secretKeyValue",
		// "secretText") (checked independently), so RFC 2104 values are used.
		{"hmac base64", `"secretText"`, `{{ data | hmac: 'sha-256', 'secretKeyValue' | to_base64 }}`, "IQEOEVbU1YuKZeuhAvcYwUbzZ6SnkUPeJyy5aZY6KMs="},
		{"hmac base16", `"secretText"`, `{{ data | hmac: 'sha-256', 'secretKeyValue' | to_base16 }}`, "21010E1156D4D58B8A65EBA102F718C146F367A4A79143DE272CB969963A28CB"},
		{"hmac sha-512", `"abc"`, `{{ data | hmac: 'sha-512', 'k' | to_base16 | slice: 0, 16 }}`, "BB9EC7701F7DE8A3"},
		{"hmac card", `"4242424242424242"`, `{{ data | hmac: 'sha-256', 'secretKeyValue' | to_base16 }}`, "90A0050E90515101DCAD0F68955370CCA81F6DCB9D299E7E0585CC9746716D9B"},
		{"hmac key only", `"secretText"`, `{{ data | hmac: 'secretKeyValue' | to_base16 }}`, "21010E1156D4D58B8A65EBA102F718C146F367A4A79143DE272CB969963A28CB"},
		{"to_base64 text", `"hello"`, `{{ data | to_base64 }}`, "aGVsbG8="},
		{"to_base16 text", `"hi"`, `{{ data | to_base16 }}`, "6869"},

		// card_bin
		{"card_bin 16", cardData, `{{ data.number | card_bin }}`, "36227206"},
		{"card_bin 15", `"378282246310005"`, `{{ data | card_bin }}`, "378282"},
		{"card_bin separator", `"4242-4242-4242-4242"`, `{{ data | card_bin: '-' }}`, "42424242"},
		{"card_bin card object", cardData, `{{ data | card_bin }}`, "36227206"},

		// card_exp
		{"card_exp MM", cardData, `{{ data | card_exp: 'MM' }}`, "10"},
		{"card_exp MMYY", cardData, `{{ data | card_exp: 'MMYY' }}`, "1028"},
		{"card_exp MM/YY", cardData, `{{ data | card_exp: 'MM/YY' }}`, "10/28"},
		{"card_exp YYYY", cardData, `{{ data | card_exp: 'YYYY' }}`, "2028"},
		{"card_exp YYYY-MM", cardData, `{{ data | card_exp: 'YYYY-MM' }}`, "2028-10"},
		{"card_exp YYYY/MM", cardData, `{{ data | card_exp: 'YYYY/MM' }}`, "2028/10"},
		{"card_exp MM/YYYY", cardData, `{{ data | card_exp: 'MM/YYYY' }}`, "10/2028"},
		{"card_exp MM_YYYY", cardData, `{{ data | card_exp: 'MM_YYYY' }}`, "10_2028"},
		{"card_exp MM-YYYY", cardData, `{{ data | card_exp: 'MM-YYYY' }}`, "10-2028"},
		{"card_exp padded month", `{"expiration_month":"02","expiration_year":2031}`, `{{ data | card_exp: 'MM/YY' }}`, "02/31"},
		{"card_exp exp_ keys", `{"exp_month":4,"exp_year":2026}`, `{{ data | card_exp: 'MM/YYYY' }}`, "04/2026"},
		{"card_exp string", `"4/2026"`, `{{ data | card_exp: 'YYYY-MM' }}`, "2026-04"},

		// card_mask
		{"card_mask none", cardData, `{{ data.number | card_mask: 'false', 'false', 'X', '-' }}`, "XXXXXXXXXXXXXXXX"},
		{"card_mask bin", cardData, `{{ data.number | card_mask: 'true', 'false', 'X', '-' }}`, "36227206XXXXXXXX"},
		{"card_mask bin last4", cardData, `{{ data.number | card_mask: 'true', 'true', '#', '-' }}`, "36227206####5567"},
		{"card_mask last4", cardData, `{{ data.number | card_mask: 'false', 'true', 'X', '-' }}`, "XXXXXXXXXXXX5567"},
		{"card_mask delim none", `"3622-7206-2716-5567"`, `{{ data | card_mask: 'false', 'false', 'X', '-' }}`, "XXXX-XXXX-XXXX-XXXX"},
		{"card_mask delim bin", `"3622-7206-2716-5567"`, `{{ data | card_mask: 'true', 'false', 'X', '-' }}`, "3622-7206-XXXX-XXXX"},
		{"card_mask delim both", `"3622-7206-2716-5567"`, `{{ data | card_mask: 'true', 'true', '#', '-' }}`, "3622-7206-####-5567"},
		{"card_mask delim last4", `"3622-7206-2716-5567"`, `{{ data | card_mask: 'false', 'true', 'X', '-' }}`, "XXXX-XXXX-XXXX-5567"},
		{"card_mask bools", cardData, `{{ data.number | card_mask: true, true }}`, "36227206XXXX5567"},
		{"card_mask 15 digits", `"378282246310005"`, `{{ data | card_mask: true, true }}`, "378282XXXXX0005"},

		// standard Liquid filters
		{"upcase", `{"name":"John Doe"}`, `{{ data.name | split: ' ' | last | upcase }}`, "DOE"},
		{"first", `{"email":"jane@example.com"}`, `{{ data.email | split: '@' | first }}`, "jane"},
		{"slice", `{"zip":"10010-1234"}`, `{{ data.zip | slice: 0, 5 }}`, "10010"},
		{"slice negative", `2025`, `{{ data | to_string | slice: -2, 2 }}`, "25"},
		{"slice out of range", `"abc"`, `{{ data | slice: 10, 2 }}`, ""},
		{"remove", `"123-45-6789"`, `{{ data | remove: '-' }}`, "123456789"},
		{"replace one arg removes", `"123-45-6789"`, `{{ data | replace: '-' }}`, "123456789"},
		{"replace two args", `"123-45-6789"`, `{{ data | replace: '-', '.' }}`, "123.45.6789"},
		{"date", `"2025-03-04T05:06:07Z"`, `{{ data | date: '%Y/%m/%d' }}`, "2025/03/04"},
		{"size", `[1,2,3]`, `{{ data | size }}`, 3},
		{"append", `"a"`, `{{ data | append: 'b' }}`, "ab"},
		{"default", `null`, `{{ data | default: 'x' }}`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalTyped(e, tt.expr, decode(t, tt.data))
			if err != nil {
				t.Fatalf("%s: %v", tt.expr, err)
			}
			if ws, ok := tt.want.(string); ok && strings.HasPrefix(ws, "json:") {
				b, _ := json.Marshal(got)
				if string(b) != ws[5:] {
					t.Fatalf("%s = %s, want %s", tt.expr, b, ws[5:])
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s = %#v, want %#v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	e := NewEngine()
	tests := []struct {
		data, expr, msg string
	}{
		{booksData, `{{ data | json: '$..author' }}`, "single value"},
		{booksData, `{{ data | json: '$.books[' }}`, "invalid JSONPath"},
		{`"abc"`, `{{ data | to_number }}`, "not a number"},
		{`"maybe"`, `{{ data | to_boolean }}`, "not a boolean"},
		{`{"a":1}`, `{{ data | to_string }}`, "object or array"},
		{`null`, `{{ data | to_base64 }}`, "null"},
		{`"x"`, `{{ data | hmac: 'md5', 'k' }}`, "unsupported algorithm"},
		{`"x"`, `{{ data | hmac: 'sha-256' }}`, "key is required"},
		{`{}`, `{{ data | card_exp: 'MM/YY' }}`, "expiration"},
		{cardData, `{{ data | card_exp }}`, "format is required"},
		{`"4242"`, `{{ data | alias_card: true, true }}`, "shorter"},
		{`"4242-abcd"`, `{{ data | alias_card }}`, "not a card number"},
		{`"abc"`, `{{ data | alias_preserve_format: 2, 1 }}`, "nothing to alias"},
		{`"abc"`, `{{ data | no_such_filter }}`, "undefined filter"},
		{`"abc"`, `{{ data | pad_left: 100000000, '0' }}`, "length exceeds"},
		{`"abc"`, `{{ (1..100000000) | join }}`, "range literals"},
		{`"abc"`, `{{ data | }}`, "syntax error"},
	}
	for _, tt := range tests {
		_, err := evalTyped(e, tt.expr, decode(t, tt.data))
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Errorf("%s: err = %v, want *ExprError", tt.expr, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %q, want it to mention %q", tt.expr, err, tt.msg)
		}
	}
}

func TestErrorsDoNotLeakData(t *testing.T) {
	e := NewEngine()
	secret := "4242abcSECRET"
	for _, src := range []string{
		`{{ data | plus: 1 }}`, `{{ data | to_number }}`, `{{ data | date: 5 }}`,
		`{{ data | to_boolean }}`, `{{ data | card_exp: 'MM' }}`,
	} {
		_, err := e.EvalString(src, map[string]any{"data": secret})
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error leaks data: %v", src, err)
		}
	}
}

var digitsOnly = regexp.MustCompile(`^[0-9]+$`)

func luhnValid(s string) bool {
	var ds []int
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			ds = append(ds, int(s[i]-'0'))
		}
	}
	sum := 0
	for j, d := range ds {
		sum += luhnDigit(d, (len(ds)-1-j)%2 == 1)
	}
	return len(ds) > 0 && sum%10 == 0
}

func TestAliasFilters(t *testing.T) {
	e := NewEngine()
	run := func(src string, data any) string {
		t.Helper()
		s, err := e.EvalString(src, map[string]any{"data": data})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return s
	}
	for i := 0; i < 50; i++ {
		// §7.3: {{ data | alias_preserve_format: 0, 4 }} on 111-22-3333 → 830-46-3333
		if got := run(`{{ data | alias_preserve_format: 0, 4 }}`, "111-22-3333"); !regexp.MustCompile(`^\d{3}-\d{2}-3333$`).MatchString(got) {
			t.Fatalf("alias_preserve_format ssn = %q", got)
		}
		if got := run(`{{ data | alias_preserve_format: 3, 5 }}`, "ABC12345DEF67890"); !regexp.MustCompile(`^ABC\d{5}[A-Z]{3}67890$`).MatchString(got) {
			t.Fatalf("alias_preserve_format reveal = %q", got)
		}
		if got := run(`{{ data | alias_preserve_format }}`, "ab 12.Z"); !regexp.MustCompile(`^[a-z]{2} \d{2}\.[A-Z]$`).MatchString(got) {
			t.Fatalf("alias_preserve_format classes = %q", got)
		}
		if got := run(`{{ data | alias_preserve_length: 3, 5 }}`, "ABC12345DEF67890"); !regexp.MustCompile(`^ABC[a-z0-9]{8}67890$`).MatchString(got) {
			t.Fatalf("alias_preserve_length = %q", got)
		}
		if got := run(`{{ data | alias_preserve_length }}`, "a-b c"); !regexp.MustCompile(`^[a-z0-9]{5}$`).MatchString(got) {
			t.Fatalf("alias_preserve_length punctuation = %q", got)
		}
		email := run(`{{ data.email | split: '@' | first | alias_preserve_length }}@{{ data.email | split: '@' | last }}`,
			map[string]any{"email": "jane.doe@example.com"})
		if !regexp.MustCompile(`^[a-z0-9]{8}@example\.com$`).MatchString(email) {
			t.Fatalf("email alias = %q", email)
		}

		const card = "3622720627165567"
		for _, tc := range []struct {
			expr, prefix, suffix string
		}{
			{`{{ data | alias_card }}`, "", ""},
			{`{{ data | alias_card: 'false', 'false' }}`, "", ""},
			{`{{ data | alias_card: 'true', 'false' }}`, "36227206", ""},
			{`{{ data | alias_card: 'true', 'true' }}`, "36227206", "5567"},
			{`{{ data | alias_card: false, true }}`, "", "5567"},
		} {
			got := run(tc.expr, card)
			if len(got) != len(card) || !digitsOnly.MatchString(got) || !luhnValid(got) ||
				!strings.HasPrefix(got, tc.prefix) || !strings.HasSuffix(got, tc.suffix) || got == card {
				t.Fatalf("%s = %q", tc.expr, got)
			}
		}
		got := run(`{{ data | alias_card: 'true', 'true' }}`, "3622-7206-2716-5567")
		if !regexp.MustCompile(`^3622-7206-\d{4}-5567$`).MatchString(got) || !luhnValid(got) {
			t.Fatalf("alias_card delimiters = %q", got)
		}
		got = run(`{{ data | alias_card: true }}`, "378282246310005") // 15 digits: 6-digit BIN
		if !strings.HasPrefix(got, "378282") || len(got) != 15 || !luhnValid(got) {
			t.Fatalf("alias_card amex = %q", got)
		}
	}
}

func TestEvalStringUses(t *testing.T) {
	e := NewEngine()
	bank := map[string]any{"account_number": "000123456789", "routing_number": "110000000"}
	tests := []struct {
		expr string
		vars map[string]any
		want string
	}{
		// fingerprint expressions (§7.1/§7.2)
		{`{{ data | stringify }}`, map[string]any{"data": map[string]any{"b": 1, "a": "x"}}, `{"a":"x","b":1}`},
		{`{{ data | stringify }}`, map[string]any{"data": "plain"}, "plain"},
		{`{{ data.number }}`, map[string]any{"data": decode(t, cardData)}, "3622720627165567"},
		{`{{ data.account_number }}|{{ data.routing_number }}`, map[string]any{"data": bank}, "000123456789|110000000"},
		{`{{ data | remove: '-' }}`, map[string]any{"data": "123-45-6789"}, "123456789"},
		{`{{ metadata.customer }}:{{ data }}`, map[string]any{"data": "x", "metadata": map[string]any{"customer": "c1"}}, "c1:x"},
		// search indexes (§7.5)
		{`{{ data }}`, map[string]any{"data": "123-45-6789"}, "123-45-6789"},
		{`{{ data | replace: '-' }}`, map[string]any{"data": "123-45-6789"}, "123456789"},
		{`{{ data | last4 }}`, map[string]any{"data": "123-45-6789"}, "6789"},
		{`{{ data.card.owner.last_name | upcase }}`, map[string]any{"data": decode(t, `{"card":{"owner":{"last_name":"Smith"}}}`)}, "SMITH"},
		{`{{ data.billing_address.zip | slice: 0, 5 }}`, map[string]any{"data": decode(t, `{"billing_address":{"zip":"10010-1234"}}`)}, "10010"},
		// text, objects, nil, tags
		{`plain text`, nil, "plain text"},
		{`id-{{ data.missing }}-x`, map[string]any{"data": map[string]any{}}, "id--x"},
		{`{{ data }}`, map[string]any{"data": map[string]any{"a": []any{1, "b"}}}, `{"a":[1,"b"]}`},
		{`{{ data.n }}`, map[string]any{"data": decode(t, `{"n":12.50}`)}, "12.50"},
		{`{{ data.n }}`, map[string]any{"data": map[string]any{"n": 2028.0}}, "2028"},
		{`{% if data.kind == 'a' %}A{% else %}B{% endif %}-{{ data.v | upcase }}`, map[string]any{"data": map[string]any{"kind": "a", "v": "x"}}, "A-X"},
		{`{{- data -}} `, map[string]any{"data": "trim"}, "trim"},
		{`Loading... {% if true %}ok{% endif %}`, nil, "Loading... ok"},
	}
	for _, tt := range tests {
		got, err := e.EvalString(tt.expr, tt.vars)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
		}
	}
	if _, err := e.EvalString(`{% include '/etc/passwd' %}`, nil); err == nil {
		t.Error("include must be refused")
	}
	if _, err := e.EvalString(`{% for i in (1..100000000) %}x{% endfor %}`, nil); err == nil {
		t.Error("range literals must be refused")
	}
	if _, err := e.EvalString(`{{ data `, nil); err == nil {
		t.Error("unterminated expression must fail")
	}
}

func TestEvalMask(t *testing.T) {
	e := NewEngine()
	card := decode(t, `{"number":"4242424242424242","expiration_month":12,"expiration_year":2025,"cvc":"123"}`)
	mask := decode(t, `{"number":"{{ data.number | reveal_last: 4 }}","expiration_month":"{{ data.expiration_month }}","expiration_year":"{{ data.expiration_year }}"}`)
	got, err := e.EvalMask(mask, card)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": json.Number("12"), "expiration_year": json.Number("2025")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("card mask = %#v, want %#v (cvc dropped, typed leaves)", got, want)
	}

	bank := map[string]any{"routing_number": "110000000", "account_number": "1234567890"}
	got, err = e.EvalMask(map[string]any{"routing_number": "{{ data.routing_number }}", "account_number": "{{ data.account_number | reveal_last: 4 }}"}, bank)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"routing_number": "110000000", "account_number": "XXXXXX7890"}) {
		t.Fatalf("bank mask = %#v, %v", got, err)
	}

	got, err = e.EvalMask("{{ data | reveal_last: 4 }}", "123-45-6789")
	if err != nil || got != "XXX-XX-6789" {
		t.Fatalf("ssn mask = %#v, %v", got, err)
	}

	nested := map[string]any{"owner": map[string]any{"name": "{{ data.owner.name | slice: 0, 1 }}***", "tags": []any{"{{ data.owner.tag }}", true}}, "const": json.Number("7")}
	data := map[string]any{"owner": map[string]any{"name": "Jane", "tag": "vip", "ssn": "x"}, "other": 1}
	got, err = e.EvalMask(nested, data)
	want = map[string]any{"owner": map[string]any{"name": "J***", "tags": []any{"vip", true}}, "const": json.Number("7")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("nested mask = %#v, %v", got, err)
	}

	if _, err := e.EvalMask(map[string]any{"a": "{{ data | nope }}"}, "x"); err == nil {
		t.Fatal("bad mask leaf must fail")
	}
}

func TestCacheBounded(t *testing.T) {
	c := newLRU[int](3)
	for i, k := range []string{"a", "b", "c", "d"} {
		c.put(k, i)
	}
	if c.len() != 3 {
		t.Fatalf("len = %d", c.len())
	}
	if _, ok := c.get("a"); ok {
		t.Fatal("oldest entry not evicted")
	}
	c.get("b") // b becomes most recent
	c.put("e", 5)
	if _, ok := c.get("c"); ok {
		t.Fatal("LRU order not respected")
	}
	if v, ok := c.get("b"); !ok || v != 1 {
		t.Fatal("recently used entry evicted")
	}
	c.put(strings.Repeat("k", maxCachedKey+1), 1)
	if c.len() != 3 {
		t.Fatal("oversized key cached")
	}

	e := NewEngine()
	for i := 0; i < cacheSize+100; i++ {
		src := "{{ data | append: '" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "' | size }}" + strings.Repeat(" ", i/50)
		if _, err := e.EvalString(src, map[string]any{"data": "y"}); err != nil {
			t.Fatal(err)
		}
	}
	if e.tmpls.len() > cacheSize || e.exprs.len() > cacheSize {
		t.Fatalf("caches exceed bound: %d %d", e.tmpls.len(), e.exprs.len())
	}
}

func TestConcurrentEval(t *testing.T) {
	e := NewEngine()
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				var s string
				s, err = e.EvalString(`{{ data | reveal_last: 4 }}|{{ data | json: '$' | last4 }}`, map[string]any{"data": "123-45-6789"})
				if err == nil && s != "XXX-XX-6789|6789" {
					err = errors.New("bad result " + s)
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestJSONPathHyphenatedMembers: dot-notation members with '-' (header
// names, as the hosted docs write `$.request.headers.X-User-Id`) select
// like their bracket form (the rewrite: jsonpath's TestBracketHyphenated).
func TestJSONPathHyphenatedMembers(t *testing.T) {
	doc := map[string]any{"request": map[string]any{"headers": map[string]any{"X-User-Id": "42"}}}
	got, err := NewEngine().jsonPath(doc, "$.request.headers.X-User-Id")
	if err != nil || got != "42" {
		t.Fatalf("jsonPath: %v, %v", got, err)
	}
}
