package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
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
	app.Get("/insights/export.:format", product, s.insightsExport)
	app.Get("/api/v1/insights/themes", s.apiScopes, product, s.apiInsightThemes)
	app.Get("/api/v1/insights/sentiment", s.apiScopes, product, s.apiInsightSentiment)
	app.Get("/api/v1/insights/export", s.apiScopes, product, s.insightsExport)
	admin := web.RequireRole(customers.RoleAdmin)
	app.Get("/admin/themes", admin, s.themesPage)
	app.Post("/admin/themes", admin, s.themeSave)
	app.Post("/admin/themes/:key", admin, s.themeSave)
	app.Post("/admin/themes/:key/delete", admin, s.themeDelete)
}

// insightsFilter reads the filter from the query: product (repeated), source, touchpoint,
// language (of the feedback: lang is the page's), stage, band, days. The service checks
// the rest; what only the web knows (a number, a touchpoint) is checked here.
func insightsFilter(c *fiber.Ctx) (insights.Filter, error) {
	f := insights.Filter{Source: c.Query("source"), Touchpoint: c.Query("touchpoint"), Lang: c.Query("language"),
		Stage: c.Query("stage"), Band: c.Query("band")}
	var fe errs.Fields
	if days := c.Query("days"); days != "" {
		var err error
		if f.Days, err = strconv.Atoi(days); err != nil {
			fe.Add("days", "field.choose_one")
		}
	}
	if f.Touchpoint != "" && !slicesContains(feedback.Touchpoints, f.Touchpoint) {
		fe.Add("touchpoint", "field.choose_one")
	}
	products := c.Context().QueryArgs().PeekMulti("product")
	if len(products) > 100 {
		fe.Add("product", "field.too_many", "Max", 10)
		products = nil
	}
	for _, p := range products {
		if slug := strings.TrimSpace(string(p)); slug != "" {
			f.Products = append(f.Products, slug)
		}
	}
	return f, fe.Err()
}

