package fetch

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/reactor"
)

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
