package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
)

type themesData struct {
	Themes []insights.Theme
	Form   *form
	Key    string // the theme the form's errors are about ("" for a new one)
}

func (s *Server) renderThemes(c *fiber.Ctx, status int, f *form, key string) error {
	list, err := s.deps.Insights.Themes(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, status, "admin/themes", "themes.title", themesData{Themes: list, Form: f, Key: key})
}

func (s *Server) themesPage(c *fiber.Ctx) error { return s.renderThemes(c, fiber.StatusOK, nil, "") }

// themeSave adds a theme (no key in the path) or changes one; feedback is read again with
// the new themes within a minute.
func (s *Server) themeSave(c *fiber.Ctx) error {
	var in insights.ThemeInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	key := c.Params("key")
	if _, err := s.deps.Insights.SaveTheme(c.UserContext(), web.User(c), key, in); err != nil {
		f, ferr := s.formFailed(c, err, map[string]string{"key": in.Key, "name_en": in.NameEN, "name_id": in.NameID, "cues": in.Cues})
		if ferr != nil {
			return ferr
		}
		return s.renderThemes(c, web.Status(err), f, key)
	}
	s.flash(c, "flash.theme_saved")
	return c.Redirect("/admin/themes", fiber.StatusSeeOther)
}

func (s *Server) themeDelete(c *fiber.Ctx) error {
	if err := s.deps.Insights.DeleteTheme(c.UserContext(), web.User(c), c.Params("key")); err != nil {
		return err
	}
	s.flash(c, "flash.theme_deleted")
	return c.Redirect("/admin/themes", fiber.StatusSeeOther)
}
