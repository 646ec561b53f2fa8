// The error classes of @basis-theory/basis-theory-reactor-formulas-sdk-js
// (wire contract §6.4), written for Strongroom's sandbox. Evaluated once per
// execution as a function of `tag`, a native function that marks a class
// prototype so the runtime maps thrown instances to HTTP responses.
(function (tag) {
  'use strict';

  var FALLBACK = 'Something went wrong. Please try again. If the problem persists, please contact support@basistheory.com';

  function json(value) {
    try {
      var s = JSON.stringify(value);
      return s === undefined ? String(value) : s;
    } catch (e) {
      return FALLBACK; // circular, BigInt, a throwing toJSON
    }
  }

  function text(value) {
    if (value === null || value === undefined) return FALLBACK;
    if (typeof value === 'object') return json(value);
    return String(value);
  }

  // errors → map<string, string[]>
  function normalize(errors) {
    if (Array.isArray(errors)) return { error: errors.map(text) };
    if (errors instanceof Error) return { error: [errors.message || errors.name || FALLBACK] };
    if (errors !== null && typeof errors === 'object') {
      var out = {};
      Object.keys(errors).forEach(function (key) {
        var value = errors[key];
        if (Array.isArray(value)) out[key] = value.map(text);
        else if (value !== null && typeof value === 'object') out[key] = [json(value)];
        else if (value) out[key] = [String(value)];
        else out[key] = [FALLBACK];
      });
      return out;
    }
    if (typeof errors === 'string') return { error: [errors] };
    if (errors) return { error: [String(errors)] };
    return { error: [FALLBACK] };
  }

  class BasisTheoryReactorError extends Error {
    constructor(options) {
      var o = options || {};
      super(o.message);
      this.name = 'BasisTheoryReactorError';
      this.status = o.status;
      this.errors = normalize(o.errors);
    }

    toRFC7807() {
      return { detail: this.message, status: this.status, errors: this.errors };
    }
  }
  tag(BasisTheoryReactorError.prototype, 'reactor_error');

  function define(name, status, message) {
    var Class = class extends BasisTheoryReactorError {
      constructor(errors) {
        super({ message: message, status: status, errors: errors });
        this.name = name;
      }
    };
    Object.defineProperty(Class, 'name', { value: name });
    return Class;
  }

  class CustomHttpResponseError extends Error {
    constructor(options) {
      var o = options || {};
      super();
      this.name = 'CustomHttpResponseError';
      var status = Number.parseInt(o.status);
      if (status !== o.status || status < 100 || status > 599) {
        throw new Error('status is not a valid integer');
      }
      this.status = status;
      this.headers = o.headers == null ? {} : o.headers;
      this.body = o.body == null ? {} : o.body;
    }

    toResponseBody() {
      return { status: this.status, headers: this.headers, body: this.body };
    }
  }
  tag(CustomHttpResponseError.prototype, 'custom_http_response');

  return {
    BasisTheoryReactorError: BasisTheoryReactorError,
    BadRequestError: define('BadRequestError', 400, 'Bad Request'),
    InvalidReactorConfigurationError: define('InvalidReactorConfigurationError', 400, 'Invalid Reactor Configuration'),
    AuthenticationError: define('AuthenticationError', 401, 'Authentication Failed'),
    InvalidPaymentMethodError: define('InvalidPaymentMethodError', 402, 'Invalid Payment Method'),
    AuthorizationError: define('AuthorizationError', 403, 'Forbidden'),
    InvalidReactorFormulaError: define('InvalidReactorFormulaError', 422, 'Invalid Reactor Formula'),
    RateLimitError: define('RateLimitError', 429, 'Rate Limit Exceeded'),
    ReactorRuntimeError: define('ReactorRuntimeError', 500, 'Reactor Runtime Error'),
    ServiceUnavailableError: define('ServiceUnavailableError', 503, 'Service Unavailable'),
    CustomHttpResponseError: CustomHttpResponseError,
  };
})
