package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/mail"
)

// outboxRoutes show admins every email the portal sends; with no SMTP server set (the
// embedded default) this is where emails are read.
func (s *Server) outboxRoutes(app *fiber.App) {
	if s.deps.Outbox == nil {
		return
	}
	admin := web.RequireRole(customers.RoleAdmin)
	app.Get("/admin/outbox", admin, s.outboxPage)
	app.Get("/admin/outbox/:id", admin, s.outboxMessagePage)
	app.Get("/admin/outbox/:id/html", admin, s.outboxMessageHTML)
}

type outboxData struct {
	Messages []*mail.Message
	Next     string
}

func (s *Server) outboxPage(c *fiber.Ctx) error {
	before, _ := bson.ObjectIDFromHex(c.Query("before"))
	list, more, err := s.deps.Outbox.List(c.UserContext(), before, 50)
	if err != nil {
		return err
	}
	d := outboxData{Messages: list}
	if more {
		d.Next = "/admin/outbox?before=" + list[len(list)-1].ID.Hex()
	}
	return s.render(c, fiber.StatusOK, "admin/outbox", "outbox.title", d)
}

func (s *Server) outboxMessage(c *fiber.Ctx) (*mail.Message, error) {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return nil, mail.ErrNotFound
	}
	return s.deps.Outbox.Get(c.UserContext(), id)
}

func (s *Server) outboxMessagePage(c *fiber.Ctx) error {
	m, err := s.outboxMessage(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin/outbox_message", "outbox.title", m)
}

// outboxMessageHTML is the email's HTML as its own document, for the frame on the message
// page: its inline styles need a policy of their own, it runs no script, and its links open
// in a new tab, as in a mail client.
func (s *Server) outboxMessageHTML(c *fiber.Ctx) error {
	m, err := s.outboxMessage(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "+
		"frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox")
	c.Set(fiber.HeaderXFrameOptions, "SAMEORIGIN")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Type("html", "utf-8")
	return c.SendString(strings.Replace(m.HTML, "<head>", `<head><base target="_blank">`, 1))
}
