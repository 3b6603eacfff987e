package handlers

import (
	"encoding/csv"
	"fmt"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

// The customer record for staff: product and admin see everything; moderators see the
// contribution timeline but not email or purchases.
func (s *Server) recordRoutes(app *fiber.App) {
	staff := app.Group("/staff/customers", web.RequireRole(customers.RoleModerator, customers.RoleProduct))
	staff.Get("/", s.customersPage)
	staff.Get("/export.csv", web.RequireRole(customers.RoleProduct), s.customersCSV)
	staff.Get("/:id", s.recordPage)
}

// customersQuery reads the list's filters: text, stage, band, NPS category, active within
// N days, and the order (newest, or score).
func customersQuery(c *fiber.Ctx) customers.Query {
	q := customers.Query{Text: c.Query("q"), Emails: web.User(c).HasRole(customers.RoleProduct), Stage: customers.Stage(c.Query("stage")), Band: c.Query("band"), NPS: c.Query("nps"),
		ByScore: strings.HasPrefix(c.Query("sort"), "score"), Ascending: c.Query("sort") == "score_asc", ByActivity: c.Query("sort") == "active",
		ByLevel: c.Query("sort") == "level", Level: c.Query("level"), NoStaff: c.Query("staff") != "1", After: c.Query("after")}
	// Risk and value are product's: even the order would tell a moderator who is worth most.
	if web.User(c).HasRole(customers.RoleProduct) {
		q.ByRisk, q.ByValue = c.Query("sort") == "risk", c.Query("sort") == "value"
	}
	if days, err := strconv.Atoi(c.Query("active")); err == nil && days > 0 && days <= 3650 {
		q.ActiveSince = time.Now().UTC().AddDate(0, 0, -days)
	}
	if id, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = id
	}
	return q
}

var stages = customers.Stages

type customersData struct {
	Customers []*customers.Customer
	Stage     string
	Band      string
	NPS       string
	Active    string
	Sort      string
	Level     string
	Staff     bool // staff accounts are listed too
	Stages    []customers.Stage
	Next      string
	Export    string
	CanExport bool
}

func (s *Server) customersPage(c *fiber.Ctx) error {
	q := customersQuery(c)
	q.Limit = 26
	list, err := s.deps.Customers.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := customersData{Customers: list, Stage: string(q.Stage), Band: q.Band, NPS: q.NPS, Active: c.Query("active"), Sort: c.Query("sort"), Level: q.Level, Staff: !q.NoStaff,
		Stages: stages, CanExport: web.User(c).HasRole(customers.RoleProduct)}
	filters := url.Values{"q": {q.Text}, "stage": {d.Stage}, "band": {q.Band}, "nps": {q.NPS}, "active": {d.Active}, "sort": {d.Sort}, "level": {d.Level}}
	if d.Staff {
		filters.Set("staff", "1")
	}
	d.Export = "/staff/customers/export.csv?" + filters.Encode()
	if len(list) == 26 {
		d.Customers = list[:25]
		next := q
		next.Next(list[24])
		if next.After != "" {
			filters.Set("after", next.After)
		} else {
			filters.Set("before", next.Before.Hex())
		}
		d.Next = "/staff/customers/?" + filters.Encode()
	}
	return s.render(c, fiber.StatusOK, "staff/customers", "record.list_title", d)
}

// customersCSV exports the filtered list, a page of 500 at a time by key, streamed.
func (s *Server) customersCSV(c *fiber.Ctx) error {
	q := customersQuery(c)
	q.Limit = 500
	return s.sendCustomersCSV(c, q, "customers.csv",
		[]string{"id", "name", "email", "stage", "score", "band", "nps_category", "trend_30d", "risk", "lifetime_value", "currency", "orders", "last_active", "created"},
		func(m *customers.Customer) []string {
			score := ""
			if m.Satisfaction.HasScore() {
				score = strconv.Itoa(m.Satisfaction.Score)
			}
			return []string{m.ID.Hex(), m.DisplayName, m.Email, string(m.Stage), score, m.Satisfaction.Band,
				m.Satisfaction.NPSCat, strconv.Itoa(m.Risk.Trend), strconv.Itoa(m.Risk.Score),
				strconv.FormatFloat(customers.Major(m.Value.CLTV, m.Value.Currency), 'f', -1, 64), m.Value.Currency, strconv.Itoa(m.Value.Orders),
				m.LastActiveAt.Format(time.RFC3339), m.CreatedAt.Format(time.RFC3339)}
		})
}

