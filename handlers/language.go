package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	langLocal  = "lang"
	langCookie = "lang"
)

// chooseLanguage remembers an explicit ?lang= choice in a cookie, so that the switch holds
// on every later page without JavaScript.
func (s *Server) chooseLanguage(c *fiber.Ctx) error {
	if lang := c.Query("lang"); s.catalog.Supports(lang) {
		c.Cookie(&fiber.Cookie{
			Name:     langCookie,
			Value:    lang,
			Path:     "/",
			Expires:  time.Now().AddDate(1, 0, 0),
			HTTPOnly: true,
			SameSite: fiber.CookieSameSiteLaxMode,
			Secure:   c.Protocol() == "https",
		})
	}
	s.language(c)
	return c.Next()
}

// language picks the request's language: ?lang=, then the cookie the switch set, then
// Accept-Language, then the portal's default. (A signed-in customer's preference comes first
// once accounts exist.) It is also called by the error handler, which may run before any
// middleware, so the choice is computed on first use.
func (s *Server) language(c *fiber.Ctx) string {
	if lang, ok := c.Locals(langLocal).(string); ok {
		return lang
	}
	lang := c.Query("lang")
	if !s.catalog.Supports(lang) {
		lang = c.Cookies(langCookie)
	}
	if !s.catalog.Supports(lang) {
		lang = s.catalog.Match(c.Get(fiber.HeaderAcceptLanguage), s.cfg.DefaultLanguage)
	}
	c.Locals(langLocal, lang)
	return lang
}
