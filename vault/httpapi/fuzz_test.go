package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/problem"
)

var decodeSeeds = []string{
	``, ` `, `{}`, `null`, `[]`, `"x"`, `1`, `{"type":"token","data":"x"}`,
	`{"type":5}`, `{"data":{"a":[1,2,{"b":null}]}}`, `{"privacy":{"impact_level":3}}`,
	`{"id":["x"]}`, `{"search_indexes":"x"}`, `{"expires_at":5}`, `{"expires_at":"nope"}`,
	`{"name":"a","type":"private","rules":[{"priority":"1"}]}`, `{"rules":[{"priority":1e400}]}`,
	`{"permissions":[1]}`, `{"create_key":"yes"}`, `{"page":-1,"size":1.5}`, `{"query":{}}`,
	`{} {}`, `{}x`, `{}}`, `{"type":"token","data":"x"}]`, `{"a":`, `{"a":"\ud800"}`, `{"a":1}garbage`, "\xff\xfe", `[[[[[[[[[[`,
	strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000), `{"data":"` + strings.Repeat("a", 300) + `"}`,
}

type decodeTarget struct {
	name string
	new  func() any
}

var decodeTargets = []decodeTarget{
	{"TokenRequest", func() any { return &vault.TokenRequest{} }},
	{"ApplicationRequest", func() any { return &vault.ApplicationRequest{} }},
	{"SearchRequest", func() any { return &vault.SearchRequest{} }},
	{"TenantUpdate", func() any { return &vault.TenantUpdate{} }},
	{"AtomicRequest", func() any { return &vault.AtomicRequest{} }},
	{"any", func() any { var v any; return &v }},
	{"map", func() any { var m map[string]any; return &m }},
}

func asProblem(t *testing.T, err error, statuses ...int) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a *problem.Problem", err, err)
	}
	for _, s := range statuses {
		if p.Status == s {
			if len(p.Errors) == 0 {
				t.Fatalf("problem %v names no field", p)
			}
			for f := range p.Errors {
				if f == "" {
					t.Fatalf("problem %v has an empty field name", p)
				}
			}
			return p
		}
	}
	t.Fatalf("status %d (%v), want one of %v", p.Status, p, statuses)
	return nil
}

// FuzzDecode: request decoding never panics and every failure is a 400 (or,
// past the body limit, a 413) problem naming a field.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		target := decodeTargets[int(which)%len(decodeTargets)]
		dst := target.new()
		err := decodeBytes(body, dst)
		if err != nil {
			asProblem(t, err, 400)
		} else if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			// A body must be exactly one JSON value.
			t.Fatalf("%s: accepted a body that is not one JSON value: %q", target.name, body)
		}
		// Through a request with a small limit: 413 past it, same as above
		// under it.
		const limit = 64
		req := httptest.NewRequest("POST", "/tokens", bytes.NewReader(body))
		err2 := decode(req, limit, target.new())
		switch {
		case len(body) > limit:
			if p := asProblem(t, err2, 413); p.Status != 413 {
				t.Fatalf("oversized body: %v", err2)
			}
		case (err == nil) != (err2 == nil):
			t.Fatalf("decode and decodeBytes disagree on %q: %v vs %v", body, err, err2)
		case err2 != nil:
			asProblem(t, err2, 400)
		}
		if err != nil {
			// The message must be printable and never echo long input.
			msg := err.Error()
			if !utf8.ValidString(msg) && utf8.Valid(body) {
				t.Fatalf("invalid UTF-8 in error %q", msg)
			}
		}
	})
}

// FuzzParseMetadataFilter: the metadata query forms never panic; a failure
// is a 400 on `metadata`; a JSON object of strings is taken as given.
func FuzzParseMetadataFilter(f *testing.F) {
	for _, s := range [][3]string{
		{"metadata.a", "b", ""}, {"metadata.", "x", `{"k":"v"}`}, {"metadata", "", `{"k":1}`},
		{"x", "y", `null`}, {"metadata.k", "", `[]`}, {"metadata.a.b", "c", `{"a":"1","b":"2"}`},
		{"", "", `{"":""}`}, {"metadata.k", "v", `{"k":"other"}`}, {"metadata.x", "\x00", `"s"`},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, key, val, jsonForm string) {
		q := map[string][]string{key: {val}}
		if jsonForm != "" {
			q["metadata"] = []string{jsonForm}
		}
		got, err := vault.ParseMetadataFilter(q)
		var obj map[string]string
		objErr := json.Unmarshal([]byte(jsonForm), &obj)
		if jsonForm != "" && key != "metadata" && objErr != nil {
			if err == nil {
				t.Fatalf("metadata=%q accepted: %v", jsonForm, got)
			}
		}
		if err != nil {
			p := asProblem(t, err, 400)
			if _, ok := p.Errors["metadata"]; !ok {
				t.Fatalf("error not on metadata: %v", p)
			}
			return
		}
		if got == nil {
			t.Fatal("nil map without error")
		}
		if k, ok := strings.CutPrefix(key, "metadata."); ok && key != "metadata" {
			if _, overridden := obj[k]; !overridden || jsonForm == "" {
				if got[k] != val {
					t.Fatalf("metadata.%s=%q → %q", k, val, got[k])
				}
			}
		}
		if jsonForm != "" && objErr == nil && key != "metadata" {
			for k, v := range obj {
				if got[k] != v {
					t.Fatalf("JSON form %s: got[%q] = %q", jsonForm, k, got[k])
				}
			}
		}
		for k := range got {
			_, inObj := obj[k]
			if !inObj && "metadata."+k != key {
				t.Fatalf("key %q appeared from nowhere (q=%v)", k, q)
			}
		}
	})
}
