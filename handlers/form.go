package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// parseForm reads a page's form. Only a form is taken: Fiber's BodyParser would also read a
// JSON body, and through its JSON names set fields a page must never set (an answer's
// idempotency key and date are for staff integrations, form:"-").
func parseForm(c *fiber.Ctx, v any) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, fiber.MIMEApplicationForm) && !strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "send the form as a form")
	}
	if err := c.BodyParser(v); err != nil {
		return fiber.ErrBadRequest
	}
	return nil
}
