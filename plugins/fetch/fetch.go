// Package fetch gives reactor code outbound HTTP: a global fetch, also
// served as require('node-fetch'), implemented in Go over the vault's egress
// policy (vault/egress). With the default policy a destination must be
// https, port 443, a public DNS name resolving to public addresses; every
// redirect is checked again; the response body is capped.
//
//	const res = await fetch('https://api.psp.example/v1/charges', {
//		method: 'POST',
//		headers: { Authorization: 'Bearer ' + req.configuration.PSP_KEY },
//		body: { amount: 100, card: req.args.card },   // objects are sent as JSON
//	});
//	if (!res.ok) throw new Error('PSP said ' + res.status);
//	const charge = await res.json();
//
// The Response has status, statusText, ok, url, redirected, headers (get,
// has, forEach, entries, keys, values), and text(), json() and
// arrayBuffer(), which may be called more than once. A refused destination
// or a failed exchange rejects with a TypeError "fetch failed: <reason>",
// where the reason never names an address.
package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/reactor"
)

// Name is the require() name; the same function is the global fetch.
const Name = "node-fetch"

// Defaults.
const (
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRequestBytes  = 1 << 20
	DefaultMaxRedirects     = 5
	DefaultMaxInFlight      = 8
)

// Module is the fetch module. Its zero value is the strict production
// policy with the defaults above.
type Module struct {
	// AllowInsecure relaxes the egress policy for development and tests:
	// http, IP literals, any port, private and loopback destinations.
	AllowInsecure bool `json:"allow_insecure,omitempty"`
	// Timeout bounds one whole exchange (0: egress.DefaultTimeout, 25 s);
	// the reactor's own timeout still applies.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxResponseBytes caps a response body (default 1 MiB).
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
	// MaxRequestBytes caps a request body (default 1 MiB).
	MaxRequestBytes int64 `json:"max_request_bytes,omitempty"`
	// MaxRedirects is how many redirects are followed, each re-checked by
	// the policy (default 5; 0 returns the 3xx response as is).
	MaxRedirects *int `json:"max_redirects,omitempty"`
	// MaxInFlight bounds one execution's concurrent requests (default 8).
	MaxInFlight int `json:"max_in_flight,omitempty"`

	mu     sync.Mutex
	built  bool
	policy egress.Policy
	client *http.Client
}

// setup applies defaults and builds the client, once (again after
// UseEgress).
func (m *Module) setup() (egress.Policy, *http.Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.built {
		if m.MaxResponseBytes <= 0 {
			m.MaxResponseBytes = DefaultMaxResponseBytes
		}
		if m.MaxRequestBytes <= 0 {
			m.MaxRequestBytes = DefaultMaxRequestBytes
		}
		if m.MaxRedirects == nil {
			n := DefaultMaxRedirects
			m.MaxRedirects = &n
		}
		if m.MaxInFlight <= 0 {
			m.MaxInFlight = DefaultMaxInFlight
		}
		m.policy = egress.Policy{AllowInsecure: m.AllowInsecure, Timeout: time.Duration(m.Timeout), MaxRedirects: *m.MaxRedirects}
		m.client = m.policy.Client()
		m.built = true
	}
	return m.policy, m.client
}

// UseEgress takes the vault's egress policy where this module's own
// configuration is silent: its AllowInsecure when allow_insecure is not
// set here (a development vault relaxes fetch too), its Timeout when
// timeout is 0. Redirects stay this module's (the proxy follows none,
// fetch follows max_redirects). Call it before the runtime serves.
func (m *Module) UseEgress(p egress.Policy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.AllowInsecure {
		m.AllowInsecure = true
	}
	if m.Timeout == 0 {
		m.Timeout = caddy.Duration(p.Timeout)
	}
	m.built = false
}

// Name returns "node-fetch".
func (m *Module) Name() string { return Name }

// Install defines the global fetch (the same function require returns).
func (m *Module) Install(c *reactor.Call) error {
	v, err := c.Require(Name)
	if err != nil {
		return err
	}
	return c.VM.Set("fetch", v)
}

// Load builds fetch for one execution.
func (m *Module) Load(c *reactor.Call) (goja.Value, error) {
	policy, _ := m.setup()
	inFlight := 0
	fn := c.Function(func(call goja.FunctionCall) (goja.Value, error) {
		req, err := m.request(c, policy, call.Argument(0), call.Argument(1))
		if err != nil {
			return rejected(c, err), nil
		}
		if inFlight >= m.MaxInFlight {
			return rejected(c, failed(c, fmt.Sprintf("more than %d requests in flight", m.MaxInFlight))), nil
		}
		inFlight++
		// The exchange happens in the vault process (Serve), whether this
		// code runs there or in a worker.
		out, _ := json.Marshal(req)
		return c.Async(func(ctx context.Context) func(*goja.Runtime) (goja.Value, error) {
			var res fetched
			raw, err := c.Broker(ctx, Name, out)
			if err == nil {
				err = json.Unmarshal(raw, &res)
			}
			if err != nil {
				res.Error = "network error"
			}
			return func(*goja.Runtime) (goja.Value, error) {
				inFlight--
				if res.Error != "" {
					return nil, failed(c, res.Error)
				}
				return response(c, &res), nil
			}
		}), nil
	})
	o := fn.(*goja.Object)
	_ = o.Set("default", o)
	return o, nil
}

