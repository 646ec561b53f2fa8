package jsonpath

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ohler55/ojg/jp"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// ojg walks maps and slices itself; a *jsonorder.Object it reaches through
// jp.Keyed, which jsonorder.Object cannot implement (its Keys field is the
// name of Keyed's method). view shows ojg a tree through these two wrappers,
// which wrap what they hand out, so ojg never meets a bare *jsonorder.Object.
type (
	orderedView struct{ o *jsonorder.Object }
	mapView     map[string]any
	arrayView   []any
)

func view(v any) any {
	switch x := v.(type) {
	case *jsonorder.Object:
		return orderedView{x}
	case []any:
		return arrayView(x)
	case map[string]any:
		return mapView(x)
	}
	return v
}

// unview returns the tree a view shows.
func unview(v any) any {
	switch x := v.(type) {
	case orderedView:
		return x.o
	case mapView:
		return map[string]any(x)
	case arrayView:
		return []any(x)
	}
	return v
}

func (w orderedView) Keys() []string { return w.o.Keys }

func (w orderedView) ValueForKey(k string) (any, bool) {
	v, ok := w.o.Values[k]
	return view(v), ok
}

func (w orderedView) SetValueForKey(k string, v any) { w.o.Set(k, unview(v)) }

func (w orderedView) RemoveValueForKey(k string) {} // no caller removes

// Keys sorts: a map has no order of its own, and a wildcard's matches
// should not come in a different order each time.
func (m mapView) Keys() []string { return slices.Sorted(maps.Keys(m)) }

func (m mapView) ValueForKey(k string) (any, bool) {
	v, ok := m[k]
	return view(v), ok
}

func (m mapView) SetValueForKey(k string, v any) { m[k] = unview(v) }

func (m mapView) RemoveValueForKey(k string) {} // no caller removes

func (a arrayView) ValueAtIndex(i int) any {
	if i < 0 || i >= len(a) {
		return nil
	}
	return view(a[i])
}

func (a arrayView) SetValueAtIndex(i int, v any) { a[i] = unview(v) }

func (a arrayView) Size() int { return len(a) }

// replaceAt follows a concrete location (members and indexes, as Locate
// gives them) down the tree and replaces the value there with fn's.
func replaceAt(node any, loc jp.Expr, at string, fn func(string, any) any) {
	for len(loc) > 0 {
		if _, ok := loc[0].(jp.Child); ok {
			break
		}
		if _, ok := loc[0].(jp.Nth); ok {
			break
		}
		loc = loc[1:] // $ and bracket markers
	}
	if len(loc) == 0 {
		return
	}
	var get func() any
	var set func(any)
	switch f := loc[0].(type) {
	case jp.Child:
		k := string(f)
		at += "." + k
		switch n := node.(type) {
		case *jsonorder.Object:
			get, set = func() any { return n.Values[k] }, func(v any) { n.Values[k] = v }
		case map[string]any:
			get, set = func() any { return n[k] }, func(v any) { n[k] = v }
		}
	case jp.Nth:
		i := int(f)
		at += fmt.Sprintf("[%d]", i)
		if n, ok := node.([]any); ok && i >= 0 && i < len(n) {
			get, set = func() any { return n[i] }, func(v any) { n[i] = v }
		}
	}
	if get == nil {
		return
	}
	if len(loc) == 1 {
		set(fn(at, get()))
		return
	}
	replaceAt(get(), loc[1:], at, fn)
}
