package handlers

import (
	"errors"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
)

// Page is what every template receives: the layout's data plus the page's own in Data.
type Page struct {
	Lang      string
	SiteName  string
	Title     string
	Nav       []navItem
	Languages []languageLink
	User      *customers.Customer // nil when signed out
	Flash     string              // a one-time message after a redirect
	Notice    string              // why a suspended member cannot post, on every page
	Unread    int                 // unread notifications, in the header
	Path      string
	Data      any
	Flagged   map[string]bool // the content on the page the viewer has reported (noteFlagged)
	Uploads   bool            // forms may offer picture uploads
	// For search engines and link previews: the page's one address, what it is about,
	// and its Atom feed if it has one.
	Canonical   string
	Description string
	Feed        string
	StaffQueue  int // for staff: items waiting in the moderation queue and open follow-ups, in the header

	catalog *frontend.Catalog
	csrf    func() string
	token   string
}

// CSRF is the token every form sends back. It is made when a template first asks for it, so
// that a page without forms stays the same for every visitor (and can be cached).
func (p *Page) CSRF() string {
	if p.token == "" && p.csrf != nil {
		p.token = p.csrf()
	}
	return p.token
}

// T translates a message into the page's language; args are name/value pairs.
func (p *Page) T(id string, args ...any) string { return p.catalog.T(p.Lang, id, args...) }

// Date writes a date the reader's way.
func (p *Page) Date(t time.Time) string { return web.FormatDate(t, p.Lang) }

// Num writes a number with decimals the reader's way ("1,234.5" in English, "1.234,5" in
// Indonesian, by CLDR); decimals -1 gives as many as the number needs. A number that is not
// there (NaN) is a dash.
func (p *Page) Num(v float64, decimals int) string { return formatNumber(v, decimals, p.Lang) }

// Int writes a count the reader's way ("12,345"; "12.345").
func (p *Page) Int(n int) string { return formatNumber(float64(n), 0, p.Lang) }

// Pct writes a percentage the reader's way ("12.5%", "12,5%").
func (p *Page) Pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strings.Replace(printerFor(p.Lang).Sprint(number.Percent(v/100, number.Scale(1))), "-", "−", 1)
}

// Money writes an amount in a currency's minor units the reader's way ("Rp 150.000",
// "$ 12.50"), by CLDR.
func (p *Page) Money(amount int64, code string) string { return formatMoney(amount, code, p.Lang) }

func formatMoney(amount int64, code, lang string) string {
	u, err := currency.ParseISO(code)
	if err != nil {
		return formatNumber(float64(amount), 0, lang)
	}
	return strings.Replace(printerFor(lang).Sprint(currency.NarrowSymbol(u.Amount(customers.Major(amount, code)))), "-", "−", 1)
}

func formatNumber(v float64, decimals int, lang string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if decimals < 0 {
		decimals = 0
		if s := strconv.FormatFloat(v, 'f', -1, 64); strings.Contains(s, ".") {
			decimals = len(s) - strings.IndexByte(s, '.') - 1
		}
	}
	// A typographic minus: "−12,5" reads as a number, not a hyphenated word.
	return strings.Replace(printerFor(lang).Sprint(number.Decimal(v, number.Scale(decimals))), "-", "−", 1)
}

// printers format numbers by each language's CLDR rules, made once.
var printers sync.Map // language code → *message.Printer

func printerFor(lang string) *message.Printer {
	if p, ok := printers.Load(lang); ok {
		return p.(*message.Printer)
	}
	p := message.NewPrinter(language.Make(lang))
	printers.Store(lang, p)
	return p
}

// Stars shows a rating (an int or a float64 average) as five stars, with its value for
// screen readers.
func (p *Page) Stars(value any) template.HTML {
	var rating float64
	switch v := value.(type) {
	case int:
		rating = float64(v)
	case float64:
		rating = v
	}
	rating = min(max(rating, 0), 5)
	label := template.HTMLEscapeString(p.T("stars.label", "Rating", formatNumber(math.Round(rating*10)/10, -1, p.Lang)))
	// The filled stars lie over the empty ones, cut to the rating in steps of a tenth of a
	// star (4.7 is not five full stars) by a class: the CSP allows no inline style.
	fill := int(math.Round(rating * 10))
	return template.HTML(`<span class="stars" role="img" aria-label="` + label + `"><span class="off">★★★★★</span>` +
		`<span class="on f` + strconv.Itoa(fill) + `">★★★★★</span></span>`) //nolint:gosec // built from escaped parts
}

