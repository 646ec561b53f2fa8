package reactor

import (
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// maxDetail bounds a thrown error's message used as the problem detail.
const maxDetail = 1000

// thrown maps a value thrown (or rejected) by reactor code. Instances of
// classes tagged by a module (TagErrorClass) keep their status, message and
// errors; anything else is what Basis Theory does with an uncaught
// exception: new ReactorRuntimeError(thrown), status 500, with the thrown
// value normalised into errors like the SDK does (§6.4). Every field read
// from the object is validated again here: the tag can be copied onto any
// object, and fields can be rewritten after construction.
func (c *Call) thrown(v goja.Value) error {
	var out error
	err := c.guard(func() error {
		out = c.thrownUnguarded(v)
		return nil
	})
	if err != nil || out == nil {
		// Reading the thrown object ran reactor code that failed again.
		if intr := c.classifyLimit(err); intr != nil {
			return intr
		}
		return &Error{Status: 500, Detail: runtimeDetail, Errors: map[string][]string{"error": {fallbackMessage}}}
	}
	return out
}

// classifyLimit maps interrupts and stack overflows met while reading a
// thrown value; nil for anything else.
func (c *Call) classifyLimit(err error) error {
	if err == nil {
		return nil
	}
	switch e := c.classify(err).(type) {
	case *Error:
		if e.Detail == runtimeDetail {
			return nil
		}
		return e
	default:
		return nil
	}
}

func (c *Call) thrownUnguarded(v goja.Value) error {
	if o, ok := v.(*goja.Object); ok {
		switch kind := o.GetSymbol(c.rt.tag); {
		case kind == nil:
		case kind.String() == string(KindReactorError):
			if e := c.reactorError(o); e != nil {
				return e
			}
		case kind.String() == string(KindCustomHTTPResponse):
			if e := c.customResponse(o); e != nil {
				return e
			}
		}
	}
	return &Error{Status: 500, Detail: runtimeDetail, Errors: c.normaliseErrors(v)}
}

// reactorError reads a BasisTheoryReactorError; nil when its status is not
// an integer 400–599.
func (c *Call) reactorError(o *goja.Object) *Error {
	status, ok := integer(o.Get("status"), 400, 599)
	if !ok {
		return nil
	}
	detail := ""
	if m := o.Get("message"); m != nil && goja.IsString(m) {
		detail = truncate(m.String(), maxDetail)
	}
	if detail == "" {
		detail = runtimeDetail
	}
	return &Error{Status: status, Detail: detail, Errors: c.normaliseErrors(o.Get("errors"))}
}

// customResponse reads a CustomHttpResponseError; nil when its status is
// not an integer 100–599 or its body cannot be serialised.
func (c *Call) customResponse(o *goja.Object) *CustomHTTPResponse {
	status, ok := integer(o.Get("status"), 100, 599)
	if !ok {
		return nil
	}
	out := &CustomHTTPResponse{Status: status, Headers: map[string]string{}}
	if h, ok := o.Get("headers").(*goja.Object); ok {
		budget := c.rt.limits.MaxPayload
		for _, k := range h.Keys() {
			v := h.Get(k)
			if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
				continue
			}
			if _, fn := goja.AssertFunction(v); fn {
				continue
			}
			s := v.String()
			// A header name or value that could split the response is
			// dropped, not repaired.
			if !validHeaderName(k) || strings.ContainsAny(s, "\r\n\x00") {
				continue
			}
			if budget -= len(k) + len(s); budget < 0 {
				return nil
			}
			out.Headers[k] = s
		}
	}
	body := o.Get("body")
	if body == nil || goja.IsUndefined(body) || goja.IsNull(body) {
		out.Body = &jsonorder.Object{Values: map[string]any{}}
		return out
	}
	val, ok, err := newExporter(c.VM, c.rt.limits.MaxPayload).export("", body, 0)
	if err != nil {
		return nil
	}
	if ok {
		out.Body = val
	}
	return out
}

// validHeaderName reports whether s is an RFC 9110 token (a method or header
// name) of reasonable length.
func validHeaderName(s string) bool {
	return len(s) <= 256 && httpguts.ValidHeaderFieldName(s)
}