// sendCustomersCSV answers a list of customers as a CSV download, a page of q.Limit at a time
// by key: header, then a row per customer.
func (s *Server) sendCustomersCSV(c *fiber.Ctx, q customers.Query, filename string, header []string, row func(*customers.Customer) []string) error {
	var b strings.Builder
	w := safeCSV{csv.NewWriter(&b)}
	_ = w.Write(header)
	for {
		list, err := s.deps.Customers.Search(c.UserContext(), q)
		if err != nil {
			return err
		}
		for _, m := range list {
			_ = w.Write(row(m))
		}
		if len(list) < q.Limit {
			break
		}
		q.Next(list[len(list)-1])
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendString(b.String())
}

// safeCSV writes rows whose every cell is inert in a spreadsheet: a cell an outsider could
// have chosen (a name, an email's local part, a label) never starts a formula.
type safeCSV struct{ *csv.Writer }

func (w safeCSV) Write(row []string) error {
	for i, v := range row {
		row[i] = web.CSVCell(v)
	}
	return w.Writer.Write(row)
}

type recordData struct {
	Next      string // the older part of the timeline
	Member    *customers.Customer
	Full      bool // product and admin: email, identities, purchases
	Products  map[bson.ObjectID]*reviews.Product
	Timeline  []web.TimelineEntry
	Sparkline string // SVG points of the score after each signal
	Loyalty   memberLoyalty
}

func (s *Server) recordPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return customers.ErrNotFound
	}
	m, err := s.deps.Customers.Get(ctx, id)
	if err != nil {
		return err
	}
	viewer := web.User(c)
	d := recordData{Member: m, Full: viewer.HasRole(customers.RoleProduct)}
	if d.Loyalty, err = s.loyaltyOf(c, m.ID, true); err != nil {
		return err
	}

	// Everything the customer did, newest first, a page at a time by time: each source gives
	// at most a page from before the cursor, the merge keeps a page.
	var before time.Time
	if ns, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil {
		before = time.Unix(0, ns).UTC()
	}
	var products map[bson.ObjectID]*reviews.Product
	if d.Timeline, products, err = s.timeline(c, m, before, d.Full); err != nil {
		return err
	}
	d.Products = products
	if d.Full {
		var bought []bson.ObjectID
		for _, p := range m.Purchases {
			if products[p.ProductID] == nil {
				bought = append(bought, p.ProductID)
			}
		}
		more, err := s.deps.Reviews.ProductsByID(ctx, bought)
		if err != nil {
			return err
		}
		maps.Copy(d.Products, more)
	}
	if len(d.Timeline) > web.TimelinePage {
		d.Timeline = d.Timeline[:web.TimelinePage]
		d.Next = fmt.Sprintf("/staff/customers/%s?before=%d#timeline", id.Hex(), d.Timeline[web.TimelinePage-1].SortKey)
	}

	// The score's history: replay the signals, keeping the score after each.
	signals, err := s.deps.Customers.Signals(ctx, id)
	if err != nil {
		return err
	}
	st, err := s.deps.Customers.ScoreSettings(ctx)
	if err != nil {
		return err
	}
	d.Sparkline = sparkline(st.Replay(signals).Trail)
	return s.renderTitled(c, fiber.StatusOK, "staff/record", m.DisplayName, d)
}

