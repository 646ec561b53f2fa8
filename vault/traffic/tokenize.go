package traffic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/jsonpath"
	"github.com/strongroom/strongroom/vault/problem"
)

// Field names a field of a body and the token type its values become.
type Field struct {
	Path string `json:"path,omitempty"` // JSONPath (fields of a JSON body)
	Name string `json:"name,omitempty"` // form field name (form_fields)
	Type string `json:"type"`
}

// NewToken is one value to tokenize: its token type, its data as JSON,
// and the field it came from (to name it in an error).
type NewToken struct {
	Type  string
	Data  json.RawMessage
	Field string
}

// Creator creates the tokens of one body, all or none, and returns their
// ids in order.
type Creator func([]NewToken) ([]string, error)

// Tokenizer replaces configured fields of JSON and form bodies with the
// ids of new tokens, so what comes after it never sees the plaintext. It
// fails closed: a member that looks like a configured field without being
// it (`Card.Number`, `PAN`, `pan[]`) is refused, since its raw value would
// pass untokenized.
type Tokenizer struct {
	fields, form []Field
	paths        []jsonpath.Path
	// exactJSON and exactForm are the configured member names; names are
	// all of them normalised (normalName), to spot look-alikes.
	exactJSON, exactForm, names map[string]bool
}

// NewTokenizer compiles JSON fields (by path) and form fields (by name).
func NewTokenizer(fields, formFields []Field) (*Tokenizer, error) {
	t := &Tokenizer{fields: fields, form: formFields,
		exactJSON: map[string]bool{}, exactForm: map[string]bool{}, names: map[string]bool{}}
	for _, f := range fields {
		p, err := jsonpath.ParseField(f.Path)
		if err != nil {
			return nil, err
		}
		t.paths = append(t.paths, p)
		for _, k := range p.Keys() {
			t.exactJSON[k], t.names[normalName(k)] = true, true
		}
	}
	for _, f := range formFields {
		t.exactForm[f.Name], t.names[normalName(f.Name)] = true, true
	}
	return t, nil
}

// HasJSONFields reports whether any JSON field is configured.
func (t *Tokenizer) HasJSONFields() bool { return len(t.paths) > 0 }

// RefuseUnreadable refuses (415) a request body this tokenizer cannot
// read, unless allowUnparsed lets such bodies through unchanged.
func RefuseUnreadable(contentType string, allowUnparsed bool) error {
	if IsJSON(contentType) || IsForm(contentType) || allowUnparsed {
		return nil
	}
	if contentType == "" {
		return problem.New(http.StatusUnsupportedMediaType, "The request body has no Content-Type; this route tokenizes JSON or form bodies only.")
	}
	return problem.New(http.StatusUnsupportedMediaType, "This route tokenizes JSON or form bodies only; the body's Content-Type is not one of them.")
}

// JSON replaces each selected value of a JSON body with the id of a new
// token. guard refuses look-alike members first (for what a client sends;
// an answer's members are the application's own).
func (t *Tokenizer) JSON(body []byte, create Creator, guard bool) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	doc, err := jsonorder.Decode(body)
	if err != nil {
		return nil, problem.Invalid("body", "The body is not valid JSON.")
	}
	if guard {
		if err := t.refuseJSONLookalikes(doc, "$"); err != nil {
			return nil, err
		}
	}
	var news []NewToken
	var slots []*any
	for i, path := range t.paths {
		typ := t.fields[i].Type
		path.Replace(doc, func(at string, v any) any {
			if v == nil {
				return nil
			}
			raw, err := jsonorder.Marshal(v)
			if err != nil {
				return v
			}
			news = append(news, NewToken{Type: typ, Data: raw, Field: at})
			slot := new(any)
			slots = append(slots, slot)
			return &lazy{slot}
		})
	}
	if len(news) == 0 {
		return body, nil
	}
	if err := assign(create, news, func(i int, id string) { *slots[i] = id }); err != nil {
		return nil, err
	}
	return jsonorder.Marshal(doc)
}

// lazy is a placeholder filled once the batch of tokens exists.
type lazy struct{ v *any }

func (l *lazy) MarshalJSON() ([]byte, error) { return json.Marshal(*l.v) }

// Form replaces each value of the configured form fields with the id of
// a new token, refusing look-alike field names first.
func (t *Tokenizer) Form(body []byte, create Creator) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, problem.Invalid("body", "The form body is not valid.")
	}
	for k := range form {
		if t.lookalike(k, t.exactForm) {
			return nil, problem.Invalid(k, "This form field looks like a field this route tokenizes but does not match it exactly; send it as configured.")
		}
	}
	var news []NewToken
	type at struct {
		name string
		i    int
	}
	var where []at
	for _, f := range t.form {
		for i, val := range form[f.Name] {
			raw, _ := json.Marshal(val)
			news = append(news, NewToken{Type: f.Type, Data: raw, Field: f.Name})
			where = append(where, at{f.Name, i})
		}
	}
	if len(news) == 0 {
		return body, nil
	}
	if err := assign(create, news, func(i int, id string) { form[where[i].name][where[i].i] = id }); err != nil {
		return nil, err
	}
	return []byte(form.Encode()), nil
}

// assign creates the tokens of one body and puts each id in its place.
func assign(create Creator, news []NewToken, place func(i int, id string)) error {
	ids, err := create(news)
	if err != nil {
		return err
	}
	for i, id := range ids {
		place(i, id)
	}
	return nil
}

// normalName folds case and drops bracket suffixes: `PAN`, `pan[]` and
// `pan[0]` all name `pan`.
func normalName(s string) string {
	if i := strings.IndexByte(s, '['); i > 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// lookalike reports a member name that normalises to a configured one
// without being exactly one of exact.
func (t *Tokenizer) lookalike(name string, exact map[string]bool) bool {
	return !exact[name] && t.names[normalName(name)]
}

// refuseJSONLookalikes walks a decoded body for look-alike member names.
func (t *Tokenizer) refuseJSONLookalikes(v any, at string) error {
	switch n := v.(type) {
	case *jsonorder.Object:
		for _, k := range n.Keys {
			if t.lookalike(k, t.exactJSON) {
				return problem.Invalid(at+"."+k, "This member looks like a field this route tokenizes but does not match it exactly; send it as configured.")
			}
			if err := t.refuseJSONLookalikes(n.Values[k], at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range n {
			if err := t.refuseJSONLookalikes(e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
