package apiv1

import (
	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/media"
)

// Upload stores one picture for a post's text and answers with the Markdown that
// shows it: what the editor's drag and drop inserts (the form's file input does the same
// without JavaScript). Also the page's POST /uploads.
func (a *API) Upload(c *fiber.Ctx) error {
	if a.Media == nil {
		return fiber.ErrNotFound
	}
	files := web.MultipartFiles(c, "file")
	if len(files) != 1 {
		return errs.Field("file", "media.one_file")
	}
	p, err := web.SaveFile(c, a.Media, files[0], media.KindPhoto)
	if err != nil {
		return media.AsField("file", err)
	}
	return c.Status(fiber.StatusCreated).JSON(uploadJSON{Photo: p, Markdown: web.ImageMarkdown(p)})
}

type uploadJSON struct {
	Photo    media.Photo `json:"photo"`
	Markdown string      `json:"markdown"` // what shows it in a post
}
