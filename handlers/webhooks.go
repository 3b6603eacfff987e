package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/webhooks"
)

// Webhooks: admins register endpoints, see each one's deliveries, redeliver, ping.
func (s *Server) webhookRoutes(app *fiber.App) {
	if s.deps.Webhooks == nil {
		return
	}
	admin := app.Group("/admin/webhooks", web.RequireRole(customers.RoleAdmin))
	admin.Get("/", s.webhooksPage)
	admin.Post("/", s.webhookCreate)
	admin.Get("/:id", s.webhookPage)
	admin.Post("/:id", s.webhookUpdate)
	admin.Post("/:id/ping", s.webhookAction)
	admin.Post("/:id/rotate", s.webhookAction)
	admin.Post("/:id/active", s.webhookAction)
	admin.Post("/:id/delete", s.webhookAction)
	admin.Post("/:id/deliveries/:delivery/redeliver", s.webhookAction)
}

type webhooksData struct {
	Endpoints []*webhooks.Endpoint
	Endpoint  *webhooks.Endpoint // none: the form is for a new one
	Events    []string
	Form      *form
	Chosen    map[string]bool
}

func (s *Server) webhooksPage(c *fiber.Ctx) error {
	return s.renderWebhooks(c, fiber.StatusOK, nil, nil)
}

func (s *Server) renderWebhooks(c *fiber.Ctx, status int, f *form, chosen []string) error {
	list, err := s.deps.Webhooks.List(c.UserContext())
	if err != nil {
		return err
	}
	d := webhooksData{Endpoints: list, Events: webhooks.Events, Form: f, Chosen: map[string]bool{}}
	for _, e := range chosen {
		d.Chosen[e] = true
	}
	c.Locals(noCacheLocal, true)
	return s.render(c, status, "admin/webhooks", "webhook.title", d)
}

// webhookInput reads the endpoint form: its events are checkboxes of one name.
func webhookInput(c *fiber.Ctx) webhooks.Input {
	in := webhooks.Input{URL: c.FormValue("url"), Description: c.FormValue("description")}
	for _, v := range c.Request().PostArgs().PeekMulti("events") {
		in.Events = append(in.Events, string(v))
	}
	return in
}

func (s *Server) webhookCreate(c *fiber.Ctx) error {
	if err := requireForm(c); err != nil {
		return err
	}
	in := webhookInput(c)
	e, err := s.deps.Webhooks.Create(c.UserContext(), web.User(c).ID, in)
	if err != nil {
		f, err := s.formFailed(c, err, map[string]string{"url": in.URL, "description": in.Description})
		if err != nil {
			return err
		}
		return s.renderWebhooks(c, fiber.StatusUnprocessableEntity, f, in.Events)
	}
	s.flash(c, "flash.webhook_created")
	return c.Redirect("/admin/webhooks/"+e.ID.Hex(), fiber.StatusSeeOther)
}

type webhookData struct {
	Endpoint *webhooks.Endpoint
	Secret   string // shown once, after creating or rotating
	Events   []string
	Chosen   map[string]bool
	Log      []*webhooks.Delivery
	Next     string
	Form     *form
}

func (s *Server) webhookPage(c *fiber.Ctx) error { return s.renderWebhook(c, fiber.StatusOK, nil) }

func (s *Server) renderWebhook(c *fiber.Ctx, status int, f *form) error {
	ctx := c.UserContext()
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return webhooks.ErrNotFound
	}
	e, err := s.deps.Webhooks.Get(ctx, id)
	if err != nil {
		return err
	}
	d := webhookData{Endpoint: e, Events: webhooks.Events, Chosen: map[string]bool{}, Form: f}
	for _, ev := range e.Events {
		d.Chosen[ev] = true
	}
	if d.Secret, err = s.deps.Webhooks.RevealSecret(ctx, id); err != nil {
		return err
	}
	// The log, newest first, a page at a time: after names the last delivery shown.
	var before *webhooks.Delivery
	if after := c.Query("after"); after != "" {
		if before, err = s.deps.Webhooks.Delivery(ctx, id, after); err != nil {
			return err
		}
	}
	const page = 25
	if d.Log, err = s.deps.Webhooks.Log(ctx, id, before, page+1); err != nil {
		return err
	}
	if len(d.Log) > page {
		d.Log = d.Log[:page]
		d.Next = "/admin/webhooks/" + id.Hex() + "?" + url.Values{"after": {d.Log[page-1].ID}}.Encode() + "#log"
	}
	c.Locals(noCacheLocal, true)
	c.Set(fiber.HeaderCacheControl, "private, no-store") // the secret
	return s.renderTitled(c, status, "admin/webhook", e.URL, d)
}

func (s *Server) webhookUpdate(c *fiber.Ctx) error {
	if err := requireForm(c); err != nil {
		return err
	}
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return webhooks.ErrNotFound
	}
	in := webhookInput(c)
	if _, err := s.deps.Webhooks.Update(c.UserContext(), id, in); err != nil {
		f, err := s.formFailed(c, err, map[string]string{"url": in.URL, "description": in.Description})
		if err != nil {
			return err
		}
		return s.renderWebhook(c, fiber.StatusUnprocessableEntity, f)
	}
	s.flash(c, "flash.webhook_saved")
	return c.Redirect("/admin/webhooks/"+id.Hex(), fiber.StatusSeeOther)
}

// webhookAction is an endpoint's buttons: ping, rotate the secret, turn on or off, delete,
// redeliver.
func (s *Server) webhookAction(c *fiber.Ctx) error {
	if err := requireForm(c); err != nil {
		return err
	}
	ctx := c.UserContext()
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return webhooks.ErrNotFound
	}
	back, msg := "/admin/webhooks/"+id.Hex(), ""
	w := s.deps.Webhooks
	switch path := c.Path(); {
	case c.Params("delivery") != "":
		err, msg, back = w.Redeliver(ctx, id, c.Params("delivery")), "flash.webhook_redelivered", back+"#log"
	case strings.HasSuffix(path, "/ping"):
		err, msg, back = w.Ping(ctx, id), "flash.webhook_pinged", back+"#log"
	case strings.HasSuffix(path, "/rotate"):
		_, err = w.RotateSecret(ctx, id)
		msg = "flash.webhook_rotated"
	case strings.HasSuffix(path, "/active"):
		_, err = w.SetActive(ctx, id, c.FormValue("on") == "true")
		msg = "flash.webhook_saved"
	case strings.HasSuffix(path, "/delete"):
		err, msg, back = w.Delete(ctx, id), "flash.webhook_deleted", "/admin/webhooks/"
	}
	if err != nil {
		return err
	}
	s.flash(c, msg)
	return c.Redirect(back, fiber.StatusSeeOther)
}

// requireForm refuses a body that is not a form (a page's POST), as parseForm does.
func requireForm(c *fiber.Ctx) error {
	var none struct{}
	return parseForm(c, &none)
}
