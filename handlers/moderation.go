package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) moderationRoutes(app *fiber.App) {
	app.Post("/flags", web.RequireActive, s.flagSubmit)
	mod := app.Group("/moderation", web.RequireRole(customers.RoleModerator))
	mod.Get("/", s.queuePage)
	mod.Get("/open/:ref", s.openInContext)
	mod.Post("/decisions", s.decisionSubmit)
	mod.Post("/suspend/:id", s.queueSuspend)
	mod.Get("/log", s.logPage)
	admin := web.RequireRole(customers.RoleAdmin)
	app.Get("/admin/rules", admin, s.rulesPage)
	app.Post("/admin/rules", admin, s.rulesSubmit)
}

// flagSubmit records a report and returns to the page it came from.
func (s *Server) flagSubmit(c *fiber.Ctx) error {
	var in moderation.FlagInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	if _, err := s.deps.Moderation.Flag(c.UserContext(), web.User(c), in); err != nil {
		return err
	}
	s.flash(c, "flash.flagged")
	return c.Redirect(localPath(c.FormValue("back")), fiber.StatusSeeOther)
}

// queueItem is a queue entry with its author, their history and the open flags.
type queueItem struct {
	*moderation.Item
	Author  *customers.Customer
	History moderation.History
	Flags   []flagView
	Product *reviews.Product
}

// flagView is an open flag and who raised it.
type flagView struct {
	moderation.FlagRecord
	By *customers.Customer
}

type queueData struct {
	Items      []queueItem
	Next       string
	Kind       string
	Product    string
	Category   string
	Rule       string
	Kinds      []content.Kind
	Rules      []string
	Products   []*reviews.Product    // to choose from: the first 100 by name
	Categories []*community.Category // the forums'
	Form       *form
}

