package handlers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// errorPage is the data of the error template.
type errorPage struct {
	Status    int
	Message   string
	RequestID string
}

// apiError is the JSON body of every /api/v1 error.
type apiError struct {
	Error struct {
		Status    int    `json:"status"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// localisedStatuses have their own messages; other codes use their class's (400 or 500).
var localisedStatuses = map[int]bool{400: true, 403: true, 404: true, 405: true, 413: true, 429: true, 500: true, 503: true}

// handleError turns every error into a localised page, or JSON under /api/. Internals are
// logged with the request ID and never shown.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
	}
	requestID := fmt.Sprint(c.Locals("requestid"))
	if c.Locals("requestid") == nil {
		requestID = ""
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "request_id", requestID, "err", err)
	}

	key := status
	if !localisedStatuses[key] {
		key = status / 100 * 100
		if !localisedStatuses[key] {
			key = fiber.StatusInternalServerError
		}
	}
	lang := s.language(c)
	titleID := fmt.Sprintf("error.%d.title", key)
	message := s.catalog.T(lang, fmt.Sprintf("error.%d.message", key))

	// A body may be half-written when the error struck; the headers (request ID, security) stay.
	c.Response().ResetBody()
	if isAPI(c) {
		var body apiError
		body.Error.Status, body.Error.Message, body.Error.RequestID = status, message, requestID
		return c.Status(status).JSON(body)
	}
	page := errorPage{Status: status, Message: message, RequestID: requestID}
	if renderErr := s.render(c, status, "error", titleID, page); renderErr != nil {
		s.log.Error("render error page", "err", renderErr)
		return c.Status(status).SendString(s.catalog.T(lang, titleID))
	}
	return nil
}

// isAPI reports whether a request is for the JSON API.
func isAPI(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/")
}
