package handlers

import (
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) kpiRoutes(app *fiber.App) {
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/staff/kpis", product, s.kpiPage)
}

type kpiData struct {
	K           *feedback.KPIs
	Reviews     insights.Mean      // the period's reviews and their average rating
	Products    []*reviews.Product // to choose from: the first 100 by name
	Days        string
	Touchpoint  string
	Product     string
	Touchpoints []string
	Stages      []customers.Stage
	Trends      []trendChart
	StageChart  []stageBar
}

// trendChart is one indicator month by month as an SVG line on a 300×120 box, from Low at
// the bottom to High at the top, with a line at Mid.
type trendChart struct {
	ID, TitleID    string
	Low, Mid, High string // the scale's labels
	MidY           float64
	Points         string
	Labels         []chartLabel
	Dots           []chartDot
}

type chartLabel struct {
	X    float64
	Text string
}

type chartDot struct {
	X, Y  float64
	Title string
}

type stageBar struct {
	Stage customers.Stage
	Count int
	Width float64 // of 100
}

// trend draws one indicator of the figures of each week or month: value gives a bucket's
// figure and how many answers it stands on (none: no dot); lo and hi bound the scale.
func trend(id, titleID string, points []feedback.Month, lang string, lo, hi float64, value func(feedback.Month) (float64, int)) trendChart {
	c := trendChart{ID: id, TitleID: titleID, Low: fmt.Sprint(lo), High: fmt.Sprint(hi), Mid: fmt.Sprint((lo + hi) / 2)}
	y := func(v float64) float64 { return 110 - (v-lo)*100/(hi-lo) } // 110 at lo, 10 at hi
	c.MidY = y((lo + hi) / 2)
	var pts []string
	n := len(points)
	every := max(1, (n+3)/4) // four labels or so
	byWeek := strings.HasSuffix(titleID, ".week")
	label := func(t time.Time) string {
		if byWeek {
			return shortDate(t, lang, "week")
		}
		return shortDate(t, lang, "month")
	}
	for i, m := range points {
		x := 30 + float64(i)*260/float64(max(n-1, 1))
		if i%every == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x, Text: label(m.Month)})
		}
		v, answers := value(m)
		if answers == 0 {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y(v)))
		c.Dots = append(c.Dots, chartDot{X: x, Y: y(v), Title: fmt.Sprintf("%s: %.1f (%d)", label(m.Month), v, answers)})
	}
	c.Points = strings.Join(pts, " ")
	return c
}

func buildCharts(k *feedback.KPIs, lang string) ([]trendChart, []stageBar) {
	trends := []trendChart{
		trend("nps-trend", "kpi.nps_trend."+k.TrendBy, k.Trend, lang, -100, 100, func(m feedback.Month) (float64, int) { return m.NPS, m.NPSAnswers }),
		trend("csat-trend", "kpi.csat_trend."+k.TrendBy, k.Trend, lang, 0, 100, func(m feedback.Month) (float64, int) { return m.CSATPercent, m.CSATAnswers }),
		trend("ces-trend", "kpi.ces_trend."+k.TrendBy, k.Trend, lang, 1, 7, func(m feedback.Month) (float64, int) { return m.CESAverage, m.CESAnswers }),
	}
	most := 1
	for _, v := range k.StageDistribution {
		most = max(most, v)
	}
	var bars []stageBar
	for _, st := range stages {
		bars = append(bars, stageBar{Stage: st, Count: k.StageDistribution[st], Width: 100 * float64(k.StageDistribution[st]) / float64(most)})
	}
	return trends, bars
}

func (s *Server) kpiPage(c *fiber.Ctx) error {
	q, err := web.KPIQuery(c)
	if err != nil {
		return err
	}
	k, err := s.deps.Feedback.KPIs(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := kpiData{K: k, Days: c.Query("days", "90"), Touchpoint: q.Touchpoint, Product: q.Product, Touchpoints: feedback.Touchpoints, Stages: stages}
	d.Trends, d.StageChart = buildCharts(k, s.language(c))
	if d.Products, _, err = s.deps.Reviews.Products(c.UserContext(), "", 100); err != nil {
		return err
	}
	if s.deps.Insights != nil {
		if d.Reviews, err = s.deps.Insights.Ratings(c.UserContext(), q.Product, q.From, q.To); err != nil {
			return err
		}
	}
	return s.render(c, fiber.StatusOK, "staff/kpis", "kpi.title", d)
}
