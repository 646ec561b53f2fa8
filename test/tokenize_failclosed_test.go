package test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestTokenizeFailsClosed: vault_tokenize refuses what it cannot tokenize
// (no or another Content-Type, multipart, a member or form field that only
// looks like a configured one) with a 4xx before the raw number reaches the
// backend; allow_unparsed lets other bodies through.
func TestTokenizeFailsClosed(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	hp := strings.TrimPrefix(up.URL, "http://")
	s := harness.Start(t, harness.Options{Caddyfile: `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}

http://:{$STRONGROOM_PORT} {
	handle /app/* {
		vault_tokenize {
			field $.card.number card_number
			form_field pan card_number
		}
		reverse_proxy ` + hp + `
	}
	handle /lenient/* {
		vault_tokenize {
			field $.card.number card_number
			allow_unparsed
		}
		reverse_proxy ` + hp + `
	}
	handle {
		vault_api
	}
}
`})
	_, key := privateAppWith(t, s, "tokenizer", "token:create")
	const pan = "4242424242424242"
	send := func(path, ctype, body string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, s.BaseURL+path, strings.NewReader(body))
		req.Header.Set("BT-API-KEY", key)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		st, _, b := s.Send(t, req)
		return st, b
	}
	for _, c := range []struct {
		what, ctype, body string
		want              int
	}{
		{"no Content-Type", "", `{"card":{"number":"` + pan + `"}}`, http.StatusUnsupportedMediaType},
		{"text/plain", "text/plain", `{"card":{"number":"` + pan + `"}}`, http.StatusUnsupportedMediaType},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"pan\"\r\n\r\n" + pan + "\r\n--x--\r\n", http.StatusUnsupportedMediaType},
		{"JSON Card", "application/json", `{"Card":{"number":"` + pan + `"}}`, http.StatusBadRequest},
		{"JSON Number", "application/json", `{"card":{"Number":"` + pan + `"}}`, http.StatusBadRequest},
		{"JSON PAN where a form field is configured", "application/json", `{"PAN":"` + pan + `"}`, http.StatusBadRequest},
		{"form pan[]", "application/x-www-form-urlencoded", "pan[]=" + pan, http.StatusBadRequest},
		{"form PAN", "application/x-www-form-urlencoded", "PAN=" + pan, http.StatusBadRequest},
	} {
		st, b := send("/app/x", c.ctype, c.body)
		if st != c.want || !strings.Contains(string(b), `"errors"`) && st == http.StatusBadRequest {
			t.Errorf("%s: %d %s, want %d", c.what, st, b, c.want)
		}
		if strings.Contains(string(b), pan) {
			t.Errorf("%s: the answer holds the number: %s", c.what, b)
		}
		up.none(t, c.what)
	}
	// What is configured is tokenized, and allow_unparsed passes other bodies.
	if st, b := send("/app/x", "application/json", `{"card":{"number":"`+pan+`"}}`); st != http.StatusOK {
		t.Fatalf("exact field: %d %s", st, b)
	}
	if got := up.one(t, "exact field"); strings.Contains(string(got.Body), pan) {
		t.Errorf("exact field: the number reached the backend: %s", got.Body)
	}
	if st, b := send("/lenient/x", "text/plain", "hello"); st != http.StatusOK {
		t.Errorf("allow_unparsed: %d %s", st, b)
	}
	if got := up.one(t, "allow_unparsed"); string(got.Body) != "hello" {
		t.Errorf("allow_unparsed: backend got %q", got.Body)
	}
}
