package web

import (
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/media"
)

// MultipartFiles are the files chosen in a form's file input: none when the form was not
// sent as multipart or nothing was chosen (browsers send one empty part then).
func MultipartFiles(c *fiber.Ctx, field string) []*multipart.FileHeader {
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

// SaveFile stores one uploaded picture of the signed-in member.
func SaveFile(c *fiber.Ctx, store *media.Service, fh *multipart.FileHeader, kind media.Kind) (media.Photo, error) {
	if fh.Size > media.MaxBytes {
		return media.Photo{}, media.ErrTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return media.Photo{}, err
	}
	defer f.Close()
	return store.Save(c.UserContext(), User(c).ID, kind, f)
}

// ImageMarkdown shows a stored picture in a post, linked to its full size.
func ImageMarkdown(p media.Photo) string {
	return "[![](" + p.ThumbURL() + ")](" + p.URL() + ")"
}
