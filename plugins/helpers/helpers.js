// require('@strongroom/helpers'): small helpers for payments integrations.
// Evaluated once per execution as a function of `native`, the Go half
// (randomness and crypto come from Go's crypto packages).
(function (native) {
  'use strict';

  // luhn reports whether a card number passes the Luhn (mod 10) check.
  // Spaces and dashes are ignored; anything else that is not a digit fails.
  function luhn(number) {
    if (typeof number !== 'string' && typeof number !== 'number') return false;
    var digits = String(number).replace(/[\s-]/g, '');
    if (!/^\d{2,19}$/.test(digits)) return false;
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return sum % 10 === 0;
  }

  return Object.freeze({
    luhn: luhn,
    // uuid returns a random (version 4) UUID from crypto/rand.
    uuid: native.uuid,
    // base64Encode(text, urlSafe?) encodes the UTF-8 bytes of text.
    base64Encode: native.base64Encode,
    // base64Decode(b64) decodes standard or URL-safe base64, padded or not,
    // to text (invalid UTF-8 becomes U+FFFD).
    base64Decode: native.base64Decode,
    // hmacSha256Hex(key, message) is HMAC-SHA256 of the UTF-8 bytes, in
    // lower-case hex (webhook signatures, request signing).
    hmacSha256Hex: native.hmacSha256Hex,
  });
})
