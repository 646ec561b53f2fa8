package fetch

import (
	"bytes"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"

	"github.com/strongroom/strongroom/vault/reactor"
)

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
