package token

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/problem"
)

// decode mimics the API layer: encoding/json with UseNumber.
func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestValidateScalars(t *testing.T) {
	tests := []struct {
		typ, data string // data is JSON
		errSubstr string // "" means valid
	}{
		// card_number
		{"card_number", `"4242424242424242"`, ""},
		{"card_number", `"36227206271667"`, ""},
		{"card_number", `"4222222222222"`, ""},       // 13 digits, Luhn-valid
		{"card_number", `"6011000000000000001"`, ""}, // 19 digits
		{"card_number", `"4242424242424241"`, "Luhn"},
		{"card_number", `"4242 4242 4242 4242"`, "only digits"},
		{"card_number", `"4242-4242-4242-4242"`, "only digits"},
		{"card_number", `"424242424242"`, "between 13 and 19"},
		{"card_number", `"42424242424242424242"`, "between 13 and 19"},
		{"card_number", `""`, "required"},
		{"card_number", `4242424242424242`, "must be a string"},
		{"card_number", `null`, "data is required"},
		{"card_number", `{"number":"4242424242424242"}`, "must be a string"},
		// us_bank_account_number
		{"us_bank_account_number", `"1234567890"`, ""},
		{"us_bank_account_number", `"123"`, ""},
		{"us_bank_account_number", `"12345678901234567"`, ""},
		{"us_bank_account_number", `"12"`, "between 3 and 17"},
		{"us_bank_account_number", `"123456789012345678"`, "between 3 and 17"},
		{"us_bank_account_number", `"12345a"`, "only digits"},
		// us_bank_routing_number
		{"us_bank_routing_number", `"021000021"`, ""},
		{"us_bank_routing_number", `"110000000"`, ""},
		{"us_bank_routing_number", `"011000015"`, ""},
		{"us_bank_routing_number", `"021000022"`, "ABA"},
		{"us_bank_routing_number", `"02100002"`, "9 digits"},
		{"us_bank_routing_number", `"0210000211"`, "9 digits"},
		{"us_bank_routing_number", `"02100002x"`, "only digits"},
		// social_security_number
		{"social_security_number", `"123456789"`, ""},
		{"social_security_number", `"123-45-6789"`, ""},
		{"social_security_number", `"123-456789"`, ""},
		{"social_security_number", `"12345-6789"`, ""},
		{"social_security_number", `"12-345-6789"`, "9 digits"},
		{"social_security_number", `"123--45-6789"`, "9 digits"},
		{"social_security_number", `"-123456789"`, "9 digits"},
		{"social_security_number", `"123456789-"`, "9 digits"},
		{"social_security_number", `"123 45 6789"`, "9 digits"},
		{"social_security_number", `"12345678"`, "9 digits"},
		{"social_security_number", `"1234567890"`, "9 digits"},
		{"social_security_number", `"123-45-678"`, "9 digits"},
		{"social_security_number", `123456789`, "must be a string"},
		// employer_id_number
		{"employer_id_number", `"123456789"`, ""},
		{"employer_id_number", `"12-3456789"`, ""},
		{"employer_id_number", `"123-45-6789"`, "9 digits"},
		{"employer_id_number", `"1-23456789"`, "9 digits"},
		{"employer_id_number", `"12-34567890"`, "9 digits"},
		// token
		{"token", `"Sensitive Value"`, ""},
		{"token", `""`, ""},
		{"token", `12.5`, ""},
		{"token", `false`, ""},
		{"token", `[1,{"a":null}]`, ""},
		{"token", `{"any":"thing"}`, ""},
		{"token", `null`, "data is required"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.data, func(t *testing.T) {
			in := decode(t, tt.data)
			got, errs := ValidateData(tt.typ, in)
			if tt.errSubstr == "" {
				if errs != nil {
					t.Fatalf("unexpected errors %v", errs)
				}
				if !reflect.DeepEqual(got, in) {
					t.Errorf("value changed: %#v -> %#v", in, got)
				}
				return
			}
			if len(errs["data"]) != 1 || !strings.Contains(errs["data"][0], tt.errSubstr) {
				t.Fatalf("errors = %v, want one on data containing %q", errs, tt.errSubstr)
			}
			if got != nil {
				t.Errorf("value %#v returned with errors", got)
			}
		})
	}
}

func TestValidateUnknownType(t *testing.T) {
	_, errs := ValidateData("zip", "12345")
	if len(errs["type"]) != 1 || len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
}

