package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) kpiRoutes(app *fiber.App) {
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/staff/kpis", product, s.kpiPage)
	app.Get("/api/v1/insights/kpis", s.apiScopes, product, s.apiKPIs)
	staff := web.RequireRole(customers.RoleModerator, customers.RoleProduct)
	app.Get("/api/v1/customers", s.apiScopes, staff, s.apiCustomers)
	app.Get("/api/v1/customers/:id", s.apiScopes, staff, s.apiCustomer)
}

// kpiQuery reads ?days=30|90|365 or ?from=&to= (dates), and ?touchpoint=.
func kpiQuery(c *fiber.Ctx) (feedback.KPIQuery, error) {
	q := feedback.KPIQuery{Touchpoint: c.Query("touchpoint"), Product: c.Query("product")}
	if q.Touchpoint != "" && !slicesContains(feedback.Touchpoints, q.Touchpoint) {
		return q, errs.Field("touchpoint", "field.choose_one")
	}
	if from, to := c.Query("from"), c.Query("to"); from != "" || to != "" {
		f, err1 := time.Parse("2006-01-02", from)
		t, err2 := time.Parse("2006-01-02", to)
		if err1 != nil || err2 != nil || !t.After(f) || t.Sub(f) > 3*366*24*time.Hour {
			return q, errs.Field("from", "kpi.bad_period")
		}
		q.From, q.To = f, t.AddDate(0, 0, 1) // "to" includes its day
		return q, nil
	}
	days, _ := strconv.Atoi(c.Query("days", "90"))
	if days != 30 && days != 90 && days != 365 {
		days = 90
	}
	end := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	q.From, q.To = end.AddDate(0, 0, -days), end
	return q, nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
	q, err := kpiQuery(c)
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

func (s *Server) apiKPIs(c *fiber.Ctx) error {
	q, err := kpiQuery(c)
	if err != nil {
		return err
	}
	k, err := s.deps.Feedback.KPIs(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(k)
}

// customerJSON is the record as the API shows it; email and purchases only for product
// and admin.
type customerJSON struct {
	ID           string                  `json:"id"`
	DisplayName  string                  `json:"display_name"`
	Email        string                  `json:"email,omitempty"`
	Purchases    []customers.Purchase    `json:"purchases,omitempty"`
	Value        *customers.Value        `json:"value,omitempty"`
	Satisfaction customers.Satisfaction  `json:"satisfaction"`
	Risk         customers.Risk          `json:"risk"`
	FollowUps    customers.FollowUps     `json:"followups"`
	Stage        customers.Stage         `json:"stage"`
	StageHistory []customers.StageChange `json:"stage_history"`
	Counters     customers.Counters      `json:"counters"`
	CreatedAt    time.Time               `json:"created_at"`
	LastActiveAt time.Time               `json:"last_active_at"`
}

func recordJSON(m *customers.Customer, full bool) customerJSON {
	out := customerJSON{ID: m.ID.Hex(), DisplayName: m.DisplayName, Satisfaction: m.Satisfaction, Risk: m.Risk, FollowUps: m.FollowUps, Stage: m.Stage,
		StageHistory: m.StageHistory, Counters: m.Counters, CreatedAt: m.CreatedAt, LastActiveAt: m.LastActiveAt}
	if full {
		out.Email, out.Purchases, out.Value = m.Email, m.Purchases, &m.Value
	}
	return out
}

func (s *Server) apiCustomer(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return customers.ErrNotFound
	}
	m, err := s.deps.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(recordJSON(m, web.User(c).HasRole(customers.RoleProduct)))
}

func (s *Server) apiCustomers(c *fiber.Ctx) error {
	full := web.User(c).HasRole(customers.RoleProduct)
	// ?email= finds one customer by address (the shop's or CRM's key): for those who may see
	// addresses; a moderator's look-up would tell them who has an account.
	if email := c.Query("email"); email != "" {
		if !full {
			return errs.New(errs.ErrForbidden, "api.email_lookup")
		}
		m, err := s.deps.Customers.FindByEmail(c.UserContext(), email)
		if errors.Is(err, customers.ErrNotFound) {
			return c.JSON(fiber.Map{"customers": []customerJSON{}, "next_before": ""})
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"customers": []customerJSON{recordJSON(m, true)}, "next_before": ""})
	}
	q := customers.Query{Stage: customers.Stage(c.Query("stage")), Band: c.Query("band"), NPS: c.Query("nps"), Limit: 100}
	if id, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = id
	}
	list, err := s.deps.Customers.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := make([]customerJSON, len(list))
	for i, m := range list {
		out[i] = recordJSON(m, full)
	}
	next := ""
	if len(list) == q.Limit {
		next = list[len(list)-1].ID.Hex()
	}
	return c.JSON(fiber.Map{"customers": out, "next_before": next})
}
