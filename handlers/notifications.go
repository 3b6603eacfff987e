package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
)

func (s *Server) notificationRoutes(app *fiber.App) {
	app.Get("/notifications", s.signedIn, s.notificationsPage)
	app.Post("/notifications/read", s.signedIn, s.notificationsRead)
	app.Get("/notifications/:id", s.signedIn, s.notificationOpen)
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
	list, next, err := s.deps.Community.Notifications(ctx, currentUser(c).ID, c.Query("before"), 30)
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
	n, err := s.deps.Community.OpenNotification(c.UserContext(), currentUser(c).ID, id)
	if err != nil {
		return err
	}
	return c.Redirect(localPath(n.URL), fiber.StatusSeeOther)
}

func (s *Server) notificationsRead(c *fiber.Ctx) error {
	if err := s.deps.Community.MarkAllRead(c.UserContext(), currentUser(c).ID); err != nil {
		return err
	}
	return c.Redirect("/notifications", fiber.StatusSeeOther)
}

// categoriesData is the forum's categories, a form for each and one for a new one.
type categoriesData struct {
	Rows []categoryRow
	New  *form
}

type categoryRow struct {
	Category *community.Category
	Form     *form
}

func (s *Server) categoriesPage(c *fiber.Ctx) error {
	return s.renderCategories(c, fiber.StatusOK, "", nil)
}

func (s *Server) renderCategories(c *fiber.Ctx, status int, failed string, f *form) error {
	list, err := s.deps.Community.Categories(c.UserContext())
	if err != nil {
		return err
	}
	d := categoriesData{New: &form{}}
	for _, cat := range list {
		row := categoryRow{Category: cat, Form: &form{Values: map[string]string{"name": cat.Name, "slug": cat.Slug,
			"description": cat.Description, "position": strconv.Itoa(cat.Position)}}}
		if cat.StaffOnly {
			row.Form.Values["staff_only"] = "1"
		}
		if failed == cat.ID.Hex() {
			row.Form = f
		}
		d.Rows = append(d.Rows, row)
	}
	if failed == "new" {
		d.New = f
	}
	return s.render(c, status, "admin/categories", "categories.title", d)
}

func (s *Server) categorySave(c *fiber.Ctx) error {
	in := community.CategoryInput{Name: c.FormValue("name"), Slug: c.FormValue("slug"), Description: c.FormValue("description"),
		StaffOnly: c.FormValue("staff_only") != ""}
	if raw := c.FormValue("position"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return s.renderCategories(c, fiber.StatusUnprocessableEntity, c.Params("id", "new"),
				&form{Values: map[string]string{"name": in.Name, "slug": in.Slug, "description": in.Description, "position": raw},
					Errors: map[string]string{"position": s.catalog.T(s.language(c), "field.number")}})
		}
		in.Position = n
	}
	id, failed := bson.ObjectID{}, "new"
	if raw := c.Params("id"); raw != "" {
		var err error
		if id, err = bson.ObjectIDFromHex(raw); err != nil {
			return community.ErrCategoryNotFound
		}
		failed = raw
	}
	if _, saveErr := s.deps.Community.SaveCategory(c.UserContext(), currentUser(c), id, in); saveErr != nil {
		values := map[string]string{"name": in.Name, "slug": in.Slug, "description": in.Description, "position": strconv.Itoa(in.Position)}
		if in.StaffOnly {
			values["staff_only"] = "1"
		}
		f, err := s.formFailed(c, saveErr, values)
		if err != nil {
			return err
		}
		return s.renderCategories(c, statusOf(saveErr), failed, f)
	}
	s.flash(c, "flash.category_saved")
	return c.Redirect("/admin/categories", fiber.StatusSeeOther)
}
