package handlers

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/handlers/web"
)

const accountsPageSize = 25

func (s *Server) adminRoutes(app *fiber.App) {
	admin := app.Group("/admin", web.RequireRole(customers.RoleModerator, customers.RoleProduct))
	admin.Get("/", s.adminHome)
	app.Get("/staff", web.RequireRole(customers.RoleModerator, customers.RoleProduct), s.adminHome)
	only := web.RequireRole(customers.RoleAdmin)
	admin.Get("/accounts", only, s.accountsPage)
	admin.Post("/accounts/:id/roles", only, s.accountRoles)
	admin.Post("/accounts/:id/suspend", only, s.accountSuspend)
	admin.Post("/accounts/:id/reinstate", only, s.accountReinstate)
	admin.Get("/categories", only, s.categoriesPage)
	admin.Post("/categories", only, s.categorySave)
	admin.Post("/categories/:id", only, s.categorySave)
	s.catalogRoutes(admin)
}

// staffHome is what waits for staff, and the portal at a glance, above the pages they may
// use: the moderation queue, testimonials to decide, items to send, detractors active this
// week, and the last 30 days' KPIs. Counts by index, a page of detractors.
type staffHome struct {
	Queue, Testimonials, ToSend int
	FollowUps                   followups.Counts
	AtRisk                      []*customers.Customer
	Detractors                  []*customers.Customer
	KPIs                        *feedback.KPIs
}

// adminHome is the staff home (/staff, /admin/): what waits, and the staff pages.
func (s *Server) adminHome(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := web.User(c)
	var d staffHome
	var err error
	if u.HasRole(customers.RoleModerator) {
		if d.Queue, err = s.deps.Moderation.OpenCount(ctx); err != nil {
			return err
		}
		if d.Testimonials, err = s.deps.Reviews.PendingCount(ctx); err != nil {
			return err
		}
	}
	if u.HasRole(customers.RoleProduct) {
		now := time.Now().UTC()
		if d.Detractors, err = s.deps.Customers.Search(ctx, customers.Query{NPS: "detractor", ActiveSince: now.AddDate(0, 0, -7),
			NoStaff: true, ByActivity: true, Limit: 10}); err != nil {
			return err
		}
		if d.AtRisk, err = s.deps.Customers.Search(ctx, customers.Query{AtRisk: true, ByRisk: true, NoStaff: true, Limit: 5}); err != nil {
			return err
		}
		if s.deps.FollowUps != nil {
			if d.FollowUps, err = s.deps.FollowUps.Count(ctx, u.ID); err != nil {
				return err
			}
		}
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		if d.KPIs, err = s.deps.Feedback.KPIs(ctx, feedback.KPIQuery{From: today.AddDate(0, 0, -29), To: today.AddDate(0, 0, 1), Glance: true}); err != nil {
			return err
		}
	}
	if u.HasRole(customers.RoleAdmin) && s.deps.Loyalty != nil {
		if d.ToSend, err = s.deps.Loyalty.PendingCount(ctx); err != nil {
			return err
		}
	}
	c.Locals(noCacheLocal, true)
	return s.render(c, fiber.StatusOK, "admin/index", "admin.title", d)
}

type accountsData struct {
	Query  string
	Role   string
	Status string
	// Unconfirmed: only accounts whose email address is not confirmed
	Unconfirmed bool
	Roles       []customers.Role
	Accounts    []*customers.Customer
	Next        string // URL of the next (older) page
	Back        string // this list's query, so a form returns to the same list
	Failed      string // ID of the account whose form failed
	Form        *form
}

func (s *Server) accountsData(c *fiber.Ctx) (*accountsData, error) {
	q := customers.Query{Text: c.Query("q"), Emails: true, Limit: accountsPageSize + 1}
	if r, ok := customers.ParseRole(c.Query("role")); ok {
		q.Role = r
	}
	if st := customers.Status(c.Query("status")); st == customers.StatusActive || st == customers.StatusSuspended {
		q.Status = st
	}
	q.Unconfirmed = c.Query("email") == "unconfirmed"
	if before, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = before
	}
	list, err := s.deps.Customers.Search(c.UserContext(), q)
	if err != nil {
		return nil, err
	}
	d := &accountsData{Query: q.Text, Role: string(q.Role), Status: string(q.Status), Unconfirmed: q.Unconfirmed, Roles: customers.Roles, Accounts: list}
	if raw := c.Request().URI().QueryString(); len(raw) > 0 {
		d.Back = "?" + string(raw)
	}
	if len(list) > accountsPageSize {
		d.Accounts = list[:accountsPageSize]
		next := url.Values{"q": {q.Text}, "role": {d.Role}, "status": {d.Status},
			"before": {d.Accounts[accountsPageSize-1].ID.Hex()}}
		if q.Unconfirmed {
			next.Set("email", "unconfirmed")
		}
		d.Next = "/admin/accounts?" + next.Encode()
	}
	return d, nil
}

func (s *Server) accountsPage(c *fiber.Ctx) error {
	d, err := s.accountsData(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin/accounts", "admin.accounts.title", d)
}

// accountFailed shows the list again with the failed form's messages.
func (s *Server) accountFailed(c *fiber.Ctx, id bson.ObjectID, err error) error {
	f, err := s.formFailed(c, err, map[string]string{"reason": c.FormValue("reason"), "until": c.FormValue("until"),
		"product": c.FormValue("product"), "order_id": c.FormValue("order_id"), "date": c.FormValue("date"), "amount": c.FormValue("amount")})
	if err != nil {
		return err
	}
	d, err := s.accountsData(c)
	if err != nil {
		return err
	}
	d.Failed, d.Form = id.Hex(), f
	return s.render(c, fiber.StatusUnprocessableEntity, "admin/accounts", "admin.accounts.title", d)
}

// backToAccounts returns to the list the form was on.
func (s *Server) backToAccounts(c *fiber.Ctx, flash string) error {
	s.flash(c, flash)
	back := "/admin/accounts"
	if q := c.Request().URI().QueryString(); len(q) > 0 {
		back += "?" + string(q)
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

func (s *Server) accountRoles(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	var roles []customers.Role
	for _, raw := range c.Context().PostArgs().PeekMulti("roles") {
		if r, ok := customers.ParseRole(string(raw)); ok {
			roles = append(roles, r)
		}
	}
	// Logged in the audit log; an admin cannot take away their own admin role.
	if err := s.deps.Moderation.SetRoles(c.UserContext(), web.User(c), id, roles); err != nil {
		return s.accountFailed(c, id, err)
	}
	return s.backToAccounts(c, "flash.roles_saved")
}

func (s *Server) accountSuspend(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	until, err := untilDay(c.FormValue("until"))
	if err == nil {
		err = s.deps.Moderation.Suspend(c.UserContext(), web.User(c), id, c.FormValue("reason"), until)
	}
	if err != nil {
		return s.accountFailed(c, id, err)
	}
	return s.backToAccounts(c, "flash.suspended")
}

func (s *Server) accountReinstate(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	if err := s.deps.Moderation.Reinstate(c.UserContext(), web.User(c), id); err != nil {
		return err
	}
	return s.backToAccounts(c, "flash.reinstated")
}
