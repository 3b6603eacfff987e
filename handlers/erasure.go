package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

// Deleting an account: the member from their profile, an admin on a member's request.
func (s *Server) erasureRoutes(app *fiber.App) {
	if s.deps.Erasure == nil {
		return
	}
	app.Post("/profile/delete", web.SignedIn, s.profileDelete)
	app.Post("/admin/accounts/:id/erase", web.RequireRole(customers.RoleAdmin), s.accountErase)
	app.Post("/admin/accounts/:id/export", web.RequireRole(customers.RoleAdmin), s.accountExport)
}

// eraseInput is the deletion form: keep or remove what they wrote, and a confirmation (the
// password, or for an account without one, its address typed again).
type eraseInput struct {
	Content  string `form:"content"` // keep or remove
	Password string `form:"password"`
	Confirm  string `form:"confirm"`
}

func (s *Server) profileDelete(c *fiber.Ctx) error {
	var in eraseInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	u := web.User(c)
	var err error
	switch {
	case in.Content != "keep" && in.Content != "remove":
		err = errs.Field("content", "field.choose_one")
	case u.Staff:
		err = errs.Field("content", "erasure.staff")
	case u.PasswordHash != "":
		err = s.deps.Identity.ConfirmPassword(c.UserContext(), u, in.Password)
	case !strings.EqualFold(strings.TrimSpace(in.Confirm), u.Email) || u.Email == "":
		err = errs.Field("confirm", "erasure.confirm")
	}
	if err == nil {
		err = s.deps.Erasure.Erase(c.UserContext(), u, u, in.Content == "remove")
	}
	if err != nil {
		f, ferr := s.formFailed(c, err, map[string]string{"content": in.Content})
		if ferr != nil {
			return ferr
		}
		return s.renderProfile(c, fiber.StatusUnprocessableEntity, func(d *profileData) { d.DeleteForm = f })
	}
	s.clearCookie(c, sessionCookie) // the sessions are gone with the account
	web.SetUser(c, nil)
	s.flash(c, "flash.account_deleted")
	return c.Redirect("/", fiber.StatusSeeOther)
}

// accountErase deletes a member's account on their request, by an admin, who types the
// member's address (or ID, for an account without one) to confirm.
func (s *Server) accountErase(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	var in eraseInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	m, err := s.deps.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	confirm := strings.TrimSpace(in.Confirm)
	switch {
	case in.Content != "keep" && in.Content != "remove":
		err = errs.Field("content", "field.choose_one")
	case m.Staff:
		err = errs.Field("content", "erasure.staff")
	case confirm == "" || (!strings.EqualFold(confirm, m.Email) && confirm != m.ID.Hex()):
		err = errs.Field("confirm", "erasure.confirm_admin")
	}
	if err == nil {
		err = s.deps.Erasure.Erase(c.UserContext(), m, web.User(c), in.Content == "remove")
	}
	if err != nil {
		return s.accountFailed(c, id, err)
	}
	return s.backToAccounts(c, "flash.account_erased")
}
