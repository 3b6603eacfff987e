package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/store"
)

// errorPage is the data of the error template.
type errorPage struct {
	Status    int
	Message   string
	RequestID string
}

// localisedStatuses have their own messages; other codes use their class's (400 or 500).
var localisedStatuses = map[int]bool{400: true, 401: true, 403: true, 404: true, 405: true, 409: true,
	410: true, 413: true, 422: true, 429: true, 500: true, 503: true}

// handleError turns every error into a localised page, or JSON under /api/. Internals are
// logged with the request ID and never shown.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := web.Status(err)
	requestID, _ := c.Locals("requestid").(string)
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "request_id", requestID, "err", err)
	}
	lang := s.language(c)

	// A page that needs a signed-in visitor sends an anonymous one to sign in, and back.
	if status == fiber.StatusUnauthorized && !web.IsAPI(c) && c.Method() == fiber.MethodGet {
		return c.Redirect("/signin?next=" + url.QueryEscape(c.OriginalURL()))
	}

	key := status
	if !localisedStatuses[key] {
		key = status / 100 * 100
		if !localisedStatuses[key] {
			key = fiber.StatusInternalServerError
		}
	}
	titleID := fmt.Sprintf("error.%d.title", key)
	message := s.catalog.T(lang, fmt.Sprintf("error.%d.message", key))
	var domain *errs.Error
	if errors.As(err, &domain) {
		message = s.catalog.T(lang, domain.Message.ID, domain.Message.Args...)
	}
	if store.CannotWrite(err) {
		message = s.catalog.T(lang, "error.write_refused")
	}
	var fields *errs.Fields
	errors.As(err, &fields)

	// A body may be half-written when the error struck; the headers (request ID, security) stay.
	c.Response().ResetBody()
	if answersJSON(c) {
		var body web.ErrorBody
		body.Error.Status, body.Error.Message, body.Error.RequestID = status, message, requestID
		if fields != nil {
			body.Error.Fields = web.FieldMessages(s.catalog, lang, fields)
		}
		if domain != nil {
			body.Error.Link = domain.Link
		}
		return c.Status(status).JSON(body)
	}
	if fields != nil {
		var list []string
		for _, name := range fields.Order {
			list = append(list, web.FieldMessages(s.catalog, lang, fields)[name])
		}
		message = strings.Join(list, " ")
	}
	page := errorPage{Status: status, Message: message, RequestID: requestID}
	if renderErr := s.render(c, status, "error", titleID, page); renderErr != nil {
		s.log.Error("render error page", "err", renderErr)
		return c.Status(status).SendString(s.catalog.T(lang, titleID))
	}
	return nil
}

// answersJSON reports whether a request's errors are JSON: the API's, and the upload the
// post editor's script makes.
func answersJSON(c *fiber.Ctx) bool {
	return web.IsAPI(c) || c.Path() == "/uploads"
}