// Ago says how long ago something was, the reader's way: minutes, hours, days, then the date.
func (p *Page) Ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return p.T("ago.now")
	case d < time.Hour:
		return p.T("ago.minutes", "Count", int(d/time.Minute))
	case d < 24*time.Hour:
		return p.T("ago.hours", "Count", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return p.T("ago.days", "Count", int(d/(24*time.Hour)))
	}
	return p.Date(t)
}

// Cause is a stage change's cause in the page's language (the stored words if unknown).
func (p *Page) Cause(cause string) string { return causeText(p.catalog, p.Lang, cause) }

func causeText(catalog *frontend.Catalog, lang, cause string) string {
	if key := customers.CauseKey(cause); key != "" {
		return catalog.T(lang, "stage.cause."+key)
	}
	return cause
}

// Msg translates a message a service returned.
func (p *Page) Msg(m errs.Message) string { return p.catalog.T(p.Lang, m.ID, m.Args...) }

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

// render writes a full page. titleID is the message ID of the page's title.
func (s *Server) render(c *fiber.Ctx, status int, template, titleID string, data any) error {
	return s.renderTitled(c, status, template, s.catalog.T(s.language(c), titleID), data)
}

// renderTitled writes a full page whose title is already in the reader's language.
func (s *Server) renderTitled(c *fiber.Ctx, status int, template, title string, data any) error {
	lang := s.language(c)
	page := &Page{
		Lang:      lang,
		SiteName:  s.cfg.SiteName,
		Title:     title,
		Nav:       s.navFor(c.Path()),
		Languages: s.languageLinks(c, lang),
		User:      web.User(c),
		csrf:      func() string { return s.csrfToken(c) },
		Flash:     s.takeFlash(c, lang),
		Path:      c.Path(),
		Data:      data,
		Flagged:   flaggedOn(c),
		Uploads:   s.deps.Media != nil,
		Canonical: s.absolute(c.Path()),
		catalog:   s.catalog,
	}
	if d, ok := data.(interface{ PageDescription(lang string) string }); ok {
		page.Description = d.PageDescription(lang)
	}
	if f, ok := data.(interface{ PageFeed() string }); ok {
		page.Feed = f.PageFeed()
	}
	if page.User != nil && page.User.SuspendedAt(time.Now()) {
		page.Notice = page.Msg(web.SuspendedError(page.User, lang).Message)
	}
	if page.User != nil {
		n, err := s.deps.Community.Unread(c.UserContext(), page.User.ID)
		if err != nil {
			return err
		}
		page.Unread = n
		if page.User.HasRole(customers.RoleModerator) {
			if page.StaffQueue, err = s.deps.Moderation.OpenCount(c.UserContext()); err != nil {
				return err
			}
		}
		if page.User.HasRole(customers.RoleProduct) && s.deps.FollowUps != nil {
			open, err := s.deps.FollowUps.OpenCount(c.UserContext())
			if err != nil {
				return err
			}
			page.StaffQueue += open
		}
	}
	c.Set(fiber.HeaderVary, "Accept-Language, Cookie")
	if page.User != nil || page.Flash != "" {
		c.Set(fiber.HeaderCacheControl, "private, no-store")
	}
	return c.Status(status).Render(template, page)
}

