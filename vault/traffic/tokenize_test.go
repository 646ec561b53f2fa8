package traffic

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/strongroom/strongroom/vault/problem"
)

// creator hands out ids tok-0, tok-1, … and records what it was given.
func creator(seen *[]NewToken) Creator {
	return func(news []NewToken) ([]string, error) {
		ids := make([]string, len(news))
		for i, n := range news {
			*seen = append(*seen, n)
			ids[i] = fmt.Sprintf("tok-%d", len(*seen)-1)
		}
		return ids, nil
	}
}

func TestTokenizerJSON(t *testing.T) {
	tz, err := NewTokenizer([]Field{{Path: "$.card.number", Type: "card_number"}, {Path: "$.people[*].ssn", Type: "social_security_number"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen []NewToken
	out, err := tz.JSON([]byte(`{"name":"Ada","card":{"number":"4242424242424242","exp":"12/30"},"people":[{"ssn":"1"},{"ssn":null}]}`), creator(&seen), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"Ada","card":{"number":"tok-0","exp":"12/30"},"people":[{"ssn":"tok-1"},{"ssn":null}]}`; string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if len(seen) != 2 || seen[0].Type != "card_number" || string(seen[0].Data) != `"4242424242424242"` || seen[1].Type != "social_security_number" {
		t.Errorf("tokens asked for: %+v", seen)
	}
	for _, body := range []string{`{"Card":{"number":"4242"}}`, `{"card":{"Number":"4242"}}`, `{"x":[{"card":{"NUMBER":"1"}}]}`} {
		var p *problem.Problem
		if _, err := tz.JSON([]byte(body), creator(&seen), true); !errors.As(err, &p) || p.Status != 400 {
			t.Errorf("look-alike %s: %v, want a 400", body, err)
		}
		if _, err := tz.JSON([]byte(body), creator(&seen), false); err != nil {
			t.Errorf("look-alike %s unguarded: %v", body, err)
		}
	}
	if _, err := tz.JSON([]byte(`{"card":`), creator(&seen), true); !problem.Is(err, 400) {
		t.Errorf("invalid JSON: %v", err)
	}
	failing := func([]NewToken) ([]string, error) { return nil, problem.Invalid("card.number.data", "bad") }
	if _, err := tz.JSON([]byte(`{"card":{"number":"1"}}`), failing, true); !problem.Is(err, 400) {
		t.Errorf("creator error: %v", err)
	}
}

func TestTokenizerForm(t *testing.T) {
	tz, _ := NewTokenizer(nil, []Field{{Name: "pan", Type: "card_number"}})
	var seen []NewToken
	out, err := tz.Form([]byte("pan=4242&pan=5555&note=keep"), creator(&seen))
	if err != nil || string(out) != "note=keep&pan=tok-0&pan=tok-1" {
		t.Errorf("Form = %s, %v", out, err)
	}
	raw, _ := json.Marshal("5555")
	if len(seen) != 2 || string(seen[1].Data) != string(raw) || seen[1].Field != "pan" {
		t.Errorf("tokens asked for: %+v", seen)
	}
	for _, body := range []string{"PAN=1", "pan[]=1", "pan%5B0%5D=1"} {
		if _, err := tz.Form([]byte(body), creator(&seen)); !problem.Is(err, 400) {
			t.Errorf("look-alike %s: %v", body, err)
		}
	}
}

func TestRefuseUnreadable(t *testing.T) {
	for ct, want := range map[string]bool{"application/json": false, "application/vnd.x+json; charset=utf-8": false,
		"application/x-www-form-urlencoded": false, "": true, "text/plain": true, "multipart/form-data; boundary=x": true} {
		if err := RefuseUnreadable(ct, false); (err != nil) != want || err != nil && !problem.Is(err, 415) {
			t.Errorf("RefuseUnreadable(%q) = %v", ct, err)
		}
		if err := RefuseUnreadable(ct, true); err != nil {
			t.Errorf("RefuseUnreadable(%q, allow) = %v", ct, err)
		}
	}
}
