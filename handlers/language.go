package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/handlers/web"
)

const (
	langCookie   = "guyub_lang"
	langLifetime = 365 * 24 * time.Hour
)

// chooseLanguage remembers an explicit ?lang= choice: in a cookie, so the switch holds on
// later pages without JavaScript, and on the account of a signed-in customer.
func (s *Server) chooseLanguage(c *fiber.Ctx) error {
	if lang := c.Query("lang"); s.catalog.Supports(lang) {
		s.setCookie(c, langCookie, lang, langLifetime)
		// A preference, so a plain link may set it: the worst a forged link does is switch
		// the language.
		if u := web.User(c); u != nil && u.Locale != lang {
			if err := s.deps.Customers.SetLocale(c.UserContext(), u.ID, lang); err != nil {
				s.log.Warn("remember language", "err", err)
			}
			u.Locale = lang
		}
	}
	s.language(c)
	return c.Next()
}

// language picks the request's language: ?lang=, then the signed-in customer's preference,
// then the cookie the switch set, then Accept-Language, then the portal's default. The
// error handler may run before any middleware, so the choice is made on first use.
func (s *Server) language(c *fiber.Ctx) string {
	if lang, ok := web.ChosenLanguage(c); ok {
		return lang
	}
	candidates := []string{c.Query("lang")}
	if u := web.User(c); u != nil {
		candidates = append(candidates, u.Locale)
	}
	candidates = append(candidates, s.cookie(c, langCookie))
	lang := ""
	for _, l := range candidates {
		if s.catalog.Supports(l) {
			lang = l
			break
		}
	}
	if lang == "" {
		lang = s.catalog.Match(c.Get(fiber.HeaderAcceptLanguage), s.cfg.DefaultLanguage)
	}
	web.SetLanguage(c, lang)
	return lang
}