// timeline is everything a customer did, or that was decided about them, before a time
// (zero: now), newest first: each source gives at most a page from before it; the caller
// keeps a page. full: product staff's view, with the follow-ups.
func (s *Server) timeline(c *fiber.Ctx, m *customers.Customer, before time.Time, full bool) ([]web.TimelineEntry, map[bson.ObjectID]*reviews.Product, error) {
	ctx := c.UserContext()
	lang := s.language(c)
	id := m.ID
	var out []web.TimelineEntry
	revs, products, err := s.deps.Reviews.ReviewsByAuthor(ctx, id, before, web.TimelinePage+1)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range revs {
		p := products[r.ProductID]
		e := web.TimelineEntry{At: web.FormatDate(r.CreatedAt, lang), Kind: "kind.review", Text: r.Title,
			Status: s.catalog.T(lang, "status."+string(r.Status)), SortKey: r.CreatedAt.UnixNano()}
		if p != nil {
			e.URL = "/products/" + p.Slug + "#review-" + r.ID.Hex()
			if e.Text == "" {
				e.Text = p.Name
			}
		}
		out = append(out, e)
	}
	tms, err := s.deps.Reviews.TestimonialsBy(ctx, id, before)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range tms {
		out = append(out, web.TimelineEntry{At: web.FormatDate(t.CreatedAt, lang), Kind: "kind.testimonial",
			Text: t.Quote, Status: s.catalog.T(lang, "testimonial.status."+string(t.Status)), SortKey: t.CreatedAt.UnixNano()})
	}
	answers, err := s.deps.Feedback.ResponsesBy(ctx, id, before, web.TimelinePage+1)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range answers {
		text := fmt.Sprintf("%s %d", strings.ToUpper(string(a.Kind)), a.Score)
		if a.Comment != "" {
			text += " — " + a.Comment
		}
		out = append(out, web.TimelineEntry{At: web.FormatDate(a.At, lang), Kind: "record.answer", Text: text,
			Status: s.catalog.T(lang, "channel."+a.Channel), SortKey: a.At.UnixNano()})
	}
	helpful, err := s.deps.Reviews.HelpfulVotesBy(ctx, id, before, web.TimelinePage+1)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range helpful {
		e := web.TimelineEntry{At: web.FormatDate(v.At, lang), Kind: "record.helpful_vote", Text: v.Review.Title, SortKey: v.At.UnixNano()}
		if v.Product != nil {
			e.URL = "/products/" + v.Product.Slug + "#review-" + v.Review.ID.Hex()
			if e.Text == "" {
				e.Text = v.Product.Name
			}
		}
		if v.Helpful {
			e.Status = s.catalog.T(lang, "review.yes")
		} else {
			e.Status = s.catalog.T(lang, "review.no")
		}
		out = append(out, e)
	}
	acts, err := s.deps.Community.ActivityBy(ctx, id, before, web.TimelinePage+1)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range acts {
		out = append(out, web.TimelineEntry{At: web.FormatDate(a.At, lang), Kind: "record.community." + a.Kind, Text: a.Title,
			URL: a.URL, Status: activityStatus(s.catalog, lang, a.Status), SortKey: a.At.UnixNano()})
	}
	lq := moderation.LogQuery{Author: id, Limit: web.TimelinePage + 1}
	if !before.IsZero() {
		lq.Before = bson.NewObjectIDFromTimestamp(before)
	}
	log, err := s.deps.Moderation.Log(ctx, lq)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range log {
		out = append(out, web.TimelineEntry{At: web.FormatDate(e.At, lang), Kind: "action." + string(e.Action),
			Text: e.Reason, SortKey: e.At.UnixNano()})
	}
	if s.deps.FollowUps != nil && full { // follow-ups are product's work
		tasks, err := s.deps.FollowUps.Of(ctx, id, before, web.TimelinePage+1)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range tasks {
			rule := s.catalog.T(lang, "followup.rule."+t.Rule)
			url := "/staff/followups/" + t.ID
			out = append(out, web.TimelineEntry{At: web.FormatDate(t.CreatedAt, lang), Kind: "followup.opened_entry", Text: rule, URL: url,
				SortKey: t.CreatedAt.UnixNano()})
			if t.Reply != nil && (before.IsZero() || t.Reply.At.Before(before)) {
				out = append(out, web.TimelineEntry{At: web.FormatDate(t.Reply.At, lang), Kind: "followup.replied_badge", Text: t.Reply.Text, URL: url,
					SortKey: t.Reply.At.UnixNano()})
			}
			if t.DoneAt != nil && (before.IsZero() || t.DoneAt.Before(before)) {
				out = append(out, web.TimelineEntry{At: web.FormatDate(*t.DoneAt, lang), Kind: "followup.resolved_entry", Text: rule, URL: url,
					Status: s.catalog.T(lang, "followup.outcome."+t.Outcome), SortKey: t.DoneAt.UnixNano()})
			}
		}
	}
	for _, h := range m.StageHistory {
		if !before.IsZero() && !h.At.Before(before) {
			continue
		}
		out = append(out, web.TimelineEntry{At: web.FormatDate(h.At, lang), Kind: "record.stage_change",
			Text: s.catalog.T(lang, "stage."+string(h.To)) + " — " + causeText(s.catalog, lang, h.Cause), SortKey: h.At.UnixNano()})
	}
	sortTimeline(out)
	return out, products, nil
}

func sortTimeline(t []web.TimelineEntry) {
	for i := 1; i < len(t); i++ { // insertion sort: the lists are short
		for j := i; j > 0 && t[j].SortKey > t[j-1].SortKey; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

// sparkline is the polyline of the score after each recent signal, 0–100 mapped onto a
// 100×30 box.
func sparkline(trail []customers.ScorePoint) string {
	if len(trail) < 2 {
		return ""
	}
	var pts []string
	for i, p := range trail {
		x := float64(i) * 100 / float64(len(trail)-1)
		y := 30 - float64(p.Score)*30/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	return strings.Join(pts, " ")
}

// activityStatus is a contribution's status in words; votes have none.
func activityStatus(catalog *frontend.Catalog, lang string, st content.Status) string {
	if st == "" {
		return ""
	}
	return catalog.T(lang, "status."+string(st))
}
