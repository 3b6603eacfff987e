package handlers

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/search"
)

// Customer success: follow-up tasks, the at-risk list and the health score's settings.
func (s *Server) successRoutes(app *fiber.App) {
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/staff/at-risk", product, s.atRiskPage)
	app.Get("/staff/at-risk.csv", product, s.atRiskCSV)
	app.Get("/admin/score", web.RequireRole(customers.RoleAdmin), s.scorePage)
	app.Post("/admin/score", web.RequireRole(customers.RoleAdmin), s.scoreSave)
	if s.deps.FollowUps == nil {
		return
	}
	app.Get("/staff/followups", product, s.followupsPage)
	app.Get("/staff/followups/:id", product, s.followupPage)
	app.Post("/staff/followups/:id", product, s.followupChange)
	app.Post("/staff/followups/:id/vote", product, s.followupVote)
}

type atRiskData struct {
	Customers []*customers.Customer
	Next      string
}

// atRiskQuery is the at-risk list: customers (never staff) whose risk reaches AtRiskFrom,
// by risk weighed by value, a page at a time by key.
func atRiskQuery(c *fiber.Ctx, limit int) customers.Query {
	return customers.Query{AtRisk: true, ByRisk: true, NoStaff: true, After: c.Query("after"), Limit: limit}
}

func (s *Server) atRiskPage(c *fiber.Ctx) error {
	q := atRiskQuery(c, 26)
	list, err := s.deps.Customers.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := atRiskData{Customers: list}
	if len(list) == 26 {
		d.Customers = list[:25]
		q.Next(list[24])
		d.Next = "/staff/at-risk?" + url.Values{"after": {q.After}}.Encode()
	}
	return s.render(c, fiber.StatusOK, "staff/at_risk", "risk.title", d)
}

// atRiskCSV exports the whole at-risk list with the reasons in the reader's language.
func (s *Server) atRiskCSV(c *fiber.Ctx) error {
	lang := s.language(c)
	return s.sendCustomersCSV(c, atRiskQuery(c, 500), "at-risk.csv",
		[]string{"id", "name", "email", "risk", "reasons", "lifetime_value", "currency", "score", "trend_30d", "stage", "last_active"},
		func(m *customers.Customer) []string {
			return []string{m.ID.Hex(), m.DisplayName, m.Email, strconv.Itoa(m.Risk.Score), strings.Join(riskReasons(s.catalog, lang, m.Risk), "; "),
				strconv.FormatFloat(customers.Major(m.Value.CLTV, m.Value.Currency), 'f', -1, 64), m.Value.Currency,
				strconv.Itoa(m.Satisfaction.Score), strconv.Itoa(m.Risk.Trend), string(m.Stage), m.LastActiveAt.Format(time.RFC3339)}
		})
}

// riskReasons are a risk's reasons in words.
func riskReasons(catalog *frontend.Catalog, lang string, r customers.Risk) []string {
	words := make([]string, len(r.Reasons))
	for i, why := range r.Reasons {
		words[i] = catalog.T(lang, "risk.reason."+why.Key, "N", why.N)
	}
	return words
}

// RiskReasons writes a risk's reasons in the reader's language.
func (p *Page) RiskReasons(r customers.Risk) []string { return riskReasons(p.catalog, p.Lang, r) }

type followupsData struct {
	View   string
	Views  []string
	Counts followups.Counts
	Tasks  []taskRow
	Next   string
}

// taskRow is a task with the names a list shows.
type taskRow struct {
	*followups.Task
	Customer *customers.Customer
	Owner    *customers.Customer
	Overdue  bool
}

func (s *Server) followupsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := web.User(c)
	view := c.Query("view", followups.ViewMine)
	views := []string{followups.ViewMine, followups.ViewTeam, followups.ViewOverdue, followups.ViewDone}
	if !slices.Contains(views, view) {
		view = followups.ViewMine
	}
	list, err := s.deps.FollowUps.List(ctx, followups.Query{View: view, Staff: u.ID, After: c.Query("after"), Limit: 26})
	if err != nil {
		return err
	}
	d := followupsData{View: view, Views: views}
	if len(list) == 26 {
		list = list[:25]
		d.Next = "/staff/followups?" + url.Values{"view": {view}, "after": {followups.Cursor(view, list[24])}}.Encode()
	}
	if d.Counts, err = s.deps.FollowUps.Count(ctx, u.ID); err != nil {
		return err
	}
	if d.Tasks, err = s.taskRows(c, list); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "staff/followups", "followup.title", d)
}

