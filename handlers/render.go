package handlers

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/frontend"
)

// Page is what every template receives: the layout's data plus the page's own in Data.
type Page struct {
	Lang      string
	SiteName  string
	Title     string
	Nav       []navItem
	Languages []languageLink
	Data      any

	catalog *frontend.Catalog
}

// T translates a message into the page's language; args are name/value pairs.
func (p *Page) T(id string, args ...any) string { return p.catalog.T(p.Lang, id, args...) }

type navItem struct {
	Label  string // message ID
	URL    string
	Active bool
}

type languageLink struct {
	Code, Name, URL string
	Current         bool
}

// languageNames are written in their own language, as a switch should show them.
var languageNames = map[string]string{"en": "English", "id": "Bahasa Indonesia"}

// render writes a full page. titleID is a message ID; the page's title in the current language.
func (s *Server) render(c *fiber.Ctx, status int, template, titleID string, data any) error {
	lang := s.language(c)
	page := &Page{
		Lang:      lang,
		SiteName:  s.cfg.SiteName,
		Title:     s.catalog.T(lang, titleID),
		Nav:       s.navFor(c.Path()),
		Languages: s.languageLinks(c, lang),
		Data:      data,
		catalog:   s.catalog,
	}
	c.Set(fiber.HeaderVary, "Accept-Language, Cookie")
	return c.Status(status).Render(template, page)
}

func (s *Server) navFor(path string) []navItem {
	items := make([]navItem, len(s.nav))
	for i, item := range s.nav {
		item.Active = item.URL == path
		items[i] = item
	}
	return items
}

// languageLinks point at the current page with ?lang= set, so switching works without JavaScript.
func (s *Server) languageLinks(c *fiber.Ctx, current string) []languageLink {
	u, err := url.Parse(c.OriginalURL())
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	links := make([]languageLink, 0, len(s.catalog.Languages()))
	for _, code := range s.catalog.Languages() {
		q := u.Query()
		q.Set("lang", code)
		link := url.URL{Path: u.Path, RawQuery: q.Encode()}
		links = append(links, languageLink{Code: code, Name: languageNames[code], URL: link.String(), Current: code == current})
	}
	return links
}
