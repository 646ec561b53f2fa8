// Package helpers is the reactor module "@strongroom/helpers": a few
// functions payments integrations keep rewriting, so reactor code does not
// need npm packages the sandbox does not have.
//
//	const { luhn, uuid, base64Encode, base64Decode, hmacSha256Hex } = require('@strongroom/helpers');
//	luhn('4242 4242 4242 4242')              // true
//	uuid()                                   // '0b6d5d1e-…' (version 4, crypto/rand)
//	base64Encode('user:pass')                // 'dXNlcjpwYXNz' (base64Encode(s, true): URL-safe, unpadded)
//	base64Decode('dXNlcjpwYXNz')             // 'user:pass' (standard or URL-safe, padded or not)
//	hmacSha256Hex('secret', body)            // lower-case hex
//
// luhn is JavaScript (helpers.js, embedded); the others are Go.
package helpers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/reactor"
)

// Name is the require() name.
const Name = "@strongroom/helpers"

//go:embed helpers.js
var source string

var program = reactor.MustCompileModule("strongroom-helpers.js", source)

// Module provides the helpers. It has no configuration.
type Module struct{}

// Name returns "@strongroom/helpers".
func (Module) Name() string { return Name }

// Load builds the helpers in the execution's runtime.
func (Module) Load(c *reactor.Call) (goja.Value, error) {
	vm := c.VM
	str := func(call goja.FunctionCall, i int, what string) string {
		v := call.Argument(i)
		if !goja.IsString(v) {
			panic(vm.NewTypeError("The %q argument must be a string", what))
		}
		return v.String()
	}
	native := vm.NewObject()
	_ = native.Set("uuid", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(uuid4())
	})
	_ = native.Set("base64Encode", func(call goja.FunctionCall) goja.Value {
		s := str(call, 0, "text")
		if call.Argument(1).ToBoolean() {
			return vm.ToValue(base64.RawURLEncoding.EncodeToString([]byte(s)))
		}
		return vm.ToValue(base64.StdEncoding.EncodeToString([]byte(s)))
	})
	_ = native.Set("base64Decode", func(call goja.FunctionCall) goja.Value {
		b, err := decodeBase64(str(call, 0, "b64"))
		if err != nil {
			panic(vm.NewTypeError("The input is not valid base64"))
		}
		return vm.ToValue(string(b))
	})
	_ = native.Set("hmacSha256Hex", func(call goja.FunctionCall) goja.Value {
		mac := hmac.New(sha256.New, []byte(str(call, 0, "key")))
		mac.Write([]byte(str(call, 1, "message")))
		return vm.ToValue(hex.EncodeToString(mac.Sum(nil)))
	})
	return c.RunModule(program, native)
}

// uuid4 returns a random RFC 9562 version 4 UUID.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on broken entropy)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// decodeBase64 accepts standard and URL-safe alphabets, with or without
// padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