// taskRows names the customers and owners of a page of tasks: one query for all of them.
func (s *Server) taskRows(c *fiber.Ctx, list []*followups.Task) ([]taskRow, error) {
	var ids []bson.ObjectID
	for _, t := range list {
		ids = append(ids, t.CustomerID)
		if !t.Owner.IsZero() {
			ids = append(ids, t.Owner)
		}
	}
	people, err := s.deps.Customers.GetMany(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rows := make([]taskRow, len(list))
	for i, t := range list {
		rows[i] = taskRow{Task: t, Customer: people[t.CustomerID], Owner: people[t.Owner], Overdue: t.Overdue(now)}
	}
	return rows, nil
}

type followupData struct {
	Task     taskRow
	Source   *taskSource
	Staff    []*customers.Customer // who a task may be given to
	Ideas    []search.Hit          // ideas the feedback reads like
	Outcomes []string
	Form     *form
}

// taskSource is the feedback a task is about, as staff read it.
type taskSource struct {
	Kind string // message ID
	Text string
	URL  string
}

func (s *Server) followupPage(c *fiber.Ctx) error {
	return s.renderFollowup(c, fiber.StatusOK, nil)
}

func (s *Server) renderFollowup(c *fiber.Ctx, status int, f *form) error {
	ctx := c.UserContext()
	t, err := s.deps.FollowUps.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	rows, err := s.taskRows(c, []*followups.Task{t})
	if err != nil {
		return err
	}
	d := followupData{Task: rows[0], Outcomes: followups.Outcomes, Form: f}
	if d.Task.Customer == nil {
		return customers.ErrNotFound
	}
	if d.Source, err = s.taskSource(c, t); err != nil {
		return err
	}
	for _, role := range []customers.Role{customers.RoleProduct, customers.RoleAdmin} {
		list, err := s.deps.Customers.Search(ctx, customers.Query{Role: role, Status: customers.StatusActive, Limit: 50})
		if err != nil {
			return err
		}
		for _, m := range list {
			if !slices.ContainsFunc(d.Staff, func(x *customers.Customer) bool { return x.ID == m.ID }) {
				d.Staff = append(d.Staff, m)
			}
		}
	}
	// The ideas this feedback reads like: the customer may be counted as one who wants it.
	if d.Source != nil && d.Source.Text != "" && s.deps.Search != nil {
		res, err := s.deps.Search.Search(ctx, search.Query{Text: d.Source.Text, Kind: "idea", AnyWord: true, NoFacets: true, PerPage: 3})
		if err == nil {
			d.Ideas = res.Hits
		}
	}
	c.Locals(noCacheLocal, true)
	return s.render(c, status, "staff/followup", "followup.task_title", d)
}

// taskSource finds what a task's signal came from: a review, or a survey answer.
func (s *Server) taskSource(c *fiber.Ctx, t *followups.Task) (*taskSource, error) {
	ctx := c.UserContext()
	kind, ref, _ := strings.Cut(t.Source, ":")
	ref = strings.TrimPrefix(ref, "feedback-")
	id, err := bson.ObjectIDFromHex(ref)
	if err != nil {
		return nil, nil // a stage change: the record tells the story
	}
	if kind == string(customers.SignalReview) {
		r, err := s.deps.Reviews.Review(ctx, id)
		if err != nil {
			return nil, nil // since deleted
		}
		src := &taskSource{Kind: "kind.review", Text: strings.TrimSpace(strings.Join([]string{r.Title, r.BodyMD, r.Cons}, "\n"))}
		if products, err := s.deps.Reviews.ProductsByID(ctx, []bson.ObjectID{r.ProductID}); err == nil && products[r.ProductID] != nil {
			src.URL = "/products/" + products[r.ProductID].Slug + "#review-" + r.ID.Hex()
		}
		return src, nil
	}
	r, err := s.deps.Feedback.Response(ctx, id)
	if err != nil {
		return nil, nil
	}
	return &taskSource{Kind: "record.answer", Text: r.Comment}, nil
}

// followupInput is the task page's form.
type followupInput struct {
	Owner   string `form:"owner"` // an ID, "me", or "team"
	Due     string `form:"due"`
	Note    string `form:"note"`
	Reply   string `form:"reply"`
	Outcome string `form:"outcome"`
	Reopen  bool   `form:"reopen"`
}

func (s *Server) followupChange(c *fiber.Ctx) error {
	var in followupInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	u := web.User(c)
	ch := followups.Change{Due: in.Due, Note: in.Note, Reply: in.Reply, Outcome: in.Outcome, Reopen: in.Reopen}
	switch in.Owner {
	case "":
	case "me":
		ch.Owner = &u.ID
	case "team":
		ch.Owner = &bson.ObjectID{}
	default:
		id, err := bson.ObjectIDFromHex(in.Owner)
		if err != nil {
			return s.renderFollowup(c, fiber.StatusUnprocessableEntity, &form{Errors: map[string]string{"owner": s.catalog.T(s.language(c), "followup.owner_unknown")}})
		}
		owner, err := s.deps.Customers.Get(c.UserContext(), id)
		if err != nil || !owner.HasRole(customers.RoleProduct) {
			return s.renderFollowup(c, fiber.StatusUnprocessableEntity, &form{Errors: map[string]string{"owner": s.catalog.T(s.language(c), "followup.owner_unknown")}})
		}
		ch.Owner = &id
	}
	if _, err := s.deps.FollowUps.Apply(c.UserContext(), c.Params("id"), u.ID, ch); err != nil {
		f, err := s.formFailed(c, err, map[string]string{"due": in.Due, "note": in.Note, "reply": in.Reply, "outcome": in.Outcome})
		if err != nil {
			return err
		}
		return s.renderFollowup(c, fiber.StatusUnprocessableEntity, f)
	}
	msg := "flash.followup_saved"
	if in.Outcome != "" {
		msg = "flash.followup_resolved"
	}
	s.flash(c, msg)
	return c.Redirect("/staff/followups/"+url.PathEscape(c.Params("id")), fiber.StatusSeeOther)
}

// followupVote counts the task's customer as a voter for an idea their feedback is about,
// and notes it on the task.
func (s *Server) followupVote(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := s.deps.FollowUps.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var in struct {
		Idea string `form:"idea"`
	}
	if err := parseForm(c, &in); err != nil {
		return err
	}
	id, err := bson.ObjectIDFromHex(in.Idea)
	if err != nil {
		return errs.Field("idea", "idea.not_found")
	}
	idea, err := s.deps.Community.CountAsVoter(ctx, t.CustomerID, id, web.User(c).ID)
	if err != nil {
		return err
	}
	note := s.catalog.T(s.language(c), "followup.counted_voter", "Title", idea.Title)
	if _, err := s.deps.FollowUps.Apply(ctx, t.ID, web.User(c).ID, followups.Change{Note: note}); err != nil {
		return err
	}
	s.flash(c, "flash.followup_voted")
	return c.Redirect("/staff/followups/"+url.PathEscape(t.ID), fiber.StatusSeeOther)
}

type scoreData struct {
	Settings customers.ScoreSettings
	Kinds    []customers.SignalKind
	Progress customers.RecomputeProgress
	Preview  *customers.Preview
	Bands    []string
	Form     *form
}

func (s *Server) scorePage(c *fiber.Ctx) error {
	st, err := s.deps.Customers.ScoreSettings(c.UserContext())
	if err != nil {
		return err
	}
	return s.renderScore(c, fiber.StatusOK, st, nil, nil)
}

func (s *Server) renderScore(c *fiber.Ctx, status int, st customers.ScoreSettings, pv *customers.Preview, f *form) error {
	p, err := s.deps.Customers.Progress(c.UserContext())
	if err != nil {
		return err
	}
	c.Locals(noCacheLocal, true)
	return s.render(c, status, "admin/score", "score.title", scoreData{Settings: st, Kinds: customers.SignalKinds, Progress: p,
		Preview: pv, Bands: customers.Bands, Form: f})
}

// scoreSave previews new settings (action=preview) or saves them, which recomputes every
// record in the background.
func (s *Server) scoreSave(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st := customers.ScoreSettings{Weights: map[customers.SignalKind]float64{}}
	var f errs.Fields
	values := map[string]string{}
	for _, k := range customers.SignalKinds {
		field := "weight_" + string(k)
		raw := strings.TrimSpace(c.FormValue(field))
		values[field] = raw
		w, err := strconv.ParseFloat(strings.Replace(raw, ",", ".", 1), 64)
		if err != nil {
			f.Add(field, "score.weight_range")
		}
		st.Weights[k] = w
	}
	for field, dst := range map[string]*int{"half_life_days": &st.HalfLifeDays, "risk_drop": &st.RiskDrop} {
		raw := strings.TrimSpace(c.FormValue(field))
		values[field] = raw
		n, err := strconv.Atoi(raw)
		if err != nil {
			f.Add(field, "field.number")
		}
		*dst = n
	}
	// Every field's problem at once: what did not parse, then what is out of range.
	var invalid *errs.Fields
	if errors.As(st.Validate(), &invalid) {
		for _, field := range invalid.Order {
			m := invalid.ByName[field]
			f.Add(field, m.ID, m.Args...)
		}
	}
	err := f.Err()
	if err == nil && c.FormValue("action") == "preview" {
		pv, err := s.deps.Customers.PreviewScoreSettings(ctx, st)
		if err != nil {
			return err
		}
		return s.renderScore(c, fiber.StatusOK, st, &pv, &form{Values: values})
	}
	if err == nil {
		err = s.deps.Customers.SaveScoreSettings(ctx, st, web.User(c).ID)
	}
	if err != nil {
		fm, err := s.formFailed(c, err, values)
		if err != nil {
			return err
		}
		return s.renderScore(c, fiber.StatusUnprocessableEntity, st, nil, fm)
	}
	s.flash(c, "flash.score_saved")
	return c.Redirect("/admin/score", fiber.StatusSeeOther)
}
