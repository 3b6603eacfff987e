// Package web is what the pages (package handlers) and the JSON API (package apiv1) share:
// who is asking, the guards on routes, the request's language, reading a JSON body, and one
// mapping from domain errors to HTTP status codes.
package web

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/store"
)

const (
	userLocal  = "user"
	tokenLocal = "api_token"
	langLocal  = "lang"
)

// User is the signed-in customer (or the one an act_as token acts for), or nil.
func User(c *fiber.Ctx) *customers.Customer {
	u, _ := c.Locals(userLocal).(*customers.Customer)
	return u
}

// SetUser makes u the request's customer; nil signs the request out.
func SetUser(c *fiber.Ctx, u *customers.Customer) {
	if u == nil {
		c.Locals(userLocal, nil)
		return
	}
	c.Locals(userLocal, u)
}

// Token is the API token the request came with, or nil (a browser session, or nobody).
func Token(c *fiber.Ctx) *identity.APIToken {
	t, _ := c.Locals(tokenLocal).(*identity.APIToken)
	return t
}

// SetToken records the API token that authenticated the request.
func SetToken(c *fiber.Ctx, t *identity.APIToken) { c.Locals(tokenLocal, t) }

// Language is the request's language, once the pages' middleware has chosen it.
func Language(c *fiber.Ctx) string {
	if lang, ok := ChosenLanguage(c); ok {
		return lang
	}
	return "en"
}

// ChosenLanguage is the request's language and whether it has been chosen yet.
func ChosenLanguage(c *fiber.Ctx) (string, bool) {
	lang, ok := c.Locals(langLocal).(string)
	return lang, ok
}

// SetLanguage records the request's language.
func SetLanguage(c *fiber.Ctx, lang string) { c.Locals(langLocal, lang) }

// IsAPI reports whether a request is for the JSON API.
func IsAPI(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/")
}

// ParseJSON reads a JSON body; a body that is not JSON is a 400 with a message.
func ParseJSON(c *fiber.Ctx, v any) error {
	if err := c.BodyParser(v); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	return nil
}

// ErrorBody is the JSON body of every /api/v1 error: one message, and one per field when
// the input was wrong (422).
type ErrorBody struct {
	Error struct {
		Status    int               `json:"status"`
		Message   string            `json:"message"`
		Fields    map[string]string `json:"fields,omitempty"`
		Link      string            `json:"link,omitempty"`
		RequestID string            `json:"request_id,omitempty"`
	} `json:"error"`
}

// Status maps the kinds of domain error to HTTP status codes.
func Status(err error) int {
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, errs.ErrInvalid):
		return fiber.StatusUnprocessableEntity
	case errors.Is(err, errs.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, errs.ErrGone):
		return fiber.StatusGone
	case errors.Is(err, errs.ErrUnauthorized):
		return fiber.StatusUnauthorized
	case errors.Is(err, errs.ErrForbidden), errors.Is(err, errs.ErrSuspended):
		return fiber.StatusForbidden
	case errors.Is(err, errs.ErrConflict):
		return fiber.StatusConflict
	case errors.Is(err, errs.ErrTooMany):
		return fiber.StatusTooManyRequests
	case errors.Is(err, errs.ErrUnavailable), store.Unavailable(err):
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// SignedIn guards a route: pages send an anonymous visitor to sign in, the API answers 401.
func SignedIn(c *fiber.Ctx) error {
	if User(c) == nil {
		if IsAPI(c) || c.Method() == fiber.MethodGet {
			return errs.New(errs.ErrUnauthorized, "error.401.message")
		}
		return c.Redirect("/signin", fiber.StatusSeeOther)
	}
	return c.Next()
}

// RequireRole guards a route for customers holding one of roles (admins hold all).
func RequireRole(roles ...customers.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := User(c)
		if u == nil {
			return SignedIn(c)
		}
		if !u.HasAnyRole(roles...) {
			return errs.New(errs.ErrForbidden, "error.403.message")
		}
		return c.Next()
	}
}

// RequireActive guards routes that publish: a suspended customer may read, not post, and is
// told why.
func RequireActive(c *fiber.Ctx) error {
	u := User(c)
	if u == nil {
		return SignedIn(c)
	}
	if u.SuspendedAt(time.Now()) {
		return SuspendedError(u, Language(c))
	}
	return c.Next()
}

// SuspendedError tells a suspended customer why, and until when.
func SuspendedError(u *customers.Customer, lang string) *errs.Error {
	if until := u.Suspension.Until; until != nil {
		// The end is the midnight after the last day; name the last day.
		return errs.New(errs.ErrSuspended, "account.suspended_until", "Reason", u.Suspension.Reason, "Until", FormatDate(until.Add(-time.Second), lang))
	}
	return errs.New(errs.ErrSuspended, "account.suspended", "Reason", u.Suspension.Reason)
}

var monthNames = map[string][]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"id": {"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"},
}

// MonthName is a month's name in lang (English when lang has none).
func MonthName(m time.Month, lang string) string {
	months, ok := monthNames[lang]
	if !ok {
		months = monthNames["en"]
	}
	return months[m-1]
}

// FormatDate writes a date the way each language does: "23 November 2026" in both.
func FormatDate(t time.Time, lang string) string {
	return t.Format("2") + " " + MonthName(t.Month(), lang) + " " + t.Format("2006")
}

// CleanText reports whether b is valid UTF-8 without control characters (C0, DEL, C1) other
// than tab, line feed and carriage return, and without U+FFFD, which is what a decoder
// makes of broken text (an escaped lone surrogate in JSON, for one).
func CleanText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r') {
			return false
		}
		b = b[size:]
	}
	return true
}

// FieldMessages localises a message per field.
func FieldMessages(catalog *frontend.Catalog, lang string, f *errs.Fields) map[string]string {
	out := make(map[string]string, len(f.Order))
	for name, m := range f.ByName {
		out[name] = catalog.T(lang, m.ID, m.Args...)
	}
	return out
}

// CSVCell defuses a cell Excel, LibreOffice or Sheets would run as a formula (OWASP's list:
// = + - @, tab and carriage return) by making it text with a leading quote.
func CSVCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
