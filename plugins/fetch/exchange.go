package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/strongroom/strongroom/vault/egress"
)

type fetched struct {
	Status     int         `json:"status,omitempty"`
	StatusText string      `json:"status_text,omitempty"`
	URL        string      `json:"url,omitempty"`
	Redirected bool        `json:"redirected,omitempty"`
	Headers    http.Header `json:"headers,omitempty"`
	Body       []byte      `json:"body,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// Serve runs one exchange for reactor code (reactor.Brokered), in the vault
// process. The request was built where the code runs, so the destination,
// method, headers and body size are checked again under the policy.
func (m *Module) Serve(ctx context.Context, _ string, req []byte) ([]byte, error) {
	policy, client := m.setup()
	var o outbound
	if err := json.Unmarshal(req, &o); err != nil {
		return json.Marshal(fetched{Error: "invalid request"})
	}
	if reason := m.recheck(policy, &o); reason != "" {
		return json.Marshal(fetched{Error: reason})
	}
	res, err := m.do(ctx, client, &o)
	if err != nil {
		return json.Marshal(fetched{Error: err.Error()})
	}
	return json.Marshal(res)
}

// recheck applies request's rules again to a decoded request; it returns
// the reason it is refused, or "".
func (m *Module) recheck(policy egress.Policy, o *outbound) string {
	u, err := policy.CheckURL(o.URL)
	if err != nil {
		return err.Error()
	}
	o.URL = u.String()
	if !validToken(o.Method) || o.Method == "CONNECT" || o.Method == "TRACE" {
		return "invalid method"
	}
	if int64(len(o.Body)) > m.MaxRequestBytes {
		return fmt.Sprintf("request body exceeds %d bytes", m.MaxRequestBytes)
	}
	h := http.Header{}
	for name, values := range o.Headers {
		for _, v := range values {
			if !validToken(name) || strings.ContainsAny(v, "\r\n\x00") {
				return "invalid header"
			}
			if !forbiddenHeader(name) {
				h.Add(name, v)
			}
		}
	}
	o.Headers = h
	return ""
}

// do runs the exchange. Error texts are for the reactor: the policy's
// reason for a refused destination, otherwise a generic cause with no
// address or Go error text.
func (m *Module) do(ctx context.Context, client *http.Client, o *outbound) (*fetched, error) {
	var body io.Reader
	if o.Body != nil {
		body = bytes.NewReader(o.Body)
	}
	req, err := http.NewRequestWithContext(ctx, o.Method, o.URL, body)
	if err != nil {
		return nil, fetchError("invalid request")
	}
	req.Header = o.Headers
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "strongroom-reactor")
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, exchangeError(ctx, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, m.MaxResponseBytes+1))
	if err != nil {
		return nil, exchangeError(ctx, err)
	}
	if int64(len(data)) > m.MaxResponseBytes {
		return nil, fetchError(fmt.Sprintf("response body exceeds %d bytes", m.MaxResponseBytes))
	}
	text := http.StatusText(res.StatusCode)
	return &fetched{
		Status:     res.StatusCode,
		StatusText: text,
		URL:        res.Request.URL.String(),
		Redirected: res.Request.URL.String() != o.URL,
		Headers:    res.Header,
		Body:       data,
	}, nil
}

func exchangeError(ctx context.Context, err error) error {
	var de *egress.DestinationError
	switch {
	case errors.As(err, &de):
		return fetchError(de.Reason)
	case ctx.Err() != nil:
		return fetchError("the request was aborted")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fetchError("the request timed out")
	default:
		return fetchError("network error")
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// response builds the Response object on the loop goroutine.