func TestLuhnAndABA(t *testing.T) {
	for _, c := range TestCards {
		if !LuhnValid(c) {
			t.Errorf("seed test card %s fails Luhn", c)
		}
		if _, errs := ValidateData("card_number", c); errs != nil {
			t.Errorf("seed test card %s rejected: %v", c, errs)
		}
		if !IsTestCard(c) {
			t.Errorf("IsTestCard(%s) = false", c)
		}
	}
	if len(TestCards) != 14 {
		t.Errorf("len(TestCards) = %d, want the 14 of seed 001", len(TestCards))
	}
	for _, s := range []string{"", "1", "x", "4242424242424241", "42424242424242a2", "-4242424242424242"} {
		if LuhnValid(s) {
			t.Errorf("LuhnValid(%q) = true", s)
		}
	}
	if !LuhnValid("0") || !LuhnValid("79927398713") { // classic examples
		t.Error("LuhnValid rejects a valid number")
	}
	if IsTestCard("4111111111111111") {
		t.Error("4111111111111111 is not a seed test card")
	}
	if !ABAValid(TestBankRoutingNumber) {
		t.Errorf("seed test routing number %s fails ABA", TestBankRoutingNumber)
	}
	if _, errs := ValidateData("bank", map[string]any{
		"routing_number": TestBankRoutingNumber, "account_number": TestBankAccountNumber,
	}); errs != nil {
		t.Errorf("seed test bank rejected: %v", errs)
	}
	for _, s := range []string{"", "021000022", "12345678", "0210000210", "02100002a"} {
		if ABAValid(s) {
			t.Errorf("ABAValid(%q) = true", s)
		}
	}
}

func TestNormalizeCard(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
		errs map[string]string // field -> substring
	}{
		{"full", `{"number":"4242424242424242","expiration_month":12,"expiration_year":2025,"cvc":"123"}`,
			map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2025, "cvc": "123"}, nil},
		{"number only", `{"number":"36227206271667"}`, map[string]any{"number": "36227206271667"}, nil},
		{"string month", `{"number":"4242424242424242","expiration_month":"02","expiration_year":"2030"}`,
			map[string]any{"number": "4242424242424242", "expiration_month": 2, "expiration_year": 2030}, nil},
		{"one-digit string month", `{"number":"4242424242424242","expiration_month":"7"}`,
			map[string]any{"number": "4242424242424242", "expiration_month": 7}, nil},
		{"integral float month", `{"number":"4242424242424242","expiration_month":3.0,"expiration_year":2.03e3}`,
			map[string]any{"number": "4242424242424242", "expiration_month": 3, "expiration_year": 2030}, nil},
		{"nulls are absent", `{"number":"4242424242424242","expiration_month":null,"expiration_year":null,"cvc":null}`,
			map[string]any{"number": "4242424242424242"}, nil},
		{"4-digit cvc", `{"number":"378282246310005","cvc":"1234"}`,
			map[string]any{"number": "378282246310005", "cvc": "1234"}, nil},
		{"missing number", `{"expiration_month":1}`, nil, map[string]string{"data.number": "required"}},
		{"null number", `{"number":null}`, nil, map[string]string{"data.number": "required"}},
		{"numeric number", `{"number":4242424242424242}`, nil, map[string]string{"data.number": "must be a string"}},
		{"bad luhn", `{"number":"4242424242424241"}`, nil, map[string]string{"data.number": "Luhn"}},
		{"spaces", `{"number":"4242 4242 4242 4242"}`, nil, map[string]string{"data.number": "only digits"}},
		{"short", `{"number":"424242424242"}`, nil, map[string]string{"data.number": "between 13 and 19"}},
		{"month 0", `{"number":"4242424242424242","expiration_month":0}`, nil, map[string]string{"data.expiration_month": "1 to 12"}},
		{"month 13", `{"number":"4242424242424242","expiration_month":13}`, nil, map[string]string{"data.expiration_month": "1 to 12"}},
		{"month -1", `{"number":"4242424242424242","expiration_month":-1}`, nil, map[string]string{"data.expiration_month": "1 to 12"}},
		{"month fraction", `{"number":"4242424242424242","expiration_month":1.5}`, nil, map[string]string{"data.expiration_month": "integer"}},
		{"month text", `{"number":"4242424242424242","expiration_month":"May"}`, nil, map[string]string{"data.expiration_month": "integer"}},
		{"month 3-char string", `{"number":"4242424242424242","expiration_month":"012"}`, nil, map[string]string{"data.expiration_month": "integer"}},
		{"month bool", `{"number":"4242424242424242","expiration_month":true}`, nil, map[string]string{"data.expiration_month": "integer"}},
		{"year 2 digits", `{"number":"4242424242424242","expiration_year":25}`, nil, map[string]string{"data.expiration_year": "four-digit"}},
		{"year 5 digits", `{"number":"4242424242424242","expiration_year":20250}`, nil, map[string]string{"data.expiration_year": "four-digit"}},
		{"year string 2 digits", `{"number":"4242424242424242","expiration_year":"25"}`, nil, map[string]string{"data.expiration_year": "four-digit"}},
		{"year leading zero", `{"number":"4242424242424242","expiration_year":"0999"}`, nil, map[string]string{"data.expiration_year": "four-digit"}},
		{"huge year", `{"number":"4242424242424242","expiration_year":1e300}`, nil, map[string]string{"data.expiration_year": "four-digit"}},
		{"cvc numeric", `{"number":"4242424242424242","cvc":123}`, nil, map[string]string{"data.cvc": "3 or 4 digits"}},
		{"cvc short", `{"number":"4242424242424242","cvc":"12"}`, nil, map[string]string{"data.cvc": "3 or 4 digits"}},
		{"cvc long", `{"number":"4242424242424242","cvc":"12345"}`, nil, map[string]string{"data.cvc": "3 or 4 digits"}},
		{"cvc letters", `{"number":"4242424242424242","cvc":"12a"}`, nil, map[string]string{"data.cvc": "3 or 4 digits"}},
		{"unknown field", `{"number":"4242424242424242","name":"J Doe"}`, nil, map[string]string{"data.name": "not a property"}},
		{"many errors", `{"number":"1","expiration_month":99,"expiration_year":1,"cvc":"1","x":1}`, nil, map[string]string{
			"data.number": "", "data.expiration_month": "", "data.expiration_year": "", "data.cvc": "", "data.x": ""}},
		{"not an object", `"4242424242424242"`, nil, map[string]string{"data": "must be an object"}},
		{"array", `[]`, nil, map[string]string{"data": "must be an object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode(t, tt.in)
			got, errs := NormalizeCard(in)
			checkObject(t, got, errs, tt.want, tt.errs)
			// ValidateData("card") is the same thing.
			v, errs2 := ValidateData("card", in)
			if !reflect.DeepEqual(errs, errs2) {
				t.Errorf("ValidateData errors %v differ from NormalizeCard %v", errs2, errs)
			}
			if errs == nil && !reflect.DeepEqual(v, any(got)) {
				t.Errorf("ValidateData value %#v differs from NormalizeCard %#v", v, got)
			}
		})
	}
}