// insightsReport is the report the query asks for.
func (s *Server) insightsReport(c *fiber.Ctx) (*insights.Report, error) {
	f, err := insightsFilter(c)
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

// themeJSON is a theme's figures as the API shows them: no number that is not there.
type themeJSON struct {
	Key         string            `json:"key"`
	Name        map[string]string `json:"name"`
	Count       int               `json:"count"`
	Positive    int               `json:"positive"`
	Neutral     int               `json:"neutral"`
	Negative    int               `json:"negative"`
	TrendPoints float64           `json:"trend_points"` // change of its share of feedback, first half to second
	RatingWith  *float64          `json:"rating_with"`
	RatingOther *float64          `json:"rating_without"`
	NPSWith     *float64          `json:"nps_with"`
	NPSOther    *float64          `json:"nps_without"`
	Quotes      []quoteJSON       `json:"quotes"`
}

type quoteJSON struct {
	Text      string `json:"text"`
	URL       string `json:"url"`
	Sentiment string `json:"sentiment"`
	Source    string `json:"source"`
}

func jsonNumber(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	v = math.Round(v*100) / 100
	return &v
}

func (s *Server) apiInsightThemes(c *fiber.Ctx) error {
	r, err := s.insightsReport(c)
	if err != nil {
		return err
	}
	out := struct {
		From     time.Time     `json:"from"`
		To       time.Time     `json:"to"`
		Total    int           `json:"total"`
		Themes   []themeJSON   `json:"themes"`
		Emerging []phraseJSON  `json:"emerging_phrases"`
		Products []productJSON `json:"products"`
	}{From: r.Filter.From(), To: r.Filter.To, Total: r.Total(), Themes: []themeJSON{}, Emerging: []phraseJSON{}, Products: []productJSON{}}
	for _, t := range r.Themes {
		j := themeJSON{Key: t.Key, Name: t.Name, Count: t.Total(), Positive: t.Positive, Neutral: t.Neutral, Negative: t.Negative,
			TrendPoints: math.Round(t.Trend()*10) / 10, RatingWith: jsonNumber(t.RatingWith.Value()), RatingOther: jsonNumber(t.RatingWithout.Value()),
			NPSWith: jsonNumber(t.NPSWith.Value()), NPSOther: jsonNumber(t.NPSWithout.Value()), Quotes: []quoteJSON{}}
		for _, q := range t.Quotes {
			j.Quotes = append(j.Quotes, quoteJSON{Text: q.Text, URL: q.URL, Sentiment: q.Sentiment, Source: q.Source})
		}
		out.Themes = append(out.Themes, j)
	}
	for _, p := range r.Emerging {
		out.Emerging = append(out.Emerging, phraseJSON{Phrase: p.Text, Recent: p.Recent, Before: p.Before,
			RecentShare: math.Round(p.RecentShare*10) / 10, BeforeShare: math.Round(p.BeforeShare*10) / 10})
	}
	for _, p := range r.Products {
		out.Products = append(out.Products, productJSON{Product: p.Slug, Count: p.Total(), Positive: p.Positive, Neutral: p.Neutral,
			Negative: p.Negative, Rating: jsonNumber(p.Rating.Value()), TopTheme: p.TopTheme})
	}
	return c.JSON(out)
}

type phraseJSON struct {
	Phrase      string  `json:"phrase"`
	Recent      int     `json:"last_30_days"`
	Before      int     `json:"previous_90_days"`
	RecentShare float64 `json:"share_last_30_days"`
	BeforeShare float64 `json:"share_previous_90_days"`
}

type productJSON struct {
	Product  string   `json:"product"`
	Count    int      `json:"count"`
	Positive int      `json:"positive"`
	Neutral  int      `json:"neutral"`
	Negative int      `json:"negative"`
	Rating   *float64 `json:"rating"`
	TopTheme string   `json:"top_theme,omitempty"`
}

func (s *Server) apiInsightSentiment(c *fiber.Ctx) error {
	r, err := s.insightsReport(c)
	if err != nil {
		return err
	}
	type bucketJSON struct {
		Start    time.Time `json:"start"`
		Positive int       `json:"positive"`
		Neutral  int       `json:"neutral"`
		Negative int       `json:"negative"`
	}
	out := struct {
		From        time.Time    `json:"from"`
		To          time.Time    `json:"to"`
		Granularity string       `json:"granularity"`
		Total       int          `json:"total"`
		Positive    int          `json:"positive"`
		Neutral     int          `json:"neutral"`
		Negative    int          `json:"negative"`
		Rating      *float64     `json:"rating"`
		Ratings     int          `json:"ratings"`
		NPS         *float64     `json:"nps"`
		NPSAnswers  int          `json:"nps_answers"`
		Buckets     []bucketJSON `json:"buckets"`
	}{From: r.Filter.From(), To: r.Filter.To, Granularity: r.Granularity, Total: r.Total(), Positive: r.Positive, Neutral: r.Neutral,
		Negative: r.Negative, Rating: jsonNumber(r.Rating.Value()), Ratings: r.Rating.N, NPS: jsonNumber(r.NPS.Value()), NPSAnswers: r.NPS.N(),
		Buckets: []bucketJSON{}}
	for _, b := range r.Buckets {
		out.Buckets = append(out.Buckets, bucketJSON{Start: b.Start, Positive: b.Positive, Neutral: b.Neutral, Negative: b.Negative})
	}
	return c.JSON(out)
}

// exportColumns are the export's fields, in order.
var exportColumns = []string{"id", "source", "kind", "created_at", "product", "lang", "sentiment", "score", "themes",
	"rating", "survey", "answer", "touchpoint", "stage", "band", "url", "text"}

// insightsExport streams every piece of feedback the filter chooses, with its analysis, as
// CSV (formula-safe) or JSON Lines, a page at a time by key: the whole set is never held.
func (s *Server) insightsExport(c *fiber.Ctx) error {
	format := c.Params("format", c.Query("format", "csv"))
	if format != "csv" && format != "jsonl" {
		return fiber.NewError(fiber.StatusNotFound)
	}
	f, err := insightsFilter(c)
	if err == nil {
		err = f.Validate(time.Now().UTC())
	}
	if err != nil {
		return err
	}
	// A few exports at a time: each streams after its handler returns, outside the limits
	// on requests in flight.
	select {
	case s.exports <- struct{}{}:
	default:
		return errs.New(errs.ErrUnavailable, "insights.exports_busy")
	}
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, "application/x-ndjson; charset=utf-8")
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="feedback.`+format+`"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	// The body is written after the handler returns: the export outlives the request's
	// context, within a bound of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 10*time.Minute)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() { cancel(); <-s.exports }()
		var write func(*insights.Item) error
		if format == "csv" {
			cw := csv.NewWriter(w)
			_ = cw.Write(exportColumns)
			write = func(it *insights.Item) error {
				// Words people chose are made inert for spreadsheets; numbers stay numbers
				// (a negative score starts with "-").
				err := cw.Write([]string{it.ID, it.Source, it.Kind, it.CreatedAt.Format(time.RFC3339), csvCell(it.Product), it.Lang, it.Sentiment,
					strconv.FormatFloat(it.Score, 'f', 3, 64), strings.Join(it.Themes, ";"), optionalInt(it.Rating), it.Survey,
					optionalAnswer(it), csvCell(it.Touchpoint), it.Stage, it.Band, csvCell(it.URL), csvCell(it.Text)})
				cw.Flush()
				return err
			}
		} else {
			enc := json.NewEncoder(w)
			write = func(it *insights.Item) error { return enc.Encode(it) }
		}
		err := s.deps.Insights.Export(ctx, f, func(page []*insights.Item) error {
			for _, it := range page {
				if err := write(it); err != nil {
					return err
				}
			}
			return w.Flush()
		})
		if err != nil {
			s.log.Warn("insights export stopped", "err", err)
		}
	})
	return nil
}

func optionalInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func optionalAnswer(it *insights.Item) string {
	if it.Survey == "" {
		return ""
	}
	return strconv.Itoa(it.Answer)
}
