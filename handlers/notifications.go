package handlers

import (
	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
)

func (s *Server) notificationRoutes(app *fiber.App) {
	app.Get("/notifications", web.SignedIn, s.notificationsPage)
	app.Post("/notifications/read", web.SignedIn, s.notificationsRead)
	app.Get("/notifications/:id", web.SignedIn, s.notificationOpen)
}

type notificationView struct {
	*community.Notification
	Actor *customers.Customer
}

type notificationsData struct {
	Items []notificationView
	Next  string
}

func (s *Server) notificationsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, next, err := s.deps.Community.Notifications(ctx, web.User(c).ID, c.Query("before"), 30)
	if err != nil {
		return err
	}
	ids := make([]bson.ObjectID, len(list))
	for i, n := range list {
		ids[i] = n.ActorID
	}
	actors, err := s.deps.Customers.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	d := notificationsData{}
	for _, n := range list {
		d.Items = append(d.Items, notificationView{Notification: n, Actor: orNobody(actors[n.ActorID])})
	}
	if next != "" {
		d.Next = "/notifications?before=" + next
	}
	return s.render(c, fiber.StatusOK, "notifications", "notifications.title", d)
}

// notificationOpen marks a notification read and follows its link (marking read is
// idempotent, so a GET may do it, as every forum's inbox does).
func (s *Server) notificationOpen(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrNotificationNotFound
	}
	n, err := s.deps.Community.OpenNotification(c.UserContext(), web.User(c).ID, id)
	if err != nil {
		return err
	}
	return c.Redirect(localPath(n.URL), fiber.StatusSeeOther)
}

func (s *Server) notificationsRead(c *fiber.Ctx) error {
	if err := s.deps.Community.MarkAllRead(c.UserContext(), web.User(c).ID); err != nil {
		return err
	}
	return c.Redirect("/notifications", fiber.StatusSeeOther)
}
