package traffic

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ErrTooLarge is returned by Decode when the decoded answer exceeds the limit.
var ErrTooLarge = errors.New("the decoded answer is too large")

// Decode undoes a Content-Encoding (gzip, deflate, zstd, or a list of them,
// applied in order) so a response transform sees what the client would
// read, whether or not the client asked for the encoding. An encoding it
// cannot read is an error: an answer that cannot be masked is not sent.
func Decode(contentEncoding string, body []byte, limit int) ([]byte, error) {
	codings := strings.Split(contentEncoding, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		var r io.Reader
		var err error
		switch c := strings.ToLower(strings.TrimSpace(codings[i])); c {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(bytes.NewReader(body))
		case "deflate":
			// RFC 9110 deflate is zlib; some servers send raw deflate.
			if r, err = zlib.NewReader(bytes.NewReader(body)); err != nil {
				r, err = flate.NewReader(bytes.NewReader(body)), nil
			}
		case "zstd":
			var d *zstd.Decoder
			if d, err = zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1)); err == nil {
				defer d.Close()
				r = d
			}
		default:
			return nil, fmt.Errorf("content encoding %q is not supported", c)
		}
		if err != nil {
			return nil, err
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
		if err != nil {
			return nil, err
		}
		if len(out) > limit {
			return nil, ErrTooLarge
		}
		body = out
	}
	return body, nil
}
