package expr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

type detok struct {
	e      *Engine
	opts   Options
	l, r   string
	parsed map[string][]seg // strings holding expressions (nil: none anywhere)
	seen   map[string]bool  // unique token ids
	ids    []string         // unique token ids, first-appearance order
	tokens map[string]Token
}

func (d *detok) collect(v any) error {
	switch v := v.(type) {
	case string:
		return d.collectString(v)
	case map[string]any:
		for _, c := range v {
			if err := d.collect(c); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range v {
			if err := d.collect(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *detok) collectString(s string) error {
	if !strings.Contains(s, d.l) || !strings.Contains(s, d.r) {
		return nil
	}
	if _, done := d.parsed[s]; done {
		return nil
	}
	segs, err := d.e.parseSegments(s, d.l, d.r, d.opts.Vars)
	if err != nil || segs == nil {
		return err
	}
	if d.parsed == nil {
		d.parsed = map[string][]seg{}
		d.seen = map[string]bool{}
	}
	d.parsed[s] = segs
	for _, sg := range segs {
		if sg.x != nil && !sg.x.isVar && !d.seen[sg.x.id] {
			d.seen[sg.x.id] = true
			d.ids = append(d.ids, sg.x.id)
		}
	}
	return nil
}

func (d *detok) resolve(ctx context.Context, r Resolver) error {
	if d.opts.MaxTokens > 0 && len(d.ids) > d.opts.MaxTokens {
		return &TooManyTokensError{Limit: d.opts.MaxTokens, Count: len(d.ids)}
	}
	if len(d.ids) == 0 {
		return nil
	}
	if r == nil {
		return errors.New("expr: Detokenize needs a Resolver")
	}
	d.tokens = make(map[string]Token, len(d.ids))
	missing := map[string]error{}
	for _, id := range d.ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.Resolve(ctx, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				missing[id] = err
				continue
			}
			return err
		}
		d.tokens[id] = t
	}
	if len(missing) > 0 {
		nf := &NotFoundError{IDs: slices.Sorted(maps.Keys(missing))}
		for _, id := range nf.IDs {
			nf.Errs = append(nf.Errs, missing[id])
		}
		return nf
	}
	return nil
}

func (d *detok) substitute(v any) (any, bool, error) {
	switch v := v.(type) {
	case string:
		segs := d.parsed[v]
		if segs == nil {
			return v, false, nil
		}
		out, err := d.render(segs)
		return out, true, err
	case map[string]any:
		var out map[string]any
		for k, c := range v {
			nc, changed, err := d.substitute(c)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = maps.Clone(v)
				}
				out[k] = nc
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case []any:
		var out []any
		for i, c := range v {
			nc, changed, err := d.substitute(c)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = slices.Clone(v)
				}
				out[i] = nc
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	}
	return v, false, nil
}

func (d *detok) render(segs []seg) (any, error) {
	if len(segs) == 1 && segs[0].x != nil {
		v, err := d.eval(segs[0].x)
		if err != nil {
			return nil, err
		}
		if d.opts.StringPrimitives {
			if _, isNum := numberOf(v); isNum {
				return toText(v)
			}
			if _, isBool := v.(bool); isBool {
				return toText(v)
			}
		}
		return deepCopy(v), nil
	}
	var b strings.Builder
	for _, sg := range segs {
		if sg.x == nil {
			b.WriteString(sg.text)
			continue
		}
		v, err := d.eval(sg.x)
		if err != nil {
			return nil, err
		}
		s, err := toText(v)
		if err != nil {
			return nil, exprError(sg.x.raw, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (d *detok) eval(x *dexpr) (v any, err error) {
	switch {
	case x.isVar:
		v = d.opts.Vars[x.id]
		if x.key != "" {
			cfg, _ := v.(map[string]any)
			var ok bool
			if v, ok = cfg[x.key]; !ok {
				return nil, exprError(x.raw, fmt.Errorf("the configuration has no %q entry", x.key))
			}
		}
	case x.whole:
		if t, ok := d.tokens[x.id]; ok {
			obj, err := t.Object()
			if err != nil {
				return nil, err
			}
			if obj != nil {
				v = obj
			}
		}
	default:
		v = d.tokens[x.id].Data
	}
	if x.path != "" {
		if v, err = d.e.safeJSONPath(v, x.path); err != nil {
			return nil, exprError(x.raw, err)
		}
	}
	if x.chain != nil {
		vars := make(map[string]any, len(d.opts.Vars)+1)
		maps.Copy(vars, d.opts.Vars)
		vars[chainVar] = v
		if v, err = d.e.eval(x.raw, x.chain, vars); err != nil {
			var ee *ExprError
			if errors.As(err, &ee) {
				return nil, &ExprError{Expr: x.raw, Msg: ee.Msg, Err: ee.Err}
			}
			return nil, err
		}
	}
	return v, nil
}

// safeJSONPath is jsonPath with panics from the JSONPath library turned into
// errors.
func (e *Engine) safeJSONPath(v any, path string) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &ExprError{Expr: path, Msg: "invalid JSONPath", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return e.jsonPath(v, path)
}

// deepCopy copies maps and slices so results never alias Resolver data.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}
