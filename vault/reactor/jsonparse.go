package reactor

import (
	"github.com/dop251/goja"
)

// guardJSONParse bounds JSON.parse before goja's decoder runs: it recurses
// once per nesting level with no limit (4,000,000 nested arrays overflow
// the Go stack, a fatal error), so text nested deeper than maxDepth, or
// longer than maxParse(limit), is a SyntaxError, as Node.js gives for text
// it cannot parse.
func guardJSONParse(vm *goja.Runtime, limit int) {
	j, ok := vm.Get("JSON").(*goja.Object)
	if !ok {
		return
	}
	parse, ok := goja.AssertFunction(j.Get("parse"))
	if !ok {
		return
	}
	_ = j.Set("parse", func(call goja.FunctionCall) goja.Value {
		if s := call.Argument(0); goja.IsString(s) {
			text := s.String()
			if len(text) > maxParse(limit) || nesting(text) > maxDepth {
				const msg = "Unexpected token in JSON: nested too deeply or too long"
				e, err := vm.New(vm.Get("SyntaxError"), vm.ToValue(msg))
				if err != nil {
					panic(vm.NewTypeError(msg))
				}
				panic(e)
			}
		}
		v, err := parse(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
}

// maxParse is the longest text JSON.parse takes: sixteen times the payload
// bound (16 MiB by default), far more than any input or fetch response.
func maxParse(limit int) int { return 16 * limit }

// nesting is the deepest bracket nesting of JSON text, strings skipped.
func nesting(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > deepest {
				deepest = depth
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