func (s *Server) queueData(c *fiber.Ctx) (*queueData, error) {
	ctx := c.UserContext()
	q, err := web.QueueQuery(c, s.deps.Reviews)
	if err != nil {
		return nil, err
	}
	d := &queueData{Kind: c.Query("kind"), Product: c.Query("product"), Category: q.Category, Rule: q.Rule,
		Kinds: []content.Kind{content.KindReview, content.KindThread, content.KindPost, content.KindIdea}, Rules: []string{"watched_word", "too_many_links", "duplicate", "new_account", "flagged"}}
	if d.Products, _, err = s.deps.Reviews.Products(ctx, "", 100); err != nil {
		return nil, err
	}
	if d.Categories, err = s.deps.Community.Categories(ctx); err != nil {
		return nil, err
	}
	items, next, err := s.deps.Moderation.Queue(ctx, q)
	if err != nil {
		return nil, err
	}
	if next != "" {
		d.Next = "/moderation?" + web.QueueNext(c, next).Encode()
	}
	// Authors, histories, flags and products for the whole page: four queries.
	authorIDs := make([]bson.ObjectID, len(items))
	var productIDs []bson.ObjectID
	for i, it := range items {
		authorIDs[i] = it.Author
		if !it.ProductID.IsZero() {
			productIDs = append(productIDs, it.ProductID)
		}
	}
	histories, err := s.deps.Moderation.Histories(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	flags, err := s.deps.Moderation.FlagsOn(ctx, items)
	if err != nil {
		return nil, err
	}
	people := authorIDs // the authors and who flagged them, in one query
	for _, list := range flags {
		for _, f := range list {
			people = append(people, f.Flagger)
		}
	}
	authors, err := s.deps.Customers.GetMany(ctx, people)
	if err != nil {
		return nil, err
	}
	products, err := s.deps.Reviews.ProductsByID(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		v := queueItem{Item: it, Author: authors[it.Author], History: histories[it.Author], Product: products[it.ProductID]}
		for _, f := range flags[it.ID] {
			v.Flags = append(v.Flags, flagView{FlagRecord: f, By: authors[f.Flagger]})
		}
		if v.Author == nil {
			v.Author = &customers.Customer{DisplayName: "—"}
		}
		d.Items = append(d.Items, v)
	}
	return d, nil
}

// openInContext takes a moderator from a queue item to where it is read: a review on its
// product's page, a reply at its place in its thread. Looked up when followed, so the
// queue page needs no query per item.
func (s *Server) openInContext(c *fiber.Ctx) error {
	ref, ok := content.ParseRef(c.Params("ref"))
	if !ok {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	var target string
	switch ref.Kind {
	case content.KindReview:
		r, err := s.deps.Reviews.Review(ctx, ref.ID)
		if err != nil {
			return err
		}
		p, err := s.deps.Reviews.ProductByID(ctx, r.ProductID)
		if err != nil {
			return err
		}
		target = "/products/" + p.Slug + "#review-" + r.ID.Hex()
	case content.KindPost:
		where, err := s.deps.Community.PostURL(ctx, ref.ID)
		if err != nil {
			return err
		}
		target = where
	case content.KindThread:
		target = "/threads/" + ref.ID.Hex()
	case content.KindIdea:
		target = "/ideas/" + ref.ID.Hex()
	default:
		return fiber.ErrNotFound
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

func (s *Server) queuePage(c *fiber.Ctx) error {
	d, err := s.queueData(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "moderation/queue", "moderation.title", d)
}

// decisionSubmit takes one item's button ("approve review:…") or a bulk action on the
// ticked items.
func (s *Server) decisionSubmit(c *fiber.Ctx) error {
	in := moderation.DecisionInput{Reason: c.FormValue("reason")}
	if one := c.FormValue("single"); one != "" {
		action, ref, _ := strings.Cut(one, " ")
		in.Action, in.Refs = moderation.Action(action), []string{ref}
		in.Reason = c.FormValue("reason-" + ref)
	} else {
		in.Action = moderation.Action(c.FormValue("action"))
		field := "refs"
		if c.FormValue("scope") == "page" { // everything the moderator saw on the page
			field = "page_refs"
		}
		for _, raw := range c.Context().PostArgs().PeekMulti(field) {
			in.Refs = append(in.Refs, string(raw))
		}
	}
	if _, err := s.deps.Moderation.Decide(c.UserContext(), web.User(c), in); err != nil {
		return s.queueFailed(c, err)
	}
	s.flash(c, "flash.decision_saved")
	return c.Redirect("/moderation", fiber.StatusSeeOther)
}

func (s *Server) queueSuspend(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return customers.ErrNotFound
	}
	until, err := untilDay(c.FormValue("until"))
	if err == nil {
		err = s.deps.Moderation.Suspend(c.UserContext(), web.User(c), id, c.FormValue("reason"), until)
	}
	if err != nil {
		return s.queueFailed(c, err)
	}
	s.flash(c, "flash.suspended")
	return c.Redirect("/moderation", fiber.StatusSeeOther)
}

// queueFailed shows the queue again with what was wrong with the decision or suspension.
func (s *Server) queueFailed(c *fiber.Ctx, failure error) error {
	f, err := s.formFailed(c, failure, nil)
	if err != nil {
		return err
	}
	d, err := s.queueData(c)
	if err != nil {
		return err
	}
	d.Form = f
	return s.render(c, web.Status(failure), "moderation/queue", "moderation.title", d)
}

// untilDay reads an optional last day of a suspension; it ends at the following midnight.
func untilDay(raw string) (*time.Time, error) {
	if raw == "" {
		return nil, nil
	}
	day, err := time.Parse("2006-01-02", raw)
	if err != nil {
		return nil, errs.Field("until", "field.date")
	}
	end := day.AddDate(0, 0, 1)
	return &end, nil
}

type logData struct {
	Entries []logEntry
	Action  string
	Actions []moderation.Action
	Next    string
}

type logEntry struct {
	*moderation.Entry
	Actor  *customers.Customer
	Author *customers.Customer
}

func (s *Server) logPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := moderation.LogQuery{Action: moderation.Action(c.Query("action")), Limit: 50}
	if id, err := bson.ObjectIDFromHex(c.Query("author")); err == nil {
		q.Author = id
	}
	if id, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = id
	}
	entries, err := s.deps.Moderation.Log(ctx, q)
	if err != nil {
		return err
	}
	var ids []bson.ObjectID
	for _, e := range entries {
		ids = append(ids, e.Actor, e.TargetAuthor)
	}
	people, err := s.deps.Customers.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	d := logData{Action: string(q.Action), Actions: moderation.Actions}
	for _, e := range entries {
		d.Entries = append(d.Entries, logEntry{Entry: e, Actor: people[e.Actor], Author: people[e.TargetAuthor]})
	}
	if len(entries) == q.Limit {
		next := url.Values{"action": {d.Action}, "before": {entries[len(entries)-1].ID.Hex()}}
		if !q.Author.IsZero() {
			next.Set("author", q.Author.Hex())
		}
		d.Next = "/moderation/log?" + next.Encode()
	}
	return s.render(c, fiber.StatusOK, "moderation/log", "moderation.log_title", d)
}

type rulesData struct {
	Rules moderation.Rules
	Form  *form
}

func (s *Server) rulesPage(c *fiber.Ctx) error {
	r, err := s.deps.Moderation.Rules(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin/rules", "rules.title", rulesData{Rules: r})
}

func (s *Server) rulesSubmit(c *fiber.Ctx) error {
	lines := func(name string) []string {
		return strings.Split(strings.ReplaceAll(c.FormValue(name), "\r", ""), "\n")
	}
	number := func(name string) int { n, _ := strconv.Atoi(strings.TrimSpace(c.FormValue(name))); return n }
	r := moderation.Rules{
		Blocked:        map[string][]string{"en": lines("blocked_en"), "id": lines("blocked_id")},
		Watched:        map[string][]string{"en": lines("watched_en"), "id": lines("watched_id")},
		MaxLinks:       number("max_links"),
		NewAccountHold: number("new_account_hold"),
		FlagThreshold:  number("flag_threshold"),
	}
	if err := s.deps.Moderation.SaveRules(c.UserContext(), web.User(c).ID, r); err != nil {
		f, err := s.formFailed(c, err, nil)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusUnprocessableEntity, "admin/rules", "rules.title", rulesData{Rules: r, Form: f})
	}
	s.flash(c, "flash.rules_saved")
	return c.Redirect("/admin/rules", fiber.StatusSeeOther)
}
