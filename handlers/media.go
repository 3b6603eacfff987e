package handlers

import (
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/media"
)

func (s *Server) mediaRoutes(app *fiber.App) {
	app.Post("/uploads", web.RequireActive, s.uploadImage)
	app.Post("/profile/avatar", web.RequireActive, s.avatarSubmit)
	app.Post("/profile/avatar/remove", web.SignedIn, s.avatarRemove)
}

// multipartFiles are the files chosen in a form's file input: none when the form was not
// sent as multipart or nothing was chosen (browsers send one empty part then).
func multipartFiles(c *fiber.Ctx, field string) []*multipart.FileHeader {
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return nil
	}
	f, err := c.MultipartForm()
	if err != nil {
		return nil
	}
	var out []*multipart.FileHeader
	for _, fh := range f.File[field] {
		if fh.Size > 0 {
			out = append(out, fh)
		}
	}
	return out
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
	keep, files := formValues(c, "keep_photo"), multipartFiles(c, "photos")
	if len(keep)+len(files) > media.MaxPerReview {
		return nil, errs.Field("photos", "media.too_many", "Max", media.MaxPerReview)
	}
	photos, err := s.deps.Media.Photos(c.UserContext(), keep)
	if err != nil {
		return nil, media.AsField("photos", err)
	}
	for _, fh := range files {
		p, err := s.saveFile(c, fh, media.KindPhoto)
		if err != nil {
			return nil, media.AsField("photos", err)
		}
		photos = append(photos, p)
	}
	return photos, nil
}

func (s *Server) saveFile(c *fiber.Ctx, fh *multipart.FileHeader, kind media.Kind) (media.Photo, error) {
	if fh.Size > media.MaxBytes {
		return media.Photo{}, media.ErrTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return media.Photo{}, err
	}
	defer f.Close()
	return s.deps.Media.Save(c.UserContext(), web.User(c).ID, kind, f)
}

// uploadImage stores one picture for a post's text and answers with the Markdown that
// shows it: what the editor's drag and drop inserts (the form's file input does the same
// without JavaScript). Also the API's POST /api/v1/uploads.
func (s *Server) uploadImage(c *fiber.Ctx) error {
	if s.deps.Media == nil {
		return fiber.ErrNotFound
	}
	files := multipartFiles(c, "file")
	if len(files) != 1 {
		return errs.Field("file", "media.one_file")
	}
	p, err := s.saveFile(c, files[0], media.KindPhoto)
	if err != nil {
		return media.AsField("file", err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"photo": p, "markdown": imageMarkdown(p)})
}

// imageMarkdown shows a stored picture in a post, linked to its full size.
func imageMarkdown(p media.Photo) string {
	return "[![](" + p.ThumbURL() + ")](" + p.URL() + ")"
}

// appendImages stores the files of a post form's image input and adds them to its text.
func (s *Server) appendImages(c *fiber.Ctx, body string) (string, error) {
	if s.deps.Media == nil {
		return body, nil
	}
	files := multipartFiles(c, "images")
	if len(files) > media.MaxPerReview {
		return body, errs.Field("body", "media.too_many", "Max", media.MaxPerReview)
	}
	for _, fh := range files {
		p, err := s.saveFile(c, fh, media.KindPhoto)
		if err != nil {
			return body, media.AsField("body", err)
		}
		body = strings.TrimRight(body, "\n") + "\n\n" + imageMarkdown(p)
	}
	return strings.TrimLeft(body, "\n"), nil
}

func (s *Server) avatarSubmit(c *fiber.Ctx) error {
	if s.deps.Media == nil {
		return fiber.ErrNotFound
	}
	files := multipartFiles(c, "avatar")
	var err error
	if len(files) != 1 {
		err = errs.Field("avatar", "media.one_file")
	} else {
		var p media.Photo
		if p, err = s.saveFile(c, files[0], media.KindAvatar); err == nil {
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