// integer returns v as an int when it is an integral number in [lo, hi].
func integer(v goja.Value, lo, hi int) (int, bool) {
	if v == nil || !goja.IsNumber(v) {
		return 0, false
	}
	f := v.ToFloat()
	if f != float64(int(f)) || int(f) < lo || int(f) > hi {
		return 0, false
	}
	return int(f), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// normaliseErrors is the reactor SDK's errors normalisation (§6.4), applied
// again in Go to whatever the thrown object holds:
//
//	an array        → {error: [each item as text]}
//	an Error        → {error: [message, or name, or the fallback text]}
//	an object       → each member as a list of texts (arrays item by item,
//	                  objects as JSON, falsy values as the fallback text)
//	a string        → {error: [s]}
//	anything truthy → {error: [String(x)]}
//	nothing, falsy  → {error: [fallback text]}
//
// Texts are truncated and the whole map is bounded by MaxPayload; past
// that it is replaced by the fallback.
func (c *Call) normaliseErrors(v goja.Value) map[string][]string {
	fallback := map[string][]string{"error": {fallbackMessage}}
	t := &errorTexts{c: c, budget: c.rt.limits.MaxPayload}
	var out map[string][]string
	switch o, isObj := v.(*goja.Object); {
	case isObj && o.ClassName() == "Array":
		out = map[string][]string{"error": t.list(o)}
	case isObj && o.ClassName() == "Error":
		out = map[string][]string{"error": {errorMessage(o)}}
	case isObj:
		if _, fn := goja.AssertFunction(o); fn {
			out = map[string][]string{"error": {t.text(o)}}
			break
		}
		out = t.members(o)
	case v != nil && goja.IsString(v), v != nil && v.ToBoolean():
		out = map[string][]string{"error": {t.text(v)}}
	default:
		return fallback
	}
	if t.budget < 0 {
		return fallback
	}
	return out
}

// errorTexts turns the parts of one thrown value into error texts. budget
// is shared by every text of the value, so many small members cannot add
// up past MaxPayload; once it is below zero the caller uses the fallback.
type errorTexts struct {
	c      *Call
	budget int
}

// text is one value as the SDK prints it: objects as JSON, symbols
// described, nothing as the fallback text.
func (t *errorTexts) text(x goja.Value) string {
	var s string
	switch sym, isSym := x.(*goja.Symbol); {
	case x == nil || goja.IsUndefined(x) || goja.IsNull(x):
		s = fallbackMessage
	case isSym:
		s = "Symbol(" + sym.String() + ")"
	default:
		if o, ok := x.(*goja.Object); ok {
			if _, fn := goja.AssertFunction(o); !fn {
				s = t.c.jsonText(o)
				break
			}
		}
		s = x.String()
	}
	s = truncate(s, maxDetail)
	t.budget -= len(s)
	return s
}

// list is an array's items as texts; nil for anything else. The length is
// checked first: a sparse array's length can be far beyond its items.
func (t *errorTexts) list(x goja.Value) []string {
	o, ok := x.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return nil
	}
	n := o.Get("length").ToInteger()
	if n < 0 || n > int64(t.budget) {
		t.budget = -1
		return nil
	}
	out := make([]string, 0, n)
	for i := int64(0); i < n && t.budget >= 0; i++ {
		out = append(out, t.text(o.Get(strconv.FormatInt(i, 10))))
	}
	return out
}

// members is an object's members, each as a list of texts: arrays item by
// item, objects and truthy values as one text, falsy ones as the fallback.
func (t *errorTexts) members(o *goja.Object) map[string][]string {
	out := map[string][]string{}
	for _, k := range o.Keys() {
		t.budget -= len(k)
		if t.budget < 0 {
			break
		}
		m := o.Get(k)
		switch mo, ok := m.(*goja.Object); {
		case ok && mo.ClassName() == "Array":
			out[k] = t.list(mo)
		case ok:
			out[k] = []string{t.text(mo)}
		case m != nil && m.ToBoolean():
			out[k] = []string{t.text(m)}
		default:
			out[k] = []string{fallbackMessage}
		}
	}
	return out
}

// errorMessage is what the SDK shows for an Error: its message, else its
// name, else the fallback text.
func errorMessage(o *goja.Object) string {
	for _, f := range []string{"message", "name"} {
		if m := o.Get(f); m != nil && m.ToBoolean() {
			return truncate(m.String(), maxDetail)
		}
	}
	return fallbackMessage
}

// jsonText is JSON.stringify of an object for an error message, or
// "[object Object]" when it has no JSON form.
func (c *Call) jsonText(o *goja.Object) string {
	val, ok, err := newExporter(c.VM, maxDetail*4).export("", o, 0)
	if err != nil || !ok {
		return "[object Object]"
	}
	b, err := jsonorder.Marshal(val)
	if err != nil {
		return "[object Object]"
	}
	return string(b)
}
