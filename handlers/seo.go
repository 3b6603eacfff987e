package handlers

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/feeds"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/reviews"
)

// What search engines and feed readers get: robots.txt, a sitemap index with a sitemap of
// products and one per month of threads and of ideas (only what anyone may read), and
// Atom feeds of the latest threads, ideas and a product's reviews.
func (s *Server) seoRoutes(app *fiber.App) {
	app.Get("/robots.txt", s.robots)
	app.Get("/sitemap.xml", s.cached(s.sitemapIndex))
	app.Get("/sitemaps/products.xml", s.cached(s.sitemapProducts))
	app.Get("/sitemaps/:kind-:year-:month.xml", s.cached(s.sitemapMonth))
	app.Get("/feeds/threads.atom", s.cached(s.feedThreads))
	app.Get("/feeds/ideas.atom", s.cached(s.feedIdeas))
	app.Get("/products/:slug/reviews.atom", s.cached(s.feedReviews))
}

// absolute is a path on the portal's public address.
func (s *Server) absolute(path string) string {
	return strings.TrimSuffix(s.cfg.BaseURL, "/") + path
}

func (s *Server) robots(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.SendString("User-agent: *\n" +
		"Disallow: /admin/\nDisallow: /staff/\nDisallow: /moderation/\nDisallow: /profile\nDisallow: /notifications\n" +
		"Disallow: /api/\nDisallow: /search\nDisallow: /signin\nDisallow: /signup\nDisallow: /redemptions/\n" +
		"Sitemap: " + s.absolute("/sitemap.xml") + "\n")
}

type sitemapIndexXML struct {
	XMLName  xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
	Sitemaps []sitemapRef `xml:"sitemap"`
}

type sitemapRef struct {
	Loc string `xml:"loc"`
}

type urlsetXML struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []urlXML `xml:"url"`
}

type urlXML struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemapLimit is the most URLs one sitemap may hold.
const sitemapLimit = 50_000

func sendXML(c *fiber.Ctx, v any) error {
	b, err := xml.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xml; charset=utf-8")
	return c.Send(append([]byte(xml.Header), b...))
}

