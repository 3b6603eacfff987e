// Package errs defines the errors every service returns for what a user did wrong, so
// that one handler can turn them into a status code and a localised message.
//
// Messages are message IDs from frontend/locales with their arguments, never English text:
// the service knows what went wrong, the handler knows the reader's language.
package errs

import (
	"errors"
	"strings"
)

// Kinds of failure, matched with errors.Is.
var (
	ErrNotFound     = errors.New("not found")           // 404
	ErrForbidden    = errors.New("forbidden")           // 403
	ErrUnauthorized = errors.New("not signed in")       // 401 / redirect to sign-in
	ErrConflict     = errors.New("conflict")            // 409
	ErrTooMany      = errors.New("too many attempts")   // 429
	ErrInvalid      = errors.New("invalid input")       // 422, see Fields
	ErrSuspended    = errors.New("account suspended")   // 403 with the reason
	ErrUnavailable  = errors.New("service unavailable") // 503
	ErrGone         = errors.New("removed")             // 410: hidden by moderators, said so
)

// Message is a localisable message: an ID from the locale files and its arguments as
// name/value pairs.
type Message struct {
	ID   string
	Args []any
}

// Error is a failure of one kind with a message for the user.
type Error struct {
	Kind    error
	Message Message
	Link    string // where the user can go about it, e.g. the existing review; optional
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message.ID }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an error of kind with a message.
func New(kind error, messageID string, args ...any) *Error {
	return &Error{Kind: kind, Message: Message{ID: messageID, Args: args}}
}

// Fields collects a message per invalid input field, in the order they were found.
type Fields struct {
	Order  []string
	ByName map[string]Message
}

// Add records a problem with a field; the first problem with a field wins.
func (f *Fields) Add(field, messageID string, args ...any) {
	if f.ByName == nil {
		f.ByName = map[string]Message{}
	}
	if _, ok := f.ByName[field]; ok {
		return
	}
	f.Order = append(f.Order, field)
	f.ByName[field] = Message{ID: messageID, Args: args}
}

// Err returns nil when no field was invalid, so validation ends with `return f.Err()`.
func (f *Fields) Err() error {
	if f == nil || len(f.Order) == 0 {
		return nil
	}
	return f
}

func (f *Fields) Error() string { return "invalid " + strings.Join(f.Order, ", ") }
func (f *Fields) Unwrap() error { return ErrInvalid }

// Field returns a Fields error with a single problem.
func Field(field, messageID string, args ...any) error {
	var f Fields
	f.Add(field, messageID, args...)
	return &f
}
