package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/media"
)

// static serves the embedded assets under their content-hashed URLs, cacheable for a year:
// a changed file gets a new URL.
func (s *Server) static(c *fiber.Ctx) error {
	asset, ok := s.assets.ByURL(c.Path())
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, asset.ContentType)
	return c.Send(asset.Body)
}

// mediaFile serves an uploaded picture from our own origin. Its name is its content's
// hash, so it never changes: browsers and proxies keep it for a year.
func (s *Server) mediaFile(c *fiber.Ctx) error {
	if s.deps.Media == nil {
		return fiber.ErrNotFound
	}
	key := strings.TrimPrefix(c.Path(), "/media/")
	f, size, modified, err := s.deps.Media.Open(c.UserContext(), key)
	if errors.Is(err, media.ErrNotStored) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, media.ContentType(key))
	c.Set(fiber.HeaderLastModified, modified.UTC().Format(http.TimeFormat))
	// SendStream closes f once the body is written.
	return c.SendStream(f, int(size))
}