// outbound is a request checked and built on the loop goroutine, and
// checked again by Serve.
type outbound struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers http.Header `json:"headers"`
	Body    []byte      `json:"body,omitempty"`
}

// fetchError is a failure whose text is safe to show the reactor.
type fetchError string

func (e fetchError) Error() string { return string(e) }

func failed(c *reactor.Call, reason string) error {
	e := c.VM.NewTypeError("fetch failed: " + reason)
	_ = e.Set("cause", reason)
	return reactor.Reject(e)
}

func rejected(c *reactor.Call, err error) goja.Value {
	p, _, reject := c.VM.NewPromise()
	var rej *reactor.Rejection
	if errors.As(err, &rej) {
		_ = reject(rej.Value)
	} else {
		_ = reject(c.VM.NewTypeError("fetch failed"))
	}
	return c.VM.ToValue(p)
}

// request reads fetch(input, init).
func (m *Module) request(c *reactor.Call, policy egress.Policy, input, init goja.Value) (*outbound, error) {
	vm := c.VM
	var raw string
	switch o := input.(type) {
	case *goja.Object:
		if u := o.Get("url"); u != nil && goja.IsString(u) {
			raw = u.String()
		} else if h := o.Get("href"); h != nil && goja.IsString(h) {
			raw = h.String()
		} else {
			raw = o.String()
		}
	default:
		if input == nil || goja.IsUndefined(input) || goja.IsNull(input) {
			return nil, reactor.Reject(vm.NewTypeError("fetch failed: a URL is required"))
		}
		raw = input.String()
	}
	u, err := policy.CheckURL(raw)
	if err != nil {
		return nil, failed(c, err.Error())
	}
	out := &outbound{Method: http.MethodGet, URL: u.String(), Headers: http.Header{}}
	opts, _ := init.(*goja.Object)
	if opts == nil {
		return out, nil
	}
	if v := opts.Get("method"); v != nil && !goja.IsUndefined(v) {
		out.Method = strings.ToUpper(v.String())
		if !validToken(out.Method) || out.Method == "CONNECT" || out.Method == "TRACE" {
			return nil, reactor.Reject(vm.NewTypeError("fetch failed: invalid method"))
		}
	}
	if err := readHeaders(c, opts.Get("headers"), out.Headers); err != nil {
		return nil, err
	}
	if b := opts.Get("body"); b != nil && !goja.IsUndefined(b) && !goja.IsNull(b) {
		if out.Method == http.MethodGet || out.Method == http.MethodHead {
			return nil, reactor.Reject(vm.NewTypeError("fetch failed: a GET or HEAD request cannot have a body"))
		}
		body, ctype, err := readBody(c, b)
		if err != nil {
			return nil, err
		}
		if int64(len(body)) > m.MaxRequestBytes {
			return nil, failed(c, fmt.Sprintf("request body exceeds %d bytes", m.MaxRequestBytes))
		}
		out.Body = body
		if out.Headers.Get("Content-Type") == "" && ctype != "" {
			out.Headers.Set("Content-Type", ctype)
		}
	}
	return out, nil
}

