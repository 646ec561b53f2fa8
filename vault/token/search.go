package token

import "strings"

// DefaultSearchIndexes returns the values a token of type typeName is
// searchable by in the v1 model. Only social_security_number and
// employer_id_number are indexed, three ways: the value as given, without
// dashes, and its last 4 digits. Duplicates are dropped, so "123456789"
// gives ["123456789", "6789"]. Other types, and data that is not a string,
// give nil.
func DefaultSearchIndexes(typeName string, data any) []string {
	if typeName != TypeSocialSecurityNumber && typeName != TypeEmployerIDNumber {
		return nil
	}
	s, ok := data.(string)
	if !ok || s == "" {
		return nil
	}
	plain := strings.ReplaceAll(s, "-", "")
	out := []string{s}
	for _, v := range []string{plain, Last4(plain)} {
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup && v != "" {
			out = append(out, v)
		}
	}
	return out
}
