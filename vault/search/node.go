package search

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type opKind uint8

const (
	opTerm opKind = iota
	opAnd
	opOr
	opNot
)

type node struct {
	op   opKind
	kids []*node // opAnd, opOr: two or more; opNot: one
	term Term    // opTerm

	// Compiled bounds of created_at / expires_at terms (exact or range).
	lo, hi         time.Time
	hasLo, hasHi   bool
	loIncl, hiIncl bool
}

// combine builds an n-ary AND/OR node, flattening nested nodes of the same
// operator; one kid is returned as is.
func combine(op opKind, kids []*node) *node {
	if len(kids) == 1 {
		return kids[0]
	}
	flat := make([]*node, 0, len(kids))
	for _, k := range kids {
		if k.op == op {
			flat = append(flat, k.kids...)
		} else {
			flat = append(flat, k)
		}
	}
	return &node{op: op, kids: flat}
}

// setLower/setUpper compile a time bound. A date-only value is the whole UTC
// day: an inclusive lower bound starts at its first instant, an exclusive one
// after its last; an inclusive upper bound ends after its last instant, an
// exclusive one before its first.
func (n *node) setLower(t time.Time, dateOnly, incl bool) {
	n.hasLo, n.lo, n.loIncl = true, t, incl
	if dateOnly && !incl {
		n.lo, n.loIncl = t.AddDate(0, 0, 1), true
	}
}

func (n *node) setUpper(t time.Time, dateOnly, incl bool) {
	n.hasHi, n.hi, n.hiIncl = true, t, incl
	if dateOnly && incl {
		n.hi, n.hiIncl = t.AddDate(0, 0, 1), false
	}
}

func (n *node) walk(fn func(*node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, k := range n.kids {
		k.walk(fn)
	}
}

func (n *node) eval(f Fields) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.eval(f) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.eval(f) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].eval(f)
	}
	if n.term.Field == FieldData {
		return f.DataMatches(n.term.Value)
	}
	if mf, ok := f.(MultiFields); ok {
		if vs := mf.Values(n.term.Field); len(vs) > 0 {
			for _, v := range vs {
				if n.matchValue(v) {
					return true
				}
			}
			return false
		}
	}
	v, ok := f.Value(n.term.Field)
	return ok && n.matchValue(v)
}

func (n *node) matchValue(v string) bool {
	t := &n.term
	if isTimeField(t.Field) {
		tv, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return false
		}
		if n.hasLo {
			if c := tv.Compare(n.lo); c < 0 || (c == 0 && !n.loIncl) {
				return false
			}
		}
		if n.hasHi {
			if c := tv.Compare(n.hi); c > 0 || (c == 0 && !n.hiIncl) {
				return false
			}
		}
		return true
	}
	meta := strings.HasPrefix(t.Field, metadataPrefix)
	switch {
	case t.Range != nil:
		if meta {
			v = strings.ToLower(v)
		}
		for _, b := range []struct {
			Bound
			sign int
		}{{t.Range.Lower, 1}, {t.Range.Upper, -1}} {
			if b.Unbounded {
				continue
			}
			bv := b.Value
			if meta {
				bv = strings.ToLower(bv)
			}
			c := strings.Compare(v, bv) * b.sign
			if c < 0 || (c == 0 && !b.Inclusive) {
				return false
			}
		}
		return true
	case t.Prefix && meta:
		return hasPrefixFold(v, t.Value)
	case t.Prefix:
		return strings.HasPrefix(v, t.Value)
	case meta:
		return strings.EqualFold(v, t.Value)
	}
	return v == t.Value
}

// hasPrefixFold is strings.HasPrefix under simple Unicode case folding.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		_, n1 := utf8.DecodeRuneInString(s)
		_, n2 := utf8.DecodeRuneInString(prefix)
		if !strings.EqualFold(s[:n1], prefix[:n2]) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

// Rendering.

func prec(op opKind) int {
	switch op {
	case opOr:
		return 1
	case opAnd:
		return 2
	case opNot:
		return 3
	}
	return 4
}

func (n *node) write(b *strings.Builder, parent int) {
	if n.op == opTerm {
		writeTerm(b, n.term)
		return
	}
	paren := prec(n.op) < parent
	if paren {
		b.WriteByte('(')
	}
	switch n.op {
	case opNot:
		b.WriteString("NOT ")
		n.kids[0].write(b, prec(opNot))
	default:
		sep := " AND "
		if n.op == opOr {
			sep = " OR "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// An equal-precedence child can only be a NOT (AND/OR are flattened).
			k.write(b, prec(n.op)+1)
		}
	}
	if paren {
		b.WriteByte(')')
	}
}

func writeTerm(b *strings.Builder, t Term) {
	b.WriteString(t.Field)
	b.WriteByte(':')
	switch {
	case t.Range != nil:
		if t.Range.Lower.Inclusive {
			b.WriteByte('[')
		} else {
			b.WriteByte('{')
		}
		writeBound(b, t.Range.Lower)
		b.WriteString(" TO ")
		writeBound(b, t.Range.Upper)
		if t.Range.Upper.Inclusive {
			b.WriteByte(']')
		} else {
			b.WriteByte('}')
		}
	case t.Prefix:
		for _, r := range t.Value {
			if unicode.IsSpace(r) || strings.ContainsRune(`()\*"[{`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('*')
	default:
		writeQuoted(b, t.Value)
	}
}

func writeBound(b *strings.Builder, bd Bound) {
	if bd.Unbounded {
		b.WriteByte('*')
		return
	}
	writeQuoted(b, bd.Value)
}

func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}
