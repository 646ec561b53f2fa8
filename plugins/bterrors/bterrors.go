// Package bterrors is the reactor module
// "@basis-theory/basis-theory-reactor-formulas-sdk-js": the error classes
// reactor code throws to choose its HTTP response (wire contract §6.4).
//
//	const { BadRequestError, CustomHttpResponseError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
//	throw new BadRequestError({ card: ['expired'] });           // 400 {detail: 'Bad Request', errors: {card: ['expired']}}
//	throw new CustomHttpResponseError({ status: 302, headers: { Location: 'https://…' }, body: {} });
//
// The classes are JavaScript (errors.js, embedded) evaluated in the
// sandbox, so they behave like the npm package: instanceof, name, status,
// errors, toRFC7807(), toResponseBody(). Their prototypes are tagged for
// the runtime, which maps a thrown BasisTheoryReactorError to a
// *reactor.Error and a CustomHttpResponseError to a
// *reactor.CustomHTTPResponse, validating every field again in Go.
package bterrors

import (
	_ "embed"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/reactor"
)

// Name is the require() name.
const Name = "@basis-theory/basis-theory-reactor-formulas-sdk-js"

//go:embed errors.js
var source string

var program = reactor.MustCompileModule("basis-theory-reactor-formulas-sdk-js.js", source)

// Module provides the Basis Theory reactor error classes. It has no
// configuration.
type Module struct{}

// Name returns the npm package name reactor code requires.
func (Module) Name() string { return Name }

// Load evaluates the classes in the execution's runtime.
func (Module) Load(c *reactor.Call) (goja.Value, error) {
	tag := c.VM.ToValue(func(call goja.FunctionCall) goja.Value {
		proto, ok := call.Argument(0).(*goja.Object)
		if !ok {
			panic(c.VM.NewTypeError("tag: not an object"))
		}
		if err := c.TagErrorClass(proto, reactor.ErrorKind(call.Argument(1).String())); err != nil {
			panic(c.VM.NewTypeError("tag: cannot mark the class"))
		}
		return goja.Undefined()
	})
	return c.RunModule(program, tag)
}
