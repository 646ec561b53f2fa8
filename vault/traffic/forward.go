package traffic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/urlpath"
)

// DestinationStatusHeader tells the client the answer came from the
// destination (absent when the proxy itself answered).
const DestinationStatusHeader = "BT-PROXY-DESTINATION-STATUS"

// ProxyURLHeader names the ephemeral proxy's destination.
const ProxyURLHeader = "BT-PROXY-URL"

// AnswerCutError is a failure after the answer's status was sent: nothing
// more can be told to the client, so it is only logged.
type AnswerCutError struct{ Err error }

func (e *AnswerCutError) Error() string { return "the answer was cut short: " + e.Err.Error() }
func (e *AnswerCutError) Unwrap() error { return e.Err }

// hopHeaders are connection-scoped and never forwarded (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// Target joins the destination base with the path after the proxy prefix
// (escaped, as the client sent it, so `a%2Fb` stays one segment) and the
// query: `/proxy/foo?x=1` to `https://h/api` gives `https://h/api/foo?x=1`.
// A suffix with a dot segment is refused, so the target never leaves the
// destination's path prefix (whatever the destination's own path cleaning).
func Target(base *url.URL, escapedSuffix, rawQuery string) (*url.URL, error) {
	if urlpath.HasDotSegment(escapedSuffix) {
		return nil, errors.New("the path holds a dot segment")
	}
	t := *base
	suffix, err := url.PathUnescape(escapedSuffix)
	if err != nil {
		return nil, err
	}
	t.Path = strings.TrimRight(base.Path, "/") + suffix
	t.RawPath = strings.TrimRight(base.EscapedPath(), "/") + escapedSuffix
	if rawQuery != "" {
		if t.RawQuery != "" {
			t.RawQuery += "&" + rawQuery
		} else {
			t.RawQuery = rawQuery
		}
	}
	return &t, nil
}

// IsControlHeader reports whether a header is one of the vault's BT-*
// control headers (the API key among them), which never leave it.
func IsControlHeader(name string) bool {
	return len(name) >= 3 && strings.EqualFold(name[:3], "bt-")
}

// forwardable reports whether a request header goes to the destination:
// not a BT-* control header, not hop-by-hop, and a plain token name.
func forwardable(name string) bool {
	if IsControlHeader(name) {
		return false
	}
	for _, h := range hopHeaders {
		if strings.EqualFold(h, name) {
			return false
		}
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Outbound builds the request to the destination: the inbound method and
// forwardable headers, the (possibly rewritten) body.
func Outbound(ctx context.Context, in *http.Request, target *url.URL, header http.Header, body []byte) (*http.Request, error) {
	out, err := http.NewRequestWithContext(ctx, in.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for name, vals := range header {
		if forwardable(name) && !strings.EqualFold(name, "Content-Length") && !strings.EqualFold(name, "Host") {
			out.Header[name] = append([]string(nil), vals...)
		}
	}
	if len(body) == 0 && in.Method != http.MethodPost && in.Method != http.MethodPut && in.Method != http.MethodPatch {
		out.Body, out.ContentLength = http.NoBody, 0
	}
	// The reserved BT-PROXY-CONNECTION and BT-PROXY-KEEP-ALIVE headers
	// (wire contract §5.2) set the hop-by-hop headers toward the destination.
	if v := header.Get("BT-PROXY-CONNECTION"); v != "" {
		out.Header.Set("Connection", v)
		out.Close = strings.EqualFold(strings.TrimSpace(v), "close")
	}
	if v := header.Get("BT-PROXY-KEEP-ALIVE"); v != "" {
		out.Header.Set("Keep-Alive", v)
	}
	return out, nil
}

// Forwarder sends outbound requests under the egress policy and streams
// the answers back.
type Forwarder struct {
	Client *http.Client
}

// NewForwarder builds a forwarder over policy.
func NewForwarder(policy egress.Policy) *Forwarder {
	return &Forwarder{Client: policy.Client()}
}

// Forward sends out and copies the destination's status, headers and body
// to w as they arrive. It returns a problem, before anything was written,
// when the destination could not be reached: 408 on timeout, 400 when the
// egress policy refused it, 502 otherwise; an *AnswerCutError after.
func (f *Forwarder) Forward(w http.ResponseWriter, out *http.Request) error {
	resp, err := f.Client.Do(out)
	if err != nil {
		return ExchangeProblem(err)
	}
	defer resp.Body.Close()
	h := w.Header()
	for name, vals := range resp.Header {
		if !isHop(name) {
			h[name] = vals
		}
	}
	h.Set(DestinationStatusHeader, strconv.Itoa(resp.StatusCode))
	w.WriteHeader(resp.StatusCode)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// A body of known length streams through the server's own buffer; one
	// of unknown length (chunked, event streams) is flushed as it arrives.
	var dst io.Writer = w
	if resp.ContentLength < 0 {
		dst = flushWriter{w}
	}
	if _, err = io.CopyBuffer(dst, resp.Body, *buf); err != nil {
		return &AnswerCutError{Err: err}
	}
	return nil
}

// copyBuffers pools the buffers that stream answers back.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func isHop(name string) bool {
	for _, h := range hopHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// flushWriter flushes after each write so an answer of unknown length
// reaches the client as it arrives.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		_ = http.NewResponseController(f.w).Flush()
	}
	return n, err
}

// DestinationProblem is the 400 for a destination the egress policy
// refuses or cannot parse, naming the BT-PROXY-URL header.
func DestinationProblem(err error) error {
	var de *egress.DestinationError
	if errors.As(err, &de) {
		return problem.Invalid(ProxyURLHeader, "The destination is not allowed: "+de.Reason)
	}
	return problem.Invalid(ProxyURLHeader, "The destination URL is not valid.")
}

// ExchangeProblem maps a failed exchange with the destination: 408 on
// timeout, 400 when the egress policy refused it, 502 otherwise.
func ExchangeProblem(err error) error {
	var de *egress.DestinationError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		return DestinationProblem(err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return problem.New(http.StatusRequestTimeout, "The destination did not answer in time.")
	default:
		return problem.New(http.StatusBadGateway, "The destination could not be reached.")
	}
}
