package test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// answers is an application that answers JSON holding a card number:
// gzipped (asked for or not), plain, with an invalid card, in an encoding
// the vault cannot read, or as text (which vault_tokenize leaves alone).
func answers(t *testing.T) *httptest.Server {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	const card = `{"card":{"number":"4242424242424242","exp":"12/30"},"note":"kept"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Etag", `"v1"`)
		h.Set("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")
		h.Set("Content-Type", "application/json")
		var body []byte
		switch r.URL.Path {
		case "/out/gzip":
			h.Set("Content-Encoding", "gzip")
			body = gz(card)
		case "/out/plain":
			body = []byte(card)
		case "/out/invalid":
			h.Set("Content-Encoding", "gzip")
			body = gz(`{"card":{"number":"4242424242424241"}}`)
		case "/out/brotli":
			h.Set("Content-Encoding", "br")
			body = []byte("\x1b\x03\x00not brotli 4242424242424242")
		case "/out/text":
			h.Set("Content-Type", "text/plain")
			body = []byte("card 4242424242424242")
		case "/out/empty":
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func responseCaddyfile(upstream string) string {
	return `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}

http://:{$STRONGROOM_PORT} {
	handle /out/* {
		vault_tokenize {
			field $.card.number card_number
			response
		}
		reverse_proxy ` + upstream + `
	}
	handle /signed/* {
		vault_detokenize {
			delimiters "<<" ">>"
			query
		}
		reverse_proxy ` + upstream + `
	}
	handle {
		vault_api
	}
}
`
}

// vault_tokenize { response } tokenizes a JSON answer, compressed or not,
// and sends it unencoded with its new length and no stale validators; an
// answer it cannot tokenize never reaches the client, and the error that
// takes its place carries none of the answer's entity headers.
func TestTokenizeResponse(t *testing.T) {
	app := answers(t)
	s := harness.Start(t, harness.Options{Caddyfile: responseCaddyfile(strings.TrimPrefix(app.URL, "http://"))})
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
	get := func(path string, acceptGzip bool) (int, http.Header, []byte) {
		req, _ := harness.NewRequest("GET", s.BaseURL+path, key, nil)
		if acceptGzip {
			req.Header.Set("Accept-Encoding", "gzip") // so the client shows the raw answer
		}
		return s.Send(t, req)
	}

	for _, tc := range []struct {
		path       string
		acceptGzip bool
	}{{"/out/gzip", true}, {"/out/gzip", false}, {"/out/plain", true}} {
		what := fmt.Sprintf("%s (Accept-Encoding gzip: %v)", tc.path, tc.acceptGzip)
		st, h, body := get(tc.path, tc.acceptGzip)
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", what, st, body)
		}
		if ce := h.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: Content-Encoding %q on an unencoded answer", what, ce)
		}
		if cl := h.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("%s: Content-Length %q, body is %d bytes", what, cl, len(body))
		}
		if h.Get("Etag") != "" || h.Get("Last-Modified") != "" {
			t.Errorf("%s: the original answer's validators remain: %v", what, h)
		}
		if bytes.Contains(body, []byte("4242424242424242")) {
			t.Fatalf("%s: the card number reached the client: %s", what, body)
		}
		var got struct {
			Card struct{ Number, Exp string }
			Note string
		}
		if err := jsonUnmarshal(string(body), &got); err != nil || got.Card.Exp != "12/30" || got.Note != "kept" {
			t.Fatalf("%s: answer %s (%v)", what, body, err)
		}
		tok := s.JSON(t, "GET", "/tokens/"+got.Card.Number, key, nil, http.StatusOK)
		if tok["data"] != "4242424242424242" {
			t.Errorf("%s: token %s holds %v", what, got.Card.Number, tok["data"])
		}
	}

	// Answers that cannot be tokenized: a 502 problem in their place.
	for _, path := range []string{"/out/invalid", "/out/brotli"} {
		st, h, body := get(path, true)
		if st != http.StatusBadGateway || !strings.Contains(string(body), `"errors"`) {
			t.Errorf("%s: %d %s, want a 502 problem", path, st, body)
		}
		if bytes.Contains(body, []byte("4242424242424242")) {
			t.Errorf("%s: the card number reached the client: %s", path, body)
		}
		if ce := h.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: error labelled Content-Encoding %q", path, ce)
		}
		if h.Get("Etag") != "" || h.Get("Last-Modified") != "" {
			t.Errorf("%s: error carries the answer's validators: %v", path, h)
		}
		if cl := h.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
			t.Errorf("%s: Content-Length %q, body is %d bytes", path, cl, len(body))
		}
		if !strings.Contains(h.Get("Content-Type"), "json") {
			t.Errorf("%s: error Content-Type %q", path, h.Get("Content-Type"))
		}
	}
	if st, _, body := get("/out/invalid", true); !strings.Contains(string(body), "card.number") {
		t.Errorf("invalid card in the answer: %d %s does not name card.number", st, body)
	}

	// Not JSON, or no body: passed as the application sent it.
	if st, h, body := get("/out/text", true); st != http.StatusOK || string(body) != "card 4242424242424242" || h.Get("Etag") != `"v1"` {
		t.Errorf("text answer: %d %v %s, want it untouched", st, h, body)
	}
	if st, _, body := get("/out/empty", true); st != http.StatusNoContent || len(body) != 0 {
		t.Errorf("204 answer: %d %q", st, body)
	}
}

// vault_detokenize { query } leaves a query without expressions byte for
// byte (a signed URL survives), and rewrites only the parameter that holds
// one.
func TestDetokenizeQueryKeepsBytes(t *testing.T) {
	up := newRecorder(t)
	s := harness.Start(t, harness.Options{Caddyfile: responseCaddyfile(up.hostPort())})
	key := tokenApp(t, s, "token:pci:create", "token:pci:use:proxy")
	tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
	id := tok["id"].(string)

	for _, tc := range []struct{ query, want string }{
		{"b=1&a=hello%20world", "b=1&a=hello%20world"},
		{"z=%7E&y=a+b&x", "z=%7E&y=a+b&x"},
		{"b=1&pan=%3C%3C+" + id + "+%3E%3E&a=hello%20world", "b=1&pan=4242424242424242&a=hello%20world"},
		{"b=1&last4=x%20%3C%3C%20" + id + "%20%7C%20last4%20%3E%3E", "b=1&last4=x+4242"},
	} {
		req, _ := harness.NewRequest("GET", s.BaseURL+"/signed/pay?"+tc.query, key, nil)
		if st, _, b := s.Send(t, req); st != http.StatusOK {
			t.Fatalf("GET ?%s: %d %s", tc.query, st, b)
		}
		got := up.all()
		if q := got[len(got)-1].query; q != tc.want {
			t.Errorf("?%s reached the upstream as %q, want %q", tc.query, q, tc.want)
		}
	}
}
