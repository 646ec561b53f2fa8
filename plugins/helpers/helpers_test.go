package helpers

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/reactor"
)

func TestHelpers(t *testing.T) {
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, Module{})
	p, err := r.Compile(`const h = require('@strongroom/helpers');
	module.exports = async () => {
		const errs = [];
		for (const f of [() => h.base64Decode('!!'), () => h.hmacSha256Hex(1, 'x'), () => h.base64Encode()]) {
			try { f(); errs.push('ok') } catch (e) { errs.push(e.name) }
		}
		let frozen = true;
		try { h.luhn = () => true; frozen = h.luhn('1') === false } catch (e) {}
		return { raw: {
			luhn: [h.luhn('4242424242424242'), h.luhn('4242 4242-4242 4242'), h.luhn('4242424242424241'), h.luhn('79927398713'), h.luhn(79927398713), h.luhn('0'), h.luhn('4242x'), h.luhn(null), h.luhn('')],
			uuid: [h.uuid(), h.uuid() !== h.uuid()],
			b64: [h.base64Encode('user:pass'), h.base64Encode('€?>', true), h.base64Decode('dXNlcjpwYXNz'), h.base64Decode('4oKsPz4'), h.base64Decode('4oKsPz4=')],
			hmac: h.hmacSha256Hex('key', 'The quick brown fox jumps over the lazy dog'),
			errs, frozen,
		} };
	}`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), p, reactor.Invocation{})
	if err != nil {
		t.Fatal(err)
	}
	raw := res.Raw.(*jsonorder.Object)
	uuid := raw.Values["uuid"].([]any)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(uuid[0].(string)) || uuid[1] != true {
		t.Errorf("uuid = %v", uuid)
	}
	raw.Values["uuid"] = nil
	b, _ := jsonorder.Marshal(raw)
	want := `{"luhn":[true,true,false,true,true,false,false,false,false],"uuid":null,` +
		`"b64":["dXNlcjpwYXNz","4oKsPz4","user:pass","€?>","€?>"],` +
		`"hmac":"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",` +
		`"errs":["TypeError","TypeError","TypeError"],"frozen":true}`
	if string(b) != want {
		t.Errorf("raw =\n%s\nwant\n%s", b, want)
	}
}

func TestCaddyModule(t *testing.T) {
	info, err := caddy.GetModule("vault.reactor_modules.helpers")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := info.New().(reactor.Module); !ok || m.Name() != Name {
		t.Fatalf("module = %#v", info.New())
	}
}