func (s *Server) navFor(path string) []navItem {
	items := make([]navItem, len(s.nav))
	for i, item := range s.nav {
		item.Active = item.URL == path || (item.URL != "/" && strings.HasPrefix(path, item.URL+"/"))
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

// form is the state of a submitted form shown again: what was typed and what is wrong.
type form struct {
	Values  map[string]string
	Photos  []media.Photo     // pictures the form keeps (a review's)
	Errors  map[string]string // localised, by field
	Message string            // localised, about the whole form
}

// Value returns what was typed into a field.
func (f *form) Value(name string) string {
	if f == nil {
		return ""
	}
	return f.Values[name]
}

// Error returns the message for a field, if any.
func (f *form) Error(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// formFailed turns a service's validation error into the form to show again with 422; any
// other error is returned for the error handler.
func (s *Server) formFailed(c *fiber.Ctx, err error, values map[string]string) (*form, error) {
	lang := s.language(c)
	var fields *errs.Fields
	if errors.As(err, &fields) {
		return &form{Values: values, Errors: web.FieldMessages(s.catalog, lang, fields)}, nil
	}
	var domain *errs.Error
	if errors.As(err, &domain) && web.Status(err) < 500 {
		return &form{Values: values, Message: s.catalog.T(lang, domain.Message.ID, domain.Message.Args...)}, nil
	}
	return nil, err
}

// templateFuncs are the helpers every template may call.
func templateFuncs(assets *frontend.Assets) map[string]any {
	return map[string]any{
		"asset": assets.URL,
		// seq counts from a to b, up or down: {{range seq 5 1}}.
		"seq": func(a, b int) []int {
			var out []int
			for i := a; ; {
				out = append(out, i)
				if i == b {
					return out
				}
				if a < b {
					i++
				} else {
					i--
				}
			}
		},
		// reviewForm hands the shared review fields their page, form state and chosen rating.
		"reviewForm":  func(p *Page, f *form, rating int) reviewFormArgs { return reviewFormArgs{p, f, rating} },
		"productForm": func(p *Page, f *form) productFormArgs { return productFormArgs{p, f} },
		"flagReasons": func() []string { return moderation.FlagReasons },
		"atoi":        func(s string) int { n, _ := strconv.Atoi(s); return n },
		"list":        func(items ...string) []string { return items },
		"trimPrefix":  strings.TrimPrefix,
		"surveyForm": func(p *Page, sv *feedback.Survey, question, action string, f *form) surveyFormArgs {
			return surveyFormArgs{Page: p, Survey: sv, Question: question, Action: action, Form: f}
		},
		"join":   func(words []string) string { return strings.Join(words, "\n") },
		"commas": func(words []string) string { return strings.Join(words, ", ") },
		"add":    func(a, b int) int { return a + b },
		// levelKey names a trust level, for its name and description in the catalogue.
		"levelKey": func(n int) string { return loyalty.Levels[min(max(n, 0), len(loyalty.Levels)-1)].Key },
		"addf":     func(a, b float64) float64 { return a + b },
		// item hands a partial its page and one thing to show.
		"item": func(p *Page, v any) itemArgs { return itemArgs{p, v} },
		// postArgs: copy is a second showing of a post (the accepted answer above the replies), without its anchor.
		"postArgs": func(p *Page, v postView, parentURL, threadID string, canAccept, locked, copy bool) postArgs {
			return postArgs{Page: p, Post: v, ParentURL: parentURL, ThreadID: threadID, CanAccept: canAccept, Locked: locked, Copy: copy}
		},
		"replyForm": func(p *Page, f *form, heading, action, parentURL, closed, quoteOf string) replyArgs {
			return replyArgs{Page: p, Form: f, Heading: heading, Action: action, ParentURL: parentURL, Closed: closed, QuoteOf: quoteOf}
		},
		"flagArgs":    func(p *Page, ref, back string) flagArgs { return flagArgs{p, ref, back} },
		"similarArgs": func(p *Page, heading string, items []similarItem) similarArgs { return similarArgs{p, heading, items} },
		"voteArgs": func(p *Page, i *community.Idea, voted bool, back string) voteArgs {
			return voteArgs{Page: p, Idea: i, Voted: voted, Back: back}
		},
		"moderationRow": func(p *Page, t testimonialView, failed string, f *form) moderationArgs {
			return moderationArgs{Page: p, Item: t, Failed: failed == t.ID.Hex(), Form: f}
		},
	}
}

type itemArgs struct {
	Page *Page
	Item any
}

type postArgs struct {
	Page      *Page
	Post      postView
	ParentURL string
	ThreadID  string
	CanAccept bool
	Locked    bool
	Copy      bool
}

type replyArgs struct {
	Page                                        *Page
	Form                                        *form
	Heading, Action, ParentURL, Closed, QuoteOf string
}

type flagArgs struct {
	Page      *Page
	Ref, Back string
}

type similarArgs struct {
	Page    *Page
	Heading string
	Items   []similarItem
}

type voteArgs struct {
	Page  *Page
	Idea  *community.Idea
	Voted bool
	Back  string
}

type surveyFormArgs struct {
	Page     *Page
	Survey   *feedback.Survey
	Question string
	Action   string
	Form     *form
}

type productFormArgs struct {
	Page *Page
	Form *form
}

type moderationArgs struct {
	Page   *Page
	Item   testimonialView
	Failed bool
	Form   *form
}

type reviewFormArgs struct {
	Page   *Page
	Form   *form
	Rating int
}

// noteFlagged finds which of the content on a page (refs) the viewer has reported, for the
// page to say so.
func (s *Server) noteFlagged(c *fiber.Ctx, refs ...string) error {
	u := web.User(c)
	if u == nil || len(refs) == 0 || s.deps.Moderation == nil {
		return nil
	}
	found, err := s.deps.Moderation.FlaggedBy(c.UserContext(), u.ID, refs)
	if err != nil {
		return err
	}
	all := flaggedOn(c)
	if all == nil {
		all = map[string]bool{}
	}
	for ref := range found {
		all[ref] = true
	}
	c.Locals(flaggedLocal, all)
	return nil
}

const flaggedLocal = "flagged"

func flaggedOn(c *fiber.Ctx) map[string]bool {
	m, _ := c.Locals(flaggedLocal).(map[string]bool)
	return m
}
