package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// replaceFilter is Liquid's replace, but a missing replacement means "" so
// Basis Theory's `replace: '-'` removes dashes.
func replaceFilter(s, old string, repl func(string) string) string {
	if old == "" {
		return s
	}
	return strings.ReplaceAll(s, old, repl(""))
}

// sliceFilter is Liquid's slice (start, optional length) over strings (by
// rune) and arrays, with out-of-range bounds clamped instead of panicking.
func sliceFilter(v any, start int, length func(int) int) any {
	n := length(1)
	bounds := func(size int) (int, int) {
		s := start
		if s < 0 {
			s += size
		}
		if s < 0 || s >= size || n <= 0 {
			return 0, 0
		}
		end := size
		if n < size-s {
			end = s + n
		}
		return s, end
	}
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		s, e := bounds(len(v))
		return append([]any(nil), v[s:e]...)
	}
	str, ok := scalarText(v)
	if !ok {
		return nil
	}
	rs := []rune(str)
	s, e := bounds(len(rs))
	return string(rs[s:e])
}

func last4Filter(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("last4", v)
	if err != nil {
		return nil, err
	}
	rs := []rune(s)
	if len(rs) <= 4 {
		return s, nil
	}
	return string(rs[len(rs)-4:]), nil
}

func pad(name string, v any, length int, padChar func(string) string, left bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg(name, v)
	if err != nil {
		return nil, err
	}
	if length > maxPad {
		return nil, errorf("%s: length exceeds %d", name, maxPad)
	}
	missing := length - utf8.RuneCountInString(s)
	if missing <= 0 {
		return s, nil
	}
	p := strings.Repeat(string(firstRune(padChar(" "), ' ')), missing)
	if left {
		return p + s, nil
	}
	return s + p, nil
}

func padLeftFilter(v any, length int, padChar func(string) string) (any, error) {
	return pad("pad_left", v, length, padChar, true)
}

func padRightFilter(v any, length int, padChar func(string) string) (any, error) {
	return pad("pad_right", v, length, padChar, false)
}

// revealFilter is `reveal: first, last, maskChar, preserveChars`: it keeps the
// first and last characters, masks the others except those listed in
// preserveChars. When nothing would be masked (first+last covers the value,
// or the result equals the input) the whole value is masked.
func revealFilter(v any, first, last int, maskChar, preserve func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("reveal", v)
	if err != nil {
		return nil, err
	}
	mask := firstRune(maskChar("X"), 'X')
	keep := preserve("")
	first, last = max(first, 0), max(last, 0)
	rs := []rune(s)
	n := len(rs)
	out := make([]rune, n)
	whole := first+last >= n
	for i, r := range rs {
		switch {
		case !whole && (i < first || i >= n-last):
			out[i] = r
		case keep != "" && strings.ContainsRune(keep, r):
			out[i] = r
		default:
			out[i] = mask
		}
	}
	if string(out) == s {
		for i := range out {
			out[i] = mask
		}
	}
	return string(out), nil
}

// revealLastFilter is `reveal_last: n, maskChar`: the last n characters stay,
// earlier letters and digits become maskChar and delimiters stay in place
// (123-45-6789 → XXX-XX-6789).
func revealLastFilter(v any, n int, maskChar func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("reveal_last", v)
	if err != nil {
		return nil, err
	}
	mask := firstRune(maskChar("X"), 'X')
	rs := []rune(s)
	cut := len(rs) - max(n, 0)
	for i := 0; i < cut; i++ {
		if unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]) {
			rs[i] = mask
		}
	}
	return string(rs), nil
}
