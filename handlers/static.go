package handlers

import (
	"github.com/gofiber/fiber/v2"
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
