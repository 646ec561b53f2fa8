// Package traffic is the traffic path of the vault, shared by `/proxy`,
// `vault_detokenize` and `vault_tokenize`: resolving token expressions in
// a request (interpolate.go: headers, query, body), tokenizing the fields
// of a body (tokenize.go), and carrying a request to its destination and
// the answer back (forward.go, with response masks and decoding). It
// knows HTTP and expressions, not the vault: tokens are resolved and
// created through the functions its callers pass in.
package traffic

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// IsJSON reports whether a Content-Type names JSON (application/json,
// application/*+json).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// IsForm reports whether a Content-Type names a URL-encoded form.
func IsForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// MatchesType reports whether a Content-Type is one of types (which may
// use `*` for a subtype prefix, as in application/*+json).
func MatchesType(contentType string, types []string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	for _, t := range types {
		if t == mt || strings.HasPrefix(t, "application/*") && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, strings.TrimPrefix(t, "application/*")) {
			return true
		}
	}
	return false
}

// MayHoldExpressions reports whether a request body with these headers
// can carry token expressions, so must be read whole: anything but binary
// media (octet streams, images, audio, video, fonts, archives, protobuf)
// and compressed content. The others stream to the destination unread.
func MayHoldExpressions(h http.Header) bool {
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return true // no or unreadable type: may be text
	}
	top, sub, _ := strings.Cut(mt, "/")
	switch top {
	case "image", "audio", "video", "font":
		return false
	case "application":
		switch sub {
		case "octet-stream", "pdf", "zip", "gzip", "x-tar", "x-7z-compressed", "protobuf", "x-protobuf", "grpc":
			return false
		}
	}
	return true
}

// SetBody replaces a request body consistently (STYLE 8): the reader, its
// length, the header, and no transfer coding left over.
func SetBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.TransferEncoding = nil
}