// readHeaders accepts a plain object, an array of [name, value] pairs, or
// anything with forEach((value, name) => ...) (a Headers-like object).
func readHeaders(c *reactor.Call, v goja.Value, h http.Header) error {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	add := func(name, value string) error {
		if !validToken(name) || strings.ContainsAny(value, "\r\n\x00") {
			return reactor.Reject(c.VM.NewTypeError("fetch failed: invalid header"))
		}
		if forbiddenHeader(name) {
			return nil
		}
		h.Add(name, value)
		return nil
	}
	if o.ClassName() == "Array" {
		n := o.Get("length").ToInteger()
		for i := int64(0); i < n && i < 1000; i++ {
			pair, ok := o.Get(fmt.Sprint(i)).(*goja.Object)
			if !ok {
				return reactor.Reject(c.VM.NewTypeError("fetch failed: invalid header"))
			}
			if err := add(pair.Get("0").String(), pair.Get("1").String()); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range o.Keys() {
		v := o.Get(k)
		if _, fn := goja.AssertFunction(v); fn || goja.IsUndefined(v) {
			continue
		}
		if err := add(k, v.String()); err != nil {
			return err
		}
	}
	return nil
}

// readBody turns a body into bytes: a string as is, binary data as its
// bytes, anything else as JSON (with a JSON content type).
func readBody(c *reactor.Call, b goja.Value) ([]byte, string, error) {
	if goja.IsString(b) {
		return []byte(b.String()), "text/plain;charset=UTF-8", nil
	}
	switch x := b.Export().(type) {
	case goja.ArrayBuffer:
		return bytes.Clone(x.Bytes()), "", nil
	case []byte:
		return bytes.Clone(x), "", nil
	}
	val, ok, err := c.ExportJSON(b)
	if err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) {
			return nil, "", err
		}
		var intr *goja.InterruptedError
		if errors.As(err, &intr) {
			return nil, "", err
		}
		return nil, "", reactor.Reject(c.VM.NewTypeError("fetch failed: the body cannot be serialised to JSON"))
	}
	if !ok {
		return nil, "", nil
	}
	j, err := jsonorder.Marshal(val)
	if err != nil {
		return nil, "", reactor.Reject(c.VM.NewTypeError("fetch failed: the body cannot be serialised to JSON"))
	}
	return j, "application/json", nil
}

// fetched is a response read off the loop, or the reason there is none
// (Error, a text safe to show the reactor).
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
func response(c *reactor.Call, f *fetched) goja.Value {
	vm := c.VM
	o := vm.NewObject()
	_ = o.Set("status", f.Status)
	_ = o.Set("statusText", f.StatusText)
	_ = o.Set("ok", f.Status >= 200 && f.Status < 300)
	_ = o.Set("url", f.URL)
	_ = o.Set("redirected", f.Redirected)
	_ = o.Set("bodyUsed", false)
	_ = o.Set("headers", headersObject(c, f.Headers))
	settled := func(v goja.Value, err error) goja.Value {
		p, resolve, reject := vm.NewPromise()
		if err != nil {
			var rej *reactor.Rejection
			if errors.As(err, &rej) {
				_ = reject(rej.Value)
			} else {
				_ = reject(vm.NewTypeError("body read failed"))
			}
		} else {
			_ = resolve(v)
		}
		_ = o.Set("bodyUsed", true)
		return vm.ToValue(p)
	}
	_ = o.Set("text", func(goja.FunctionCall) goja.Value { return settled(vm.ToValue(string(f.Body)), nil) })
	_ = o.Set("json", func(goja.FunctionCall) goja.Value { return settled(c.ParseJSON(f.Body)) })
	_ = o.Set("arrayBuffer", func(goja.FunctionCall) goja.Value {
		return settled(vm.ToValue(vm.NewArrayBuffer(bytes.Clone(f.Body))), nil)
	})
	return o
}

// headersObject is a read-only Headers-like view with lower-case names.
func headersObject(c *reactor.Call, h http.Header) goja.Value {
	vm := c.VM
	names := make([]string, 0, len(h))
	values := map[string]string{}
	for k, v := range h {
		n := strings.ToLower(k)
		names = append(names, n)
		values[n] = strings.Join(v, ", ")
	}
	sort.Strings(names)
	o := vm.NewObject()
	_ = o.Set("get", func(call goja.FunctionCall) goja.Value {
		if v, ok := values[strings.ToLower(call.Argument(0).String())]; ok {
			return vm.ToValue(v)
		}
		return goja.Null()
	})
	_ = o.Set("has", func(call goja.FunctionCall) goja.Value {
		_, ok := values[strings.ToLower(call.Argument(0).String())]
		return vm.ToValue(ok)
	})
	_ = o.Set("forEach", func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			panic(vm.NewTypeError("forEach needs a function"))
		}
		for _, n := range names {
			if _, err := fn(call.Argument(1), vm.ToValue(values[n]), vm.ToValue(n), o); err != nil {
				panic(err)
			}
		}
		return goja.Undefined()
	})
	list := func(pick func(n string) any) func(goja.FunctionCall) goja.Value {
		return func(goja.FunctionCall) goja.Value {
			items := make([]any, len(names))
			for i, n := range names {
				items[i] = pick(n)
			}
			return vm.NewArray(items...)
		}
	}
	_ = o.Set("entries", list(func(n string) any { return vm.NewArray(n, values[n]) }))
	_ = o.Set("keys", list(func(n string) any { return n }))
	_ = o.Set("values", list(func(n string) any { return values[n] }))
	return o
}

// forbiddenHeader reports a header the client sets itself, as in browsers'
// forbidden header names.
func forbiddenHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Te", "Trailer":
		return true
	}
	return false
}

// validToken reports whether s is an RFC 9110 token (a method or header
// name) of reasonable length.
func validToken(s string) bool {
	return len(s) <= 256 && httpguts.ValidHeaderFieldName(s)
}
