package token

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a client-supplied token id.
const (
	IDMinLen = 3
	IDMaxLen = 400
)

// idForbidden are the characters a client-supplied id may not contain.
const idForbidden = `#/\+?[]|&=%<>{}^`

// IsAliasExpression reports whether a client-supplied id is a Liquid alias
// expression (it contains "{{"), which the caller must evaluate against the
// token data before validating the result with ValidateID.
func IsAliasExpression(id string) bool { return strings.Contains(id, "{{") }

// ValidateID checks a literal client-supplied token id: 3 to 400 characters
// (runes), valid UTF-8, no control characters, and none of
// # / \ + ? [ ] | & = % < > { } ^. Alias expressions (IsAliasExpression)
// are not literals and are accepted as they are.
func ValidateID(id string) error {
	if IsAliasExpression(id) {
		return nil
	}
	if !utf8.ValidString(id) {
		return errors.New("id must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(id); n < IDMinLen || n > IDMaxLen {
		return errors.New("id must be between 3 and 400 characters long")
	}
	if strings.ContainsAny(id, idForbidden) {
		return errors.New(`id must not contain any of the characters # / \ + ? [ ] | & = % < > { } ^`)
	}
	if strings.ContainsFunc(id, unicode.IsControl) {
		return errors.New("id must not contain control characters")
	}
	return nil
}
