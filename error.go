package canopy

import (
	"errors"
	"fmt"
)

// Error codes. They are few on purpose: each maps to one HTTP status in the
// api and web packages, and callers branch on the code, never on text.
const (
	EINVALID      = "invalid"      // the caller sent something we cannot accept
	ENOTFOUND     = "not_found"    // no such thing, or the caller may not know it exists
	ECONFLICT     = "conflict"     // the request clashes with the current state
	EUNAUTHORIZED = "unauthorized" // who is calling is not established
	EFORBIDDEN    = "forbidden"    // the caller may not do this
	ETOOMANY      = "rate_limited" // slow down and try again later
	ETOOLARGE     = "too_large"    // the body is bigger than we read
	EUNAVAILABLE  = "unavailable"  // the node is starting or stopping
	EINTERNAL     = "internal"     // our fault; the cause is in Err, never shown
)

// Error is the error type of the whole node. Key names a message in the
// translation catalogs, so the portal can show it in the reporter's
// language; Fields ties messages to the form fields or JSON members they
// concern. Err keeps the cause for the operator's log and is never shown to
// a user.
type Error struct {
	Code   string
	Key    string
	Fields []FieldError
	Err    error
}

// FieldError is one problem with one input field. Field is the JSON member
// or form name (with an index for lists, such as "urls[2]"); Key names the
// message in the catalogs; Args fill the message's placeholders.
type FieldError struct {
	Field string
	Key   string
	Args  []any
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Key != "" {
		msg += ": " + e.Key
	}
	for i, f := range e.Fields {
		if i == 0 {
			msg += " ("
		} else {
			msg += ", "
		}
		msg += f.Field + ": " + f.Key
		if i == len(e.Fields)-1 {
			msg += ")"
		}
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message key. The
// formatted text becomes the cause for the log, not the user's message.
func Errorf(code, key string, format string, args ...any) *Error {
	var cause error
	if format != "" {
		cause = fmt.Errorf(format, args...)
	}
	return &Error{Code: code, Key: key, Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the first *Error in err's chain, or an internal error
// wrapping err when there is none.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: EINTERNAL, Key: "error.internal", Err: err}
}