func (s *Server) sitemapIndex(c *fiber.Ctx) error {
	idx := sitemapIndexXML{Sitemaps: []sitemapRef{{Loc: s.absolute("/sitemaps/products.xml")}}}
	threads, ideas, err := s.deps.Community.FirstPublic(c.UserContext())
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for kind, first := range map[string]time.Time{"threads": threads, "ideas": ideas} {
		if first.IsZero() {
			continue
		}
		for m := monthOf(first); !m.After(now); m = m.AddDate(0, 1, 0) {
			idx.Sitemaps = append(idx.Sitemaps, sitemapRef{Loc: s.absolute(fmt.Sprintf("/sitemaps/%s-%s.xml", kind, m.Format("2006-01")))})
		}
	}
	return sendXML(c, idx)
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (s *Server) sitemapProducts(c *fiber.Ctx) error {
	var set urlsetXML
	after := ""
	for len(set.URLs) < sitemapLimit {
		list, next, err := s.deps.Reviews.Products(c.UserContext(), after, 500)
		if err != nil {
			return err
		}
		for _, p := range onSale(list) {
			set.URLs = append(set.URLs, urlXML{Loc: s.absolute("/products/" + p.Slug), LastMod: p.UpdatedAt.UTC().Format("2006-01-02")})
		}
		if next == "" {
			break
		}
		after = next
	}
	return sendXML(c, set)
}

var monthPart = regexp.MustCompile(`^\d{4}$`)

func (s *Server) sitemapMonth(c *fiber.Ctx) error {
	from, err := time.Parse("2006-01", c.Params("year")+"-"+c.Params("month"))
	if err != nil || !monthPart.MatchString(c.Params("year")) {
		return fiber.ErrNotFound
	}
	to := from.AddDate(0, 1, 0)
	var list []community.Listed
	switch c.Params("kind") {
	case "threads":
		list, err = s.deps.Community.PublicThreads(c.UserContext(), from, to, sitemapLimit)
	case "ideas":
		list, err = s.deps.Community.PublicIdeas(c.UserContext(), from, to, sitemapLimit)
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	set := urlsetXML{URLs: []urlXML{}}
	for _, l := range list {
		set.URLs = append(set.URLs, urlXML{Loc: s.absolute(l.URL), LastMod: l.Updated.UTC().Format("2006-01-02")})
	}
	return sendXML(c, set)
}

func (s *Server) sendFeed(c *fiber.Ctx, f *feeds.Feed) error {
	atom, err := f.ToAtom()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/atom+xml; charset=utf-8")
	return c.SendString(atom)
}

// feedText is what a feed entry says: the text of rendered Markdown, cut short.
func feedText(h template.HTML) string {
	t := markdown.PlainText(h)
	if r := []rune(t); len(r) > 500 {
		t = string(r[:500]) + "…"
	}
	return t
}

func (s *Server) feedThreads(c *fiber.Ctx) error {
	page, err := s.deps.Community.Threads(c.UserContext(), community.ThreadQuery{Sort: community.SortNewest, Limit: 30})
	if err != nil {
		return err
	}
	lang := s.language(c)
	f := &feeds.Feed{Title: s.cfg.SiteName + " · " + s.catalog.T(lang, "nav.forums"), Link: &feeds.Link{Href: s.absolute("/forums")},
		Id: s.absolute("/feeds/threads.atom"), Updated: time.Now()}
	for _, t := range page.Threads {
		f.Items = append(f.Items, &feeds.Item{Title: t.Title, Link: &feeds.Link{Href: s.absolute(t.URL())}, Id: s.absolute(t.URL()),
			Created: t.CreatedAt, Updated: t.LastPostAt})
	}
	return s.sendFeed(c, f)
}

func (s *Server) feedIdeas(c *fiber.Ctx) error {
	page, err := s.deps.Community.Ideas(c.UserContext(), community.IdeaQuery{Sort: community.IdeasNewest, Limit: 30})
	if err != nil {
		return err
	}
	lang := s.language(c)
	f := &feeds.Feed{Title: s.cfg.SiteName + " · " + s.catalog.T(lang, "nav.ideas"), Link: &feeds.Link{Href: s.absolute("/ideas")},
		Id: s.absolute("/feeds/ideas.atom"), Updated: time.Now()}
	for _, i := range page.Ideas {
		f.Items = append(f.Items, &feeds.Item{Title: i.Title, Link: &feeds.Link{Href: s.absolute(i.URL())}, Id: s.absolute(i.URL()),
			Description: feedText(i.BodyHTML), Created: i.CreatedAt, Updated: i.UpdatedAt})
	}
	return s.sendFeed(c, f)
}

func (s *Server) feedReviews(c *fiber.Ctx) error {
	p, err := s.deps.Reviews.Product(c.UserContext(), c.Params("slug"))
	if err != nil {
		return err
	}
	page, err := s.deps.Reviews.Reviews(c.UserContext(), reviews.Query{ProductID: p.ID, Sort: reviews.SortNewest, Limit: 30})
	if err != nil {
		return err
	}
	lang := s.language(c)
	f := &feeds.Feed{Title: s.cfg.SiteName + " · " + p.NameIn(lang), Link: &feeds.Link{Href: s.absolute("/products/" + p.Slug)},
		Id: s.absolute("/products/" + p.Slug + "/reviews.atom"), Updated: time.Now()}
	for _, r := range page.Reviews {
		url := s.absolute("/products/" + p.Slug + "#review-" + r.ID.Hex())
		title := r.Title
		if title == "" {
			title = strings.Repeat("★", r.Rating)
		}
		f.Items = append(f.Items, &feeds.Item{Title: title, Link: &feeds.Link{Href: url}, Id: url,
			Description: feedText(r.BodyHTML), Created: r.CreatedAt, Updated: r.UpdatedAt})
	}
	return s.sendFeed(c, f)
}

// short cuts a description for search results and link previews.
func short(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 200 {
		return string(r[:199]) + "…"
	}
	return text
}

// PageDescription: a product page is described by its product.
func (d *productData) PageDescription(lang string) string {
	return short(d.Product.DescriptionIn(lang))
}

// PageFeed: a product's reviews have a feed.
func (d *productData) PageFeed() string { return "/products/" + d.Product.Slug + "/reviews.atom" }

// PageDescription: a thread is described by its opening post.
func (d *threadData) PageDescription(string) string {
	if d.Opening == nil {
		return ""
	}
	return short(markdown.PlainText(d.Opening.BodyHTML))
}

// PageDescription: an idea by its text.
func (d *ideaData) PageDescription(string) string { return short(markdown.PlainText(d.Idea.BodyHTML)) }

// PageFeed: the forums have a feed of new threads.
func (forumsData) PageFeed() string { return "/feeds/threads.atom" }

// PageFeed: ideas have a feed of new ideas.
func (ideasData) PageFeed() string { return "/feeds/ideas.atom" }

// threadJSONLD describes a thread for search engines: a question with its accepted answer
// (schema.org QAPage) once one is accepted, else a DiscussionForumPosting with the replies
// on the page. json.Marshal escapes <, > and &, so no text can end the script element.
func (s *Server) threadJSONLD(d *threadData) template.JS {
	type person struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
	type comment struct {
		Type        string `json:"@type"`
		Text        string `json:"text"`
		Author      person `json:"author"`
		DateCreated string `json:"dateCreated"`
		URL         string `json:"url,omitempty"`
	}
	t := d.Thread
	url := s.absolute(t.URL())
	text := ""
	author := person{"Person", "—"}
	if d.Opening != nil {
		text = markdown.PlainText(d.Opening.BodyHTML)
		author.Name = d.Opening.Author.DisplayName
	}
	var doc map[string]any
	if d.Accepted != nil {
		a := d.Accepted
		doc = map[string]any{"@context": "https://schema.org", "@type": "QAPage", "mainEntity": map[string]any{
			"@type": "Question", "name": t.Title, "text": text, "answerCount": t.ReplyCount, "author": author,
			"dateCreated": t.CreatedAt.UTC().Format(time.RFC3339),
			"acceptedAnswer": comment{Type: "Answer", Text: markdown.PlainText(a.BodyHTML), Author: person{"Person", a.Author.DisplayName},
				DateCreated: a.CreatedAt.UTC().Format(time.RFC3339), URL: url + "#post-" + a.ID.Hex()},
		}}
	} else {
		comments := []comment{}
		for _, p := range d.Posts {
			comments = append(comments, comment{Type: "Comment", Text: markdown.PlainText(p.BodyHTML), Author: person{"Person", p.Author.DisplayName},
				DateCreated: p.CreatedAt.UTC().Format(time.RFC3339), URL: url + "#post-" + p.ID.Hex()})
		}
		doc = map[string]any{"@context": "https://schema.org", "@type": "DiscussionForumPosting", "headline": t.Title, "text": text,
			"url": url, "author": author, "datePublished": t.CreatedAt.UTC().Format(time.RFC3339), "comment": comments,
			"interactionStatistic": map[string]any{"@type": "InteractionCounter", "interactionType": "https://schema.org/CommentAction", "userInteractionCount": t.ReplyCount}}
	}
	b, _ := json.Marshal(doc) // strings and numbers: cannot fail
	return template.JS(b)     //nolint:gosec // escaped by json.Marshal, see above
}
