package test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/strongroom/strongroom/test/harness"
)

// encodingUpstream answers the request body back with the status named by
// X-Reply-Status, compressed with the Content-Encoding named by X-Encode
// whatever the request's Accept-Encoding said.
func encodingUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		st, _ := strconv.Atoi(r.Header.Get("X-Reply-Status"))
		if st == 0 {
			st = http.StatusOK
		}
		var b bytes.Buffer
		switch enc := r.Header.Get("X-Encode"); enc {
		case "gzip":
			zw := gzip.NewWriter(&b)
			zw.Write(body)
			zw.Close()
		case "deflate":
			zw := zlib.NewWriter(&b)
			zw.Write(body)
			zw.Close()
		case "zstd":
			zw, _ := zstd.NewWriter(&b)
			zw.Write(body)
			zw.Close()
		case "":
			b.Write(body)
		default: // an encoding the vault cannot read
			b.Write(body)
		}
		if enc := r.Header.Get("X-Encode"); enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Etag", `"v1"`)
		w.WriteHeader(st)
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMaskWhateverEncodingAndStatus: a mask response transform covers what
// the client reads: an answer the destination compressed unasked (gzip,
// deflate, zstd) is decoded and masked, one it cannot decode is refused
// (502, nothing of it sent), and error answers are masked too.
func TestMaskWhateverEncodingAndStatus(t *testing.T) {
	t.Parallel()
	up := encodingUpstream(t)
	s := harness.Start(t, harness.Options{Env: []string{envInsecure}})
	_, mk := managementApp(t, s, "proxy admin", "proxy:create")
	px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "masked", "destination_url": up.URL, "require_auth": false,
		"response_transform": map[string]any{"type": "mask", "expression": `"pan":"(\d{12})\d{4}"`, "replacement": "#"}}, http.StatusCreated)
	const pan, want = "4242424242424242", `{"pan":"############4242"}`
	for _, enc := range []string{"", "gzip", "deflate", "zstd", "br"} {
		for _, status := range []int{200, 402, 500} {
			what := "encoding " + enc + " status " + strconv.Itoa(status)
			req, _ := http.NewRequest(http.MethodPost, s.BaseURL+"/proxy", strings.NewReader(`{"pan":"`+pan+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("BT-PROXY-KEY", px["key"].(string))
			req.Header.Set("X-Encode", enc)
			req.Header.Set("X-Reply-Status", strconv.Itoa(status))
			req.Header.Set("Accept-Encoding", "gzip")
			// The raw transport: no transparent decoding on the client side.
			resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte(pan)) || strings.Contains(resp.Header.Get("Content-Encoding"), enc) && enc != "" {
				t.Errorf("%s: the client reads an unmasked or still-encoded answer (%d, %q): %q", what, resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
			}
			if enc == "br" {
				if resp.StatusCode != http.StatusBadGateway {
					t.Errorf("%s: status %d, want 502 for an answer that cannot be masked: %s", what, resp.StatusCode, body)
				}
				continue
			}
			if resp.StatusCode != status || string(body) != want || resp.Header.Get("Etag") != "" {
				t.Errorf("%s: %d %q (Etag %q), want %d %s", what, resp.StatusCode, body, resp.Header.Get("Etag"), status, want)
			}
		}
	}
}
