package reactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Values cross the sandbox boundary as JSON values only, never as goja
// wrappers of Go values: goja.Runtime.ToValue of a map, slice or struct gives
// JavaScript a live view of Go memory (writes go through to the caller's map,
// methods become callable). Going in, any Go value is encoded to JSON
// (jsonorder.Marshal), decoded with jsonorder.Decode (member order kept,
// depth bounded) and rebuilt as plain JavaScript objects. Coming out, the
// JavaScript value is walked with JSON.stringify's rules into the same
// jsonorder shapes.

// maxDepth bounds nesting both ways. goja's own JSON and our walkers recurse
// on the Go stack; a result nested a million levels deep would otherwise
// grow the goroutine stack past Go's hard 1 GB limit, which is a fatal error,
// not a panic.
const maxDepth = 512

// errTooLarge is returned when a value's JSON exceeds the payload budget.
var errTooLarge = errors.New("reactor: payload too large")

// encodeJSON encodes a Go value for the sandbox and checks its size.
func encodeJSON(v any, limit int) ([]byte, error) {
	b, err := jsonorder.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// goToJS converts a Go value to a plain JavaScript value in vm, going
// through JSON. limit bounds the encoded size.
func goToJS(vm *goja.Runtime, v any, limit int) (goja.Value, error) {
	d, err := toDecoded(v, limit)
	if err != nil {
		return nil, err
	}
	return decodedToJS(vm, d), nil
}

// toDecoded round-trips a Go value through JSON into jsonorder shapes, so
// nothing of the original Go value (no pointer, no method) survives.
// Separate from goToJS because it may run off the event loop: only
// decodedToJS needs the runtime.
func toDecoded(v any, limit int) (any, error) {
	b, err := encodeJSON(v, limit)
	if err != nil {
		return nil, err
	}
	return jsonorder.Decode(b)
}

// decodedToJS builds JavaScript values from jsonorder.Decode output (and
// the same shapes built by hand). Object members are defined as own data
// properties, so a "__proto__" member is a plain property, as with JSON.parse,
// and never replaces the prototype.
func decodedToJS(vm *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case bool:
		return vm.ToValue(x)
	case string:
		return vm.ToValue(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i >= -(1<<53) && i <= 1<<53 {
			return vm.ToValue(i)
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return goja.Null()
		}
		return vm.ToValue(f)
	case float64:
		return vm.ToValue(x)
	case *jsonorder.Object:
		o := vm.NewObject()
		for _, k := range x.Keys {
			_ = o.DefineDataProperty(k, decodedToJS(vm, x.Values[k]), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
		return o
	case map[string]any:
		return decodedToJS(vm, jsonorder.FromMap(x))
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = decodedToJS(vm, e)
		}
		return vm.NewArray(items...)
	default:
		// Not a decoded shape: take the JSON road.
		b, err := jsonorder.Marshal(x)
		if err != nil {
			return goja.Null()
		}
		d, err := jsonorder.Decode(b)
		if err != nil {
			return goja.Null()
		}
		return decodedToJS(vm, d)
	}
}

// exportError explains why a JavaScript value has no JSON form. Its text is
// written for the API client and never contains host details.
type exportError struct{ msg string }

func (e *exportError) Error() string { return e.msg }

// exporter converts JavaScript values to JSON values (*jsonorder.Object,
// []any, json.Number, string, bool, nil) with JSON.stringify's rules:
// toJSON is called, undefined, functions and symbols are left out of objects
// and become null in arrays, NaN and Infinity become null, Number, String and
// Boolean wrappers are unwrapped, BigInt and cycles are errors. It may run
// reactor code (toJSON, getters, proxy traps), so it must run under
// Call.guard. budget is an estimate of the encoded bytes still allowed; it
// stops a huge or sparse value long before it is built in Go memory.
type exporter struct {
	vm     *goja.Runtime
	budget int
	path   map[*goja.Object]bool
}

func newExporter(vm *goja.Runtime, limit int) *exporter {
	return &exporter{vm: vm, budget: limit, path: map[*goja.Object]bool{}}
}

func (e *exporter) spend(n int) error {
	e.budget -= n
	if e.budget < 0 {
		return errTooLarge
	}
	return nil
}

// errBigInt is JSON.stringify's TypeError for a BigInt, primitive or wrapped.
var errBigInt = &exportError{"a BigInt value cannot be serialised to JSON"}

// export converts v, the value of key in its holder. ok is false when v
// has no JSON form (undefined, a function, a symbol). The steps follow
// JSON.stringify's SerializeJSONProperty: toJSON first, then wrappers
// unwrapped, then primitives, then containers.
func (e *exporter) export(key string, v goja.Value, depth int) (any, bool, error) {
	if depth > maxDepth {
		return nil, false, &exportError{fmt.Sprintf("the value nests deeper than %d levels", maxDepth)}
	}
	v, err := e.callToJSON(key, v)
	if err != nil {
		return nil, false, err
	}
	v = e.unwrap(v)
	o, isObj := v.(*goja.Object)
	if !isObj {
		return e.primitive(v)
	}
	if _, callable := goja.AssertFunction(o); callable {
		return nil, false, nil
	}
	if o.ClassName() == "BigInt" {
		return nil, false, errBigInt
	}
	return e.container(o, depth)
}

// callToJSON replaces an object by what its toJSON(key) returns, as
// JSON.stringify does (Date relies on it). It runs reactor code.
func (e *exporter) callToJSON(key string, v goja.Value) (goja.Value, error) {
	o, isObj := v.(*goja.Object)
	if !isObj {
		return v, nil
	}
	toJSON, callable := goja.AssertFunction(o.Get("toJSON"))
	if !callable {
		return v, nil
	}
	return toJSON(o, e.vm.ToValue(key))
}

// unwrap turns Number, String and Boolean wrapper objects into their
// primitives: JSON.stringify(new Number(1)) is 1, not {}.
func (e *exporter) unwrap(v goja.Value) goja.Value {
	o, isObj := v.(*goja.Object)
	if !isObj {
		return v
	}
	switch o.ClassName() {
	case "Number":
		return o.ToNumber()
	case "String":
		return o.ToString()
	case "Boolean":
		if b, isBool := o.Export().(bool); isBool {
			return e.vm.ToValue(b)
		}
	}
	return v
}

// primitive converts a value that is not an object. NaN and Infinity are
// null, as in JSON.stringify.
func (e *exporter) primitive(v goja.Value) (any, bool, error) {
	if v == nil || goja.IsUndefined(v) {
		return nil, false, nil
	}
	if goja.IsNull(v) {
		return nil, true, e.spend(4)
	}
	if _, isSym := v.(*goja.Symbol); isSym {
		return nil, false, nil
	}
	switch {
	case goja.IsBigInt(v):
		return nil, false, errBigInt
	case goja.IsString(v):
		s := v.String()
		return s, true, e.spend(len(s) + 2)
	case goja.IsNumber(v):
		f := v.ToFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, true, e.spend(4)
		}
		s := v.String() // JavaScript's Number::toString is JSON's number text
		return json.Number(s), true, e.spend(len(s))
	}
	if b, isBool := v.Export().(bool); isBool {
		return b, true, e.spend(5)
	}
	return nil, false, nil
}

// container converts an array or an object. path holds the objects being
// converted above this one, so a cycle is an error instead of endless
// recursion; an object met twice side by side is fine.
func (e *exporter) container(o *goja.Object, depth int) (any, bool, error) {
	if e.path[o] {
		return nil, false, &exportError{"the value contains a circular reference"}
	}
	e.path[o] = true
	defer delete(e.path, o)
	if err := e.spend(2); err != nil {
		return nil, false, err
	}
	if o.ClassName() == "Array" {
		return e.array(o, depth)
	}
	return e.members(o, depth)
}

// array converts an array's elements; one without a JSON form is null.
// The length is checked against the budget first: a sparse array of a
// billion holes must not be walked.
func (e *exporter) array(o *goja.Object, depth int) (any, bool, error) {
	n := o.Get("length").ToInteger()
	if n < 0 || n > int64(e.budget) { // every element costs at least one byte
		return nil, false, errTooLarge
	}
	arr := make([]any, 0, n)
	for i := int64(0); i < n; i++ {
		idx := strconv.FormatInt(i, 10)
		item, ok, err := e.export(idx, o.Get(idx), depth+1)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			item = nil
			if err := e.spend(4); err != nil {
				return nil, false, err
			}
		}
		if err := e.spend(1); err != nil {
			return nil, false, err
		}
		arr = append(arr, item)
	}
	return arr, true, nil
}

// members converts an object's own enumerable members in their order; a
// member without a JSON form is left out.
func (e *exporter) members(o *goja.Object, depth int) (any, bool, error) {
	keys := o.Keys()
	out := &jsonorder.Object{Keys: make([]string, 0, len(keys)), Values: make(map[string]any, len(keys))}
	for _, k := range keys {
		item, ok, err := e.export(k, o.Get(k), depth+1)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		if err := e.spend(len(k) + 4); err != nil {
			return nil, false, err
		}
		out.Set(k, item)
	}
	return out, true, nil
}
