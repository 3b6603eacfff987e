package handlers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

// The customer record for staff: product and admin see everything; moderators see the
// contribution timeline but not email or purchases.
func (s *Server) recordRoutes(app *fiber.App) {
	staff := app.Group("/staff/customers", s.requireRole(customers.RoleModerator, customers.RoleProduct))
	staff.Get("/", s.customersPage)
	staff.Get("/:id", s.recordPage)
}

var stages = []customers.Stage{customers.StageAwareness, customers.StageExploration, customers.StageExpansion,
	customers.StageCommitment, customers.StageDissolution}

type customersData struct {
	Customers []*customers.Customer
	Stage     string
	Band      string
	NPS       string
	Stages    []customers.Stage
	Next      string
}

func (s *Server) customersPage(c *fiber.Ctx) error {
	q := customers.Query{Text: c.Query("q"), Stage: customers.Stage(c.Query("stage")), Band: c.Query("band"), NPS: c.Query("nps"), Limit: 26}
	if id, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = id
	}
	list, err := s.deps.Customers.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := customersData{Customers: list, Stage: string(q.Stage), Band: q.Band, NPS: q.NPS, Stages: stages}
	if len(list) == 26 {
		d.Customers = list[:25]
		d.Next = "/staff/customers/?" + url.Values{"q": {q.Text}, "stage": {d.Stage}, "band": {q.Band}, "nps": {q.NPS},
			"before": {list[24].ID.Hex()}}.Encode()
	}
	return s.render(c, fiber.StatusOK, "staff/customers", "record.list_title", d)
}

// timelineEntry is one thing a customer did, or that was decided about them.
type timelineEntry struct {
	At      string
	Kind    string // message ID of what it was
	Text    string
	URL     string
	Status  string
	sortKey int64
}

type recordData struct {
	Member    *customers.Customer
	Full      bool // product and admin: email, identities, purchases
	Products  map[bson.ObjectID]*reviews.Product
	Timeline  []timelineEntry
	Sparkline string // SVG points of the score after each signal
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
	viewer := currentUser(c)
	d := recordData{Member: m, Full: viewer.HasRole(customers.RoleProduct)}
	lang := s.language(c)

	// Everything the customer did, newest first: one query per kind of content.
	revs, products, err := s.deps.Reviews.ReviewsByAuthor(ctx, id, 50)
	if err != nil {
		return err
	}
	d.Products = products
	for _, r := range revs {
		p := products[r.ProductID]
		e := timelineEntry{At: formatDate(r.CreatedAt, lang), Kind: "kind.review", Text: r.Title, Status: string(r.Status),
			sortKey: r.CreatedAt.UnixNano()}
		if p != nil {
			e.URL = "/products/" + p.Slug + "#review-" + r.ID.Hex()
			if e.Text == "" {
				e.Text = p.Name
			}
		}
		d.Timeline = append(d.Timeline, e)
	}
	tms, err := s.deps.Reviews.TestimonialsBy(ctx, id)
	if err != nil {
		return err
	}
	for _, t := range tms {
		d.Timeline = append(d.Timeline, timelineEntry{At: formatDate(t.CreatedAt, lang), Kind: "kind.testimonial",
			Text: t.Quote, Status: string(t.Status), sortKey: t.CreatedAt.UnixNano()})
	}
	answers, err := s.deps.Feedback.ResponsesBy(ctx, id, 50)
	if err != nil {
		return err
	}
	for _, a := range answers {
		text := fmt.Sprintf("%s %d", strings.ToUpper(string(a.Kind)), a.Score)
		if a.Comment != "" {
			text += " — " + a.Comment
		}
		d.Timeline = append(d.Timeline, timelineEntry{At: formatDate(a.At, lang), Kind: "record.answer", Text: text,
			Status: a.Channel, sortKey: a.At.UnixNano()})
	}
	log, err := s.deps.Moderation.Log(ctx, moderation.LogQuery{Author: id, Limit: 50})
	if err != nil {
		return err
	}
	for _, e := range log {
		d.Timeline = append(d.Timeline, timelineEntry{At: formatDate(e.At, lang), Kind: "action." + string(e.Action),
			Text: e.Reason, sortKey: e.At.UnixNano()})
	}
	for _, h := range m.StageHistory {
		d.Timeline = append(d.Timeline, timelineEntry{At: formatDate(h.At, lang), Kind: "record.stage_change",
			Text: s.catalog.T(lang, "stage."+string(h.To)) + " — " + h.Cause, sortKey: h.At.UnixNano()})
	}
	sortTimeline(d.Timeline)

	// The score's history: replay the signals, keeping the score after each.
	signals, err := s.deps.Customers.Signals(ctx, id)
	if err != nil {
		return err
	}
	d.Sparkline = sparkline(signals)
	return s.renderTitled(c, fiber.StatusOK, "staff/record", m.DisplayName, d)
}

func sortTimeline(t []timelineEntry) {
	for i := 1; i < len(t); i++ { // insertion sort: the lists are short
		for j := i; j > 0 && t[j].sortKey > t[j-1].sortKey; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

// sparkline is the polyline of the score after each signal, 0–100 mapped onto a 100×30 box.
func sparkline(signals []customers.Signal) string {
	if len(signals) < 2 {
		return ""
	}
	var pts []string
	var sat customers.Satisfaction
	for i, sig := range signals {
		sat = sat.Add(sig.Value, sig.Weight, sig.At)
		x := float64(i) * 100 / float64(len(signals)-1)
		y := 30 - float64(sat.Score)*30/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	return strings.Join(pts, " ")
}
