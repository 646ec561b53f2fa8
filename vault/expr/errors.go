package expr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/values"
)

// ErrNotFound is the sentinel a Resolver's error must match (errors.Is) for the
// id to count as unknown. Unknown ids are collected over the whole document and
// reported together in a *NotFoundError; any other Resolver error stops
// Detokenize and is returned unchanged.
var ErrNotFound = errors.New("token not found")

// NotFoundError reports every token id of one Detokenize call that the Resolver
// did not find. Its message is Basis Theory's "Failed to detokenize some tokens:
// <ids>". Unwrap yields the Resolver's original errors, so errors.Is/As still
// reach the caller's own typed errors (and ErrNotFound).
type NotFoundError struct {
	IDs  []string // sorted, unique
	Errs []error  // the Resolver errors, in the order of IDs
}

// Error returns "Failed to detokenize some tokens: <ids>".
func (e *NotFoundError) Error() string {
	return "Failed to detokenize some tokens: " + strings.Join(e.IDs, ", ")
}

// Unwrap returns the Resolver errors that caused e.
func (e *NotFoundError) Unwrap() []error { return e.Errs }

// TooManyTokensError is returned, before anything is resolved, when a document
// references more unique token ids than Options.MaxTokens.
type TooManyTokensError struct {
	Limit int // Options.MaxTokens
	Count int // unique token ids found
}

// Error describes the count and the limit.
func (e *TooManyTokensError) Error() string {
	return fmt.Sprintf("Too many tokens: %d unique tokens exceed the limit of %d per request", e.Count, e.Limit)
}

// ExprError is an invalid expression or a failure while evaluating one (bad
// syntax, unknown filter, JSONPath matching several values, a filter rejecting
// its input...). Callers map it to 400. Its message never contains token data:
// Msg is built only from the expression text and fixed wording; the underlying
// error, which may quote values, is only reachable through Unwrap.
type ExprError struct {
	Expr string // the offending expression source
	Msg  string // safe, data-free description
	Err  error  // underlying cause; may contain data, do not show to clients
}

// Error returns the expression and the data-free message.
func (e *ExprError) Error() string {
	return fmt.Sprintf("invalid expression %q: %s", truncate(e.Expr, 200), e.Msg)
}

// Unwrap returns the underlying cause.
func (e *ExprError) Unwrap() error { return e.Err }

// safeError is an error whose text is known not to contain token data; filters
// in this package only return these, so their text may reach clients.
type safeError string

func (e safeError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return safeError(fmt.Sprintf(format, args...)) }

// exprError converts an error from parsing or evaluating src into an *ExprError
// with a data-free message.
func exprError(src string, err error) *ExprError {
	var ee *ExprError
	if errors.As(err, &ee) {
		return ee
	}
	return &ExprError{Expr: src, Msg: safeMessage(err), Err: err}
}

func safeMessage(err error) string {
	// Liquid's template errors expose their cause through Cause(), not Unwrap.
	for i := 0; i < 8; i++ {
		c, ok := err.(interface{ Cause() error })
		if !ok || c.Cause() == nil {
			break
		}
		err = c.Cause()
	}
	var (
		se  safeError
		fe  expressions.FilterError
		uf  expressions.UndefinedFilter
		syn expressions.SyntaxError
		te  values.TypeError
		cpe *values.CallParityError
	)
	switch {
	case errors.As(err, &fe):
		var inner safeError
		if errors.As(fe.Err, &inner) {
			return fmt.Sprintf("filter %q: %s", fe.FilterName, string(inner))
		}
		if errors.As(fe.Err, &cpe) {
			return fmt.Sprintf("filter %q: %s", fe.FilterName, cpe.Error())
		}
		return fmt.Sprintf("filter %q: invalid input or arguments", fe.FilterName)
	case errors.As(err, &se):
		return string(se)
	case errors.As(err, &uf):
		return uf.Error()
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &te):
		return "type conversion failed"
	default:
		return "evaluation failed"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
