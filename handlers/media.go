package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/media"
)

func (s *Server) mediaRoutes(app *fiber.App) {
	app.Post("/uploads", web.RequireActive, s.api.Upload)
	app.Post("/profile/avatar", web.RequireActive, s.avatarSubmit)
	app.Post("/profile/avatar/remove", web.SignedIn, s.avatarRemove)
}

// formValues are every value of a repeated form field, multipart or not.
func formValues(c *fiber.Ctx, field string) []string {
	if f, err := c.MultipartForm(); err == nil {
		return f.Value[field]
	}
	var out []string
	for _, v := range c.Context().PostArgs().PeekMulti(field) {
		out = append(out, string(v))
	}
	return out
}

// formPhotos are a review form's pictures: the ones it keeps (keep_photo: the review's own,
// or those stored by an earlier try of the same form) and the files chosen now, each
// checked, re-encoded and stored. Never nil, so an edit that keeps none removes them all.
// A problem is an error on the "photos" field.
func (s *Server) formPhotos(c *fiber.Ctx) ([]media.Photo, error) {
	if s.deps.Media == nil {
		return nil, nil
	}
	keep, files := formValues(c, "keep_photo"), web.MultipartFiles(c, "photos")
	if len(keep)+len(files) > media.MaxPerReview {
		return nil, errs.Field("photos", "media.too_many", "Max", media.MaxPerReview)
	}
	photos, err := s.deps.Media.Photos(c.UserContext(), keep)
	if err != nil {
		return nil, media.AsField("photos", err)
	}
	for _, fh := range files {
		p, err := web.SaveFile(c, s.deps.Media, fh, media.KindPhoto)
		if err != nil {
			return nil, media.AsField("photos", err)
		}
		photos = append(photos, p)
	}
	return photos, nil
}

// appendImages stores the files of a post form's image input and adds them to its text.
func (s *Server) appendImages(c *fiber.Ctx, body string) (string, error) {
	if s.deps.Media == nil {
		return body, nil
	}
	files := web.MultipartFiles(c, "images")
	if len(files) > media.MaxPerReview {
		return body, errs.Field("body", "media.too_many", "Max", media.MaxPerReview)
	}
	for _, fh := range files {
		p, err := web.SaveFile(c, s.deps.Media, fh, media.KindPhoto)
		if err != nil {
			return body, media.AsField("body", err)
		}
		body = strings.TrimRight(body, "\n") + "\n\n" + web.ImageMarkdown(p)
	}
	return strings.TrimLeft(body, "\n"), nil
}

func (s *Server) avatarSubmit(c *fiber.Ctx) error {
	if s.deps.Media == nil {
		return fiber.ErrNotFound
	}
	files := web.MultipartFiles(c, "avatar")
	var err error
	if len(files) != 1 {
		err = errs.Field("avatar", "media.one_file")
	} else {
		var p media.Photo
		if p, err = web.SaveFile(c, s.deps.Media, files[0], media.KindAvatar); err == nil {
			err = s.deps.Customers.SetAvatar(c.UserContext(), web.User(c).ID, p.URL())
		}
	}
	if err != nil {
		f, ferr := s.formFailed(c, media.AsField("avatar", err), nil)
		if ferr != nil {
			return ferr
		}
		return s.renderProfile(c, web.Status(err), func(d *profileData) { d.AvatarForm = f })
	}
	s.flash(c, "flash.avatar_saved")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

func (s *Server) avatarRemove(c *fiber.Ctx) error {
	if err := s.deps.Customers.SetAvatar(c.UserContext(), web.User(c).ID, ""); err != nil {
		return err
	}
	s.flash(c, "flash.avatar_removed")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}