func TestNormalizeCardDoesNotAlias(t *testing.T) {
	in := map[string]any{"number": "4242424242424242", "expiration_month": json.Number("1")}
	out, errs := NormalizeCard(in)
	if errs != nil {
		t.Fatal(errs)
	}
	out["number"] = "x"
	if in["number"] != "4242424242424242" {
		t.Error("NormalizeCard returned the input map")
	}
	if in["expiration_month"] != json.Number("1") {
		t.Error("NormalizeCard modified its input")
	}
	// Canonical form round-trips through JSON with ints.
	b, _ := json.Marshal(out)
	if !bytes.Contains(b, []byte(`"expiration_month":1`)) {
		t.Errorf("canonical JSON %s", b)
	}
}

func TestNormalizeBank(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
		errs map[string]string
	}{
		{"ok", `{"routing_number":"021000021","account_number":"1234567890"}`,
			map[string]any{"routing_number": "021000021", "account_number": "1234567890"}, nil},
		{"missing both", `{}`, nil, map[string]string{"data.routing_number": "required", "data.account_number": "required"}},
		{"null routing", `{"routing_number":null,"account_number":"1234567890"}`, nil, map[string]string{"data.routing_number": "required"}},
		{"bad aba", `{"routing_number":"021000022","account_number":"1234567890"}`, nil, map[string]string{"data.routing_number": "ABA"}},
		{"numeric routing", `{"routing_number":21000021,"account_number":"1234567890"}`, nil, map[string]string{"data.routing_number": "must be a string"}},
		{"long account", `{"routing_number":"021000021","account_number":"123456789012345678"}`, nil, map[string]string{"data.account_number": "between 3 and 17"}},
		{"account letters", `{"routing_number":"021000021","account_number":"12-34"}`, nil, map[string]string{"data.account_number": "only digits"}},
		{"unknown field", `{"routing_number":"021000021","account_number":"1234567890","owner":"x"}`, nil, map[string]string{"data.owner": "not a property"}},
		{"not an object", `"021000021"`, nil, map[string]string{"data": "must be an object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode(t, tt.in)
			got, errs := NormalizeBank(in)
			checkObject(t, got, errs, tt.want, tt.errs)
			if _, errs2 := ValidateData("bank", in); !reflect.DeepEqual(errs, errs2) {
				t.Errorf("ValidateData errors %v differ from NormalizeBank %v", errs2, errs)
			}
		})
	}
}

func checkObject(t *testing.T, got map[string]any, errs problem.Fields, want map[string]any, wantErrs map[string]string) {
	t.Helper()
	if wantErrs == nil {
		if len(errs) != 0 {
			t.Fatalf("unexpected errors %v", errs)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v, want %#v", got, want)
		}
		return
	}
	if got != nil {
		t.Errorf("value %#v returned with errors", got)
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want fields %v", errs, wantErrs)
	}
	for f, sub := range wantErrs {
		if len(errs[f]) != 1 || !strings.Contains(errs[f][0], sub) {
			t.Errorf("errors[%q] = %v, want one containing %q", f, errs[f], sub)
		}
	}
}
