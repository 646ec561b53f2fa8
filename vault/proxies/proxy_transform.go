package proxies

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/reactors"
	"github.com/strongroom/strongroom/vault/traffic"
)

// maxTransformedResponse bounds a destination answer buffered for a
// response transform (the reactor payload limit applies inside too).
const maxTransformedResponse = 8 << 20

// requestTransform runs a pre-configured proxy's request transforms. It
// returns the new body (headers are updated in place), or answered after
// writing a CustomHttpResponseError's response itself.
func (v *Service) requestTransform(w http.ResponseWriter, r *http.Request, px *Proxy, body []byte) (_ []byte, answered bool, _ error) {
	for _, raw := range px.RequestChain() {
		code, err := transformCode(raw)
		if err != nil {
			return nil, false, err
		}
		args := map[string]any{"body": bodyValue(r.Header.Get("Content-Type"), body), "headers": flatHeaders(r.Header),
			"method": r.Method, "path": strings.TrimPrefix(r.URL.Path, "/proxy"), "query": queryWithMark(r.URL.RawQuery)}
		res, err := v.RunProxyTransform(r.Context(), px.transformer(), code, args)
		if custom, ok := customResponse(err); ok {
			writeCustom(w, custom)
			return nil, true, nil
		}
		if err != nil {
			return nil, false, reactors.ReactorProblem(err)
		}
		if body, err = applyTransformResult(r.Header, body, res.Value); err != nil {
			return nil, false, err
		}
	}
	return body, false, nil
}

// applyTransformResult takes the headers (set in h) and body a transform
// returned; body is kept when it returned none.
func applyTransformResult(h http.Header, body []byte, result any) ([]byte, error) {
	out := members(result)
	for k, val := range members(out["headers"]) {
		if s, ok := val.(string); ok {
			h.Set(k, s)
		}
	}
	if bv, ok := out["body"]; ok {
		return bodyBytes(bv)
	}
	return body, nil
}

// responseStep is one response transform, checked before the destination
// is called: a mask, or code.
type responseStep struct {
	mask *traffic.Mask
	code string
}

func responseSteps(px *Proxy) ([]responseStep, error) {
	var steps []responseStep
	for i, raw := range px.ResponseChain() {
		if spec, ok := traffic.ParseMaskSpec(raw); ok {
			mask, err := traffic.CompileMask(spec)
			if err != nil { // validated on save: not reached
				return nil, problem.Invalid(fmt.Sprintf("response_transforms[%d]", i), err.Error())
			}
			steps = append(steps, responseStep{mask: mask})
			continue
		}
		code, err := transformCode(raw)
		if err != nil {
			return nil, err
		}
		steps = append(steps, responseStep{code: code})
	}
	return steps, nil
}

// forwardTransformed sends the request and runs the response transforms
// on the (buffered, decoded) answer: masks whatever its status, code on a
// 2xx only (wire contract §4.3).
func (v *Service) forwardTransformed(w http.ResponseWriter, out *http.Request, px *Proxy, f *traffic.Forwarder) error {
	steps, err := responseSteps(px)
	if err != nil {
		return err
	}
	// The transforms must see the answer as text: without the caller's
	// Accept-Encoding the client asks for gzip itself and decodes it (a
	// compressed answer would pass a mask unmasked).
	out.Header.Del("Accept-Encoding")
	resp, err := f.Client.Do(out)
	if err != nil {
		return traffic.ExchangeProblem(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTransformedResponse+1))
	if err != nil {
		return problem.New(http.StatusBadGateway, "The destination's answer could not be read.")
	}
	if len(body) > maxTransformedResponse {
		return problem.New(http.StatusBadGateway, "The destination's answer is too large for a response transform.")
	}
	header := resp.Header.Clone()
	// A mask covers what the client reads: the decoded answer (also when
	// the destination compressed it unasked), whatever its status.
	if body, err = traffic.Decode(header.Get("Content-Encoding"), body, maxTransformedResponse); err != nil {
		return problem.New(http.StatusBadGateway, "The destination's answer could not be decoded for its response transform.")
	}
	header.Del("Content-Encoding")
	header.Del("Etag")
	for _, st := range steps {
		if st.mask != nil {
			body = st.mask.Apply(body)
			continue
		}
		if resp.StatusCode/100 != 2 {
			continue
		}
		args := map[string]any{"body": bodyValue(header.Get("Content-Type"), body), "headers": flatHeaders(header)}
		res, err := v.RunProxyTransform(out.Context(), px.transformer(), st.code, args)
		if custom, ok := customResponse(err); ok {
			writeCustom(w, custom)
			return nil
		}
		if err != nil {
			return reactors.ReactorProblem(err)
		}
		if body, err = applyTransformResult(header, body, res.Value); err != nil {
			return err
		}
	}
	return writeTransformed(w, resp.StatusCode, header, body)
}

// writeTransformed sends a transformed answer with its own length.
func writeTransformed(w http.ResponseWriter, status int, header http.Header, body []byte) error {
	for k, vals := range header {
		w.Header()[k] = vals
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Del("Transfer-Encoding")
	w.Header().Set(traffic.DestinationStatusHeader, strconv.Itoa(status))
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		return &traffic.AnswerCutError{Err: err}
	}
	return nil
}

// transformCode returns the code of a transform ({code} or {type:"code",
// code}); other transform types are refused.
func transformCode(raw []byte) (string, error) {
	var t struct {
		Type string `json:"type"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal(raw, &t); err != nil || t.Type != "" && t.Type != "code" {
		return "", problem.New(http.StatusNotImplemented, "Only code transforms are supported.")
	}
	return t.Code, nil
}

// bodyValue is a body as transform code sees it: parsed JSON when the
// content type says JSON, else text.
func bodyValue(contentType string, body []byte) any {
	if traffic.IsJSON(contentType) && len(body) > 0 {
		if v, err := jsonorder.Decode(body); err == nil {
			return v
		}
	}
	return string(body)
}

// bodyBytes turns a transform's returned body back into bytes.
func bodyBytes(v any) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return []byte{}, nil
	case string:
		return []byte(b), nil
	}
	return jsonorder.Marshal(v)
}

func flatHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k := range h {
		out[k] = h.Get(k)
	}
	return out
}

// members returns the members of a JSON object value from the sandbox
// (ordered or not); nil for anything else.
func members(v any) map[string]any {
	switch o := v.(type) {
	case *jsonorder.Object:
		return o.Values
	case map[string]any:
		return o
	}
	return nil
}

func queryWithMark(raw string) string {
	if raw == "" {
		return ""
	}
	return "?" + raw
}

func customResponse(err error) (*reactor.CustomHTTPResponse, bool) {
	var c *reactor.CustomHTTPResponse
	if errors.As(err, &c) {
		return c, true
	}
	return nil, false
}

// writeCustom sends a CustomHttpResponseError as is (not wrapped).
func writeCustom(w http.ResponseWriter, c *reactor.CustomHTTPResponse) {
	for k, v := range c.Headers {
		w.Header().Set(k, v)
	}
	body, _ := bodyBytes(c.Body)
	if _, isString := c.Body.(string); !isString && c.Body != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(c.Status)
	w.Write(body)
}
