package httpapi

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/urlpath"
)

// checkPath refuses paths that path cleaning would rewrite: a dot segment
// (`/tokens/../applications`, `%2e%2e`) or, outside `/proxy/`, an empty
// one (`//`). Routing them would answer a redirect to another resource,
// and after `/proxy/` a dot segment would climb out of a pre-configured
// proxy's destination path.
func checkPath(r *http.Request) error {
	escaped := r.URL.EscapedPath()
	if urlpath.HasDotSegment(escaped) || !isProxyPath(r.URL.Path) && urlpath.HasEmptySegment(escaped) {
		return problem.Invalid("path", "The request path must not contain '.', '..' or empty segments.")
	}
	return nil
}

// proxyKey returns the pre-configured proxy key of the request: the
// BT-PROXY-KEY header or the bt-proxy-key query parameter, given once.
func proxyKey(r *http.Request, q url.Values) (string, error) {
	keys := append(r.Header.Values(ProxyKeyHeader), q[proxyKeyQuery]...)
	if len(keys) > 1 {
		return "", problem.Invalid(ProxyKeyHeader, "Send the proxy key once, in BT-PROXY-KEY or bt-proxy-key.")
	}
	if len(keys) == 0 {
		return "", nil
	}
	return keys[0], nil
}

// requiredBody reads a body that must not be empty: tokenizing or
// detokenizing nothing is a caller's mistake, not an empty success.
func requiredBody(r *http.Request, maxBody int64) ([]byte, error) {
	body, err := ReadBody(r, maxBody)
	if err == nil && len(bytes.TrimSpace(body)) == 0 {
		err = problem.Invalid("body", "The request body is required.")
	}
	return body, err
}
