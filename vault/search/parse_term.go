package search

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var knownFields = map[string]bool{
	FieldID: true, FieldType: true, FieldData: true, FieldFingerprint: true,
	FieldContainer: true, FieldCreatedAt: true, FieldExpiresAt: true,
}

const fieldList = "id, type, data, fingerprint, container, created_at, expires_at or metadata.<key>"

func isTimeField(f string) bool { return f == FieldCreatedAt || f == FieldExpiresAt }

func (p *parser) parseTerm() (*node, error) {
	start := p.pos
	name, i, err := p.fieldName()
	if err != nil {
		return nil, err
	}
	if p.terms++; p.terms > MaxTerms {
		return nil, errAt(start, "query exceeds the maximum of %d terms", MaxTerms)
	}
	p.pos = i + 1
	n := &node{op: opTerm, term: Term{Field: name}}
	if err := p.termValue(n); err != nil {
		return nil, err
	}
	return n, nil
}

// fieldName reads a term's field name up to its ':' (at end), refusing
// names that are no field.
func (p *parser) fieldName() (name string, end int, err error) {
	start := p.pos
	i := start
	for i < len(p.src) {
		r, size := p.rune(i)
		if r == ':' || unicode.IsSpace(r) {
			break
		}
		if (r == '(' || r == ')') && !strings.HasPrefix(p.src[start:i], metadataPrefix) {
			break
		}
		i += size
	}
	name = p.src[start:i]
	if i >= len(p.src) || p.src[i] != ':' {
		for _, kw := range []string{"AND", "OR", "NOT"} {
			if strings.EqualFold(name, kw) {
				return "", 0, errAt(start, "operators must be upper-case: use %q instead of %q", kw, name)
			}
		}
		if knownFields[name] || strings.HasPrefix(name, metadataPrefix) {
			return "", 0, errAt(i, "missing \":\" and value after field %q", name)
		}
		return "", 0, errAt(start, "expected field:value, found %q", name)
	}
	switch {
	case name == "":
		return "", 0, errAt(start, `missing field name before ":"`)
	case name == metadataPrefix:
		return "", 0, errAt(start, `missing metadata key after "metadata."`)
	case strings.HasPrefix(name, metadataPrefix) || knownFields[name]:
	case name[0] == '-' || name[0] == '+':
		return "", 0, errAt(start, "%q prefixes are not supported; use NOT", name[:1])
	default:
		return "", 0, errAt(start, "unknown field %q; expected %s", name, fieldList)
	}
	return name, i, nil
}

// termValue reads the value of term n at p.pos: a phrase, a range or a
// bare value (a trailing * makes it a prefix).
func (p *parser) termValue(n *node) error {
	name := n.term.Field
	valuePos := p.pos
	var c byte
	if !p.eof() {
		c = p.src[p.pos]
	}
	switch {
	case p.boundary(p.pos) && c != '(':
		return errAt(valuePos, "missing value for field %q", name)
	case c == '(':
		return errAt(valuePos, "grouped values are not supported; write %s:a OR %s:b", name, name)
	case c == '"':
		v, err := p.phrase()
		if err != nil {
			return err
		}
		n.term.Value = v
	case c == '[' || c == '{':
		if name == FieldData {
			return errAt(valuePos, "range queries are not supported on field %q", name)
		}
		if err := p.parseRange(n); err != nil {
			return err
		}
	default:
		v, star, err := p.bare(func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == ')' })
		if err != nil {
			return err
		}
		if star >= 0 {
			if star != p.pos-1 {
				return errAt(star, `wildcard "*" is only supported at the end of a value; escape it as \*`)
			}
			if name != FieldType && !strings.HasPrefix(name, metadataPrefix) {
				return errAt(star, `wildcards are only supported on type and metadata.<key>, not on %q; escape "*" as \*`, name)
			}
			n.term.Prefix = true
			v = v[:len(v)-1]
		}
		n.term.Value = v
	}
	if n.term.Range == nil && isTimeField(name) {
		t, dateOnly, ok := parseTime(n.term.Value)
		if !ok {
			return badTime(valuePos, name, n.term.Value)
		}
		n.setLower(t, dateOnly, true)
		n.setUpper(t, dateOnly, true)
	}
	return nil
}

func badTime(pos int, field, v string) *SyntaxError {
	return errAt(pos, "invalid time %q for %s: expected RFC 3339 (2006-01-02T15:04:05Z) or a date (2006-01-02)", v, field)
}

// bare scans an unquoted value at p.pos up to a rune for which stop is true,
// handling backslash escapes. It returns the unescaped value and the offset of
// the first unescaped '*' (-1 if none; an error if there are several).
func (p *parser) bare(stop func(rune) bool) (string, int, error) {
	var b strings.Builder
	star := -1
	i := p.pos
	for i < len(p.src) {
		r, size := p.rune(i)
		if r == '\\' {
			if i+1 >= len(p.src) {
				return "", -1, errAt(i, `dangling escape "\" at end of query`)
			}
			_, esize := p.rune(i + 1)
			b.WriteString(p.src[i+1 : i+1+esize])
			i += 1 + esize
			continue
		}
		if stop(r) {
			break
		}
		if r == '*' {
			if star >= 0 {
				return "", -1, errAt(star, `wildcard "*" is only supported at the end of a value; escape it as \*`)
			}
			star = i
		}
		b.WriteString(p.src[i : i+size])
		i += size
	}
	p.pos = i
	return b.String(), star, nil
}

