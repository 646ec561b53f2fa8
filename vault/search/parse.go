package search

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse parses a search query. Every error is a *SyntaxError.
func Parse(query string) (Query, error) {
	if len(query) > MaxQueryLength {
		return Query{}, errAt(MaxQueryLength, "query exceeds the maximum length of %d bytes", MaxQueryLength)
	}
	if !utf8.ValidString(query) {
		i := 0
		for i < len(query) {
			r, size := utf8.DecodeRuneInString(query[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return Query{}, errAt(i, "query is not valid UTF-8")
	}
	p := &parser{src: query}
	p.skipSpace()
	if p.eof() {
		return Query{}, nil
	}
	n, err := p.parseOr("")
	if err != nil {
		return Query{}, err
	}
	p.skipSpace()
	if !p.eof() {
		// parseOr only stops at ')' or the end.
		return Query{}, errAt(p.pos, `unexpected ")" without a matching "("`)
	}
	return Query{root: n}, nil
}

func errAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tok int

const (
	tokEOF tok = iota
	tokTerm
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
)

type parser struct {
	src   string
	pos   int
	depth int
	terms int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) rune(i int) (rune, int) { return utf8.DecodeRuneInString(p.src[i:]) }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		r, size := p.rune(p.pos)
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += size
	}
}

// boundary reports whether a keyword may end at i.
func (p *parser) boundary(i int) bool {
	if i >= len(p.src) {
		return true
	}
	r, _ := p.rune(i)
	return unicode.IsSpace(r) || r == '(' || r == ')'
}

// peek classifies the token at p.pos (whitespace already skipped) and
// returns its length in bytes.
func (p *parser) peek() (tok, int) {
	if p.eof() {
		return tokEOF, 0
	}
	s := p.src[p.pos:]
	switch {
	case s[0] == '(':
		return tokLParen, 1
	case s[0] == ')':
		return tokRParen, 1
	case strings.HasPrefix(s, "&&"):
		return tokAnd, 2
	case strings.HasPrefix(s, "||"):
		return tokOr, 2
	case s[0] == '!':
		return tokNot, 1
	case strings.HasPrefix(s, "AND") && p.boundary(p.pos+3):
		return tokAnd, 3
	case strings.HasPrefix(s, "OR") && p.boundary(p.pos+2):
		return tokOr, 2
	case strings.HasPrefix(s, "NOT") && p.boundary(p.pos+3):
		return tokNot, 3
	}
	return tokTerm, 0
}

func startsOperand(t tok) bool { return t == tokTerm || t == tokNot || t == tokLParen }

func (p *parser) parseOr(after string) (*node, error) {
	left, err := p.parseAnd(after)
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for {
		p.skipSpace()
		t, n := p.peek()
		if t != tokOr {
			break
		}
		op := p.src[p.pos : p.pos+n]
		p.pos += n
		p.skipSpace()
		right, err := p.parseAnd(op)
		if err != nil {
			return nil, err
		}
		kids = append(kids, right)
	}
	return combine(opOr, kids), nil
}

func (p *parser) parseAnd(after string) (*node, error) {
	left, err := p.parseNot(after)
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for {
		p.skipSpace()
		t, n := p.peek()
		var right *node
		switch {
		case t == tokAnd:
			op := p.src[p.pos : p.pos+n]
			p.pos += n
			p.skipSpace()
			right, err = p.parseNot(op)
		case startsOperand(t): // implicit AND
			right, err = p.parseNot("")
		default:
			return combine(opAnd, kids), nil
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, right)
	}
}

func (p *parser) parseNot(after string) (*node, error) {
	t, n := p.peek()
	if t != tokNot {
		return p.parsePrimary(after)
	}
	opPos := p.pos
	op := p.src[p.pos : p.pos+n]
	p.pos += n
	if p.depth++; p.depth > MaxDepth {
		return nil, errAt(opPos, "query exceeds the maximum nesting depth of %d", MaxDepth)
	}
	p.skipSpace()
	child, err := p.parseNot(op)
	if err != nil {
		return nil, err
	}
	p.depth--
	return &node{op: opNot, kids: []*node{child}}, nil
}

func (p *parser) parsePrimary(after string) (*node, error) {
	t, n := p.peek()
	switch t {
	case tokTerm:
		return p.parseTerm()
	case tokLParen:
		open := p.pos
		p.pos++
		if p.depth++; p.depth > MaxDepth {
			return nil, errAt(open, "query exceeds the maximum nesting depth of %d", MaxDepth)
		}
		p.skipSpace()
		switch t, _ := p.peek(); t {
		case tokRParen:
			return nil, errAt(open, "empty parentheses")
		case tokEOF:
			return nil, errAt(open, `unbalanced "(": missing ")"`)
		}
		inner, err := p.parseOr("(")
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.eof() {
			return nil, errAt(open, `unbalanced "(": missing ")"`)
		}
		p.pos++ // ')'
		p.depth--
		return inner, nil
	}
	// An operator, ')' or the end where a term was expected.
	found := "end of query"
	if t != tokEOF {
		found = fmt.Sprintf("%q", p.src[p.pos:p.pos+n])
	}
	switch {
	case after != "" && after != "(":
		return nil, errAt(p.pos, "expected a term after %q, found %s", after, found)
	case t == tokRParen:
		return nil, errAt(p.pos, `unexpected ")" without a matching "("`)
	default:
		return nil, errAt(p.pos, "expected a term, found %s", found)
	}
}
