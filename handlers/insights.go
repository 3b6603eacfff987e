package handlers

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) insightsRoutes(app *fiber.App) {
	if s.deps.Insights == nil {
		return
	}
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/insights", product, s.insightsPage)
	app.Get("/insights/export.:format", product, s.api.InsightsExport) // the API's export, named for a download
	admin := web.RequireRole(customers.RoleAdmin)
	app.Get("/admin/themes", admin, s.themesPage)
	app.Post("/admin/themes", admin, s.themeSave)
	app.Post("/admin/themes/:key", admin, s.themeSave)
	app.Post("/admin/themes/:key/delete", admin, s.themeDelete)
}

// insightsReport is the report the query asks for.
func (s *Server) insightsReport(c *fiber.Ctx) (*insights.Report, error) {
	f, err := web.InsightsFilter(c)
	if err != nil {
		return nil, err
	}
	return s.deps.Insights.Report(c.UserContext(), f)
}

// filterQuery is the filter as a query string, for links that keep it.
func filterQuery(f insights.Filter) template.URL {
	v := url.Values{}
	for _, p := range f.Products {
		v.Add("product", p)
	}
	for k, x := range map[string]string{"source": f.Source, "touchpoint": f.Touchpoint, "language": f.Lang, "stage": f.Stage, "band": f.Band} {
		if x != "" {
			v.Set(k, x)
		}
	}
	v.Set("days", strconv.Itoa(f.Days))
	return template.URL(v.Encode()) //nolint:gosec // encoded by url.Values
}

type insightsData struct {
	R           *insights.Report
	Filter      insights.Filter
	Query       template.URL
	Products    []*reviews.Product // to choose from: the first 100 by name
	Names       map[string]string  // product names by slug, for the report's products
	Chart       sentimentChart
	Sources     []string
	Touchpoints []string
	Stages      []customers.Stage
	Periods     []int
	Selected    map[string]bool // the chosen products
}

// sentimentChart is the feedback of each week or month as stacked bars on a 100×100 box
// stretched to the chart's width (negative at the bottom, then neutral, then positive);
// its labels are HTML, one equal column a bar, so text keeps its size on any screen (and
// no inline style is needed: the CSP forbids them).
type sentimentChart struct {
	Bars   []sentimentBar
	Labels []string // one a bar, most of them empty: every few bars is named
	Top    int      // the scale's top, in pieces of feedback
}

type sentimentBar struct {
	X, W          float64
	Neg, Neu, Pos chartRect
	Title         string
}

type chartRect struct{ Y, H float64 }

func buildSentimentChart(r *insights.Report, lang string) sentimentChart {
	c := sentimentChart{Top: 1}
	for _, b := range r.Buckets {
		c.Top = max(c.Top, b.Total())
	}
	n := len(r.Buckets)
	step := 100 / float64(max(n, 1))
	every := max(1, int(math.Ceil(float64(n)/5)))
	for i, b := range r.Buckets {
		x := float64(i) * step
		h := func(k int) float64 { return 100 * float64(k) / float64(c.Top) }
		neg, neu, pos := h(b.Negative), h(b.Neutral), h(b.Positive)
		c.Bars = append(c.Bars, sentimentBar{X: x + step*0.15, W: step * 0.7,
			Neg: chartRect{Y: 100 - neg, H: neg}, Neu: chartRect{Y: 100 - neg - neu, H: neu}, Pos: chartRect{Y: 100 - neg - neu - pos, H: pos},
			Title: fmt.Sprintf("%s: %d (+%d / −%d)", shortDate(b.Start, lang, r.Granularity), b.Total(), b.Positive, b.Negative)})
		label := ""
		if i%every == 0 {
			label = shortDate(b.Start, lang, r.Granularity)
		}
		c.Labels = append(c.Labels, label)
	}
	return c
}

// shortDate labels a week by its first day ("3 Nov") and a month by its name ("Nov 2026").
func shortDate(t time.Time, lang, granularity string) string {
	m := web.MonthName(t.Month(), lang)[:3]
	if granularity == "month" {
		return m + " " + t.Format("2006")
	}
	return t.Format("2") + " " + m
}

func (s *Server) insightsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, err := s.insightsReport(c)
	if err != nil {
		return err
	}
	d := insightsData{R: r, Filter: r.Filter, Query: filterQuery(r.Filter), Sources: insights.Sources, Touchpoints: feedback.Touchpoints,
		Stages: stages, Periods: insights.Periods, Selected: map[string]bool{}}
	for _, p := range r.Filter.Products {
		d.Selected[p] = true
	}
	if d.Products, _, err = s.deps.Reviews.Products(ctx, "", 100); err != nil {
		return err
	}
	slugs := append([]string(nil), r.Filter.Products...)
	for _, p := range r.Products {
		slugs = append(slugs, p.Slug)
	}
	named, err := s.deps.Reviews.ProductsBySlug(ctx, slugs)
	if err != nil {
		return err
	}
	d.Names = map[string]string{}
	for slug, p := range named {
		d.Names[slug] = p.Name
	}
	d.Chart = buildSentimentChart(r, s.language(c))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return s.render(c, fiber.StatusOK, "staff/insights", "insights.title", d)
}