// phrase scans a double-quoted value at p.pos; it must be followed by
// whitespace, a parenthesis or the end.
func (p *parser) phrase() (string, error) {
	v, err := p.quoted()
	if err != nil {
		return "", err
	}
	if !p.boundary(p.pos) {
		r, _ := p.rune(p.pos)
		return "", errAt(p.pos, "unexpected %q after quoted value", r)
	}
	return v, nil
}

func (p *parser) quoted() (string, error) {
	open := p.pos
	var b strings.Builder
	i := open + 1
	for {
		if i >= len(p.src) {
			return "", errAt(open, `unterminated quoted value: missing closing '"'`)
		}
		c := p.src[i]
		switch c {
		case '"':
			p.pos = i + 1
			return b.String(), nil
		case '\\':
			if i+1 >= len(p.src) {
				return "", errAt(open, `unterminated quoted value: missing closing '"'`)
			}
			_, size := p.rune(i + 1)
			b.WriteString(p.src[i+1 : i+1+size])
			i += 1 + size
		default:
			b.WriteByte(c)
			i++
		}
	}
}

func (p *parser) parseRange(n *node) error {
	open := p.pos
	field := n.term.Field
	r := &Range{}
	r.Lower.Inclusive = p.src[open] == '['
	p.pos++
	unterminated := func() error {
		return errAt(open, `unterminated range: missing "]" or "}"`)
	}
	p.skipSpace()
	if p.eof() {
		return unterminated()
	}
	if c := p.src[p.pos]; c == ']' || c == '}' {
		return errAt(p.pos, "empty range: expected [lower TO upper]")
	}
	lowerPos := p.pos
	if err := p.bound(&r.Lower); err != nil {
		return err
	}
	if p.eof() {
		return unterminated()
	}
	if r.Lower.Value == "TO" && !r.Lower.Unbounded && p.src[lowerPos] == 'T' {
		return errAt(lowerPos, `missing lower bound before "TO" (use * for an open end)`)
	}
	p.skipSpace()
	if p.eof() {
		return unterminated()
	}
	if p.src[p.pos:] == "TO" {
		return unterminated()
	}
	if !strings.HasPrefix(p.src[p.pos:], "TO") || !isSpaceAt(p.src, p.pos+2) {
		return errAt(p.pos, `expected "TO" after the range's lower bound`)
	}
	p.pos += 2
	p.skipSpace()
	if p.eof() {
		return unterminated()
	}
	if c := p.src[p.pos]; c == ']' || c == '}' {
		return errAt(p.pos, `missing upper bound after "TO" (use * for an open end)`)
	}
	upperPos := p.pos
	if err := p.bound(&r.Upper); err != nil {
		return err
	}
	p.skipSpace()
	if p.eof() {
		return unterminated()
	}
	switch p.src[p.pos] {
	case ']':
		r.Upper.Inclusive = true
	case '}':
	default:
		return errAt(p.pos, `expected "]" or "}" to close the range`)
	}
	p.pos++
	if !p.boundary(p.pos) {
		rr, _ := p.rune(p.pos)
		return errAt(p.pos, "unexpected %q after range", rr)
	}
	if isTimeField(field) {
		if err := n.setTimeRange(r, lowerPos, upperPos); err != nil {
			return err
		}
	}
	n.term.Range = r
	return nil
}

// setTimeRange sets n's time bounds from a range of a time field; the
// positions are the bounds' offsets, for errors.
func (n *node) setTimeRange(r *Range, lowerPos, upperPos int) error {
	field := n.term.Field
	if !r.Lower.Unbounded {
		t, dateOnly, ok := parseTime(r.Lower.Value)
		if !ok {
			return badTime(lowerPos, field, r.Lower.Value)
		}
		n.setLower(t, dateOnly, r.Lower.Inclusive)
	}
	if !r.Upper.Unbounded {
		t, dateOnly, ok := parseTime(r.Upper.Value)
		if !ok {
			return badTime(upperPos, field, r.Upper.Value)
		}
		n.setUpper(t, dateOnly, r.Upper.Inclusive)
	}
	return nil
}

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// bound parses one range end at p.pos: *, a phrase or a bare value.
func (p *parser) bound(b *Bound) error {
	if p.src[p.pos] == '"' {
		v, err := p.quoted()
		if err != nil {
			return err
		}
		b.Value = v
		return nil
	}
	start := p.pos
	v, star, err := p.bare(func(r rune) bool {
		return unicode.IsSpace(r) || r == ']' || r == '}'
	})
	if err != nil {
		return err
	}
	if star >= 0 {
		if star != start || p.pos != start+1 {
			return errAt(star, `wildcards are not allowed in range bounds; use * alone for an open end or escape it as \*`)
		}
		b.Unbounded = true
		return nil
	}
	b.Value = v
	return nil
}

// parseTime accepts RFC 3339 (with optional fractional seconds) or a date.
func parseTime(s string) (t time.Time, dateOnly, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, true
	}
	return time.Time{}, false, false
}
