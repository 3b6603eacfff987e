package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/handlers/web"
)

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
			"description": cat.Description, "name_id": cat.NameID, "description_id": cat.DescriptionID, "position": strconv.Itoa(cat.Position)}}}
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
		NameID: c.FormValue("name_id"), DescriptionID: c.FormValue("description_id"),
		StaffOnly: c.FormValue("staff_only") != ""}
	if raw := c.FormValue("position"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return s.renderCategories(c, fiber.StatusUnprocessableEntity, c.Params("id", "new"),
				&form{Values: map[string]string{"name": in.Name, "slug": in.Slug, "description": in.Description, "position": raw,
					"name_id": in.NameID, "description_id": in.DescriptionID},
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
	if _, saveErr := s.deps.Community.SaveCategory(c.UserContext(), web.User(c), id, in); saveErr != nil {
		values := map[string]string{"name": in.Name, "slug": in.Slug, "description": in.Description, "position": strconv.Itoa(in.Position),
			"name_id": in.NameID, "description_id": in.DescriptionID}
		if in.StaffOnly {
			values["staff_only"] = "1"
		}
		f, err := s.formFailed(c, saveErr, values)
		if err != nil {
			return err
		}
		return s.renderCategories(c, web.Status(saveErr), failed, f)
	}
	s.flash(c, "flash.category_saved")
	return c.Redirect("/admin/categories", fiber.StatusSeeOther)
}
