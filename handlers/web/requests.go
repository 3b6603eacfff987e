package web

import (
	"context"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
)

// KPIQuery reads ?days=30|90|365 or ?from=&to= (dates), and ?touchpoint=.
func KPIQuery(c *fiber.Ctx) (feedback.KPIQuery, error) {
	q := feedback.KPIQuery{Touchpoint: c.Query("touchpoint"), Product: c.Query("product")}
	if q.Touchpoint != "" && !slices.Contains(feedback.Touchpoints, q.Touchpoint) {
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

// ThreadSort is a list order from the query string; anything else is the latest activity.
func ThreadSort(raw string) string {
	for _, s := range community.ThreadSorts {
		if raw == s {
			return s
		}
	}
	return community.SortLatest
}

// InsightsFilter reads the filter from the query: product (repeated), source, touchpoint,
// language (of the feedback: lang is the page's), stage, band, days. The service checks
// the rest; what only the web knows (a number, a touchpoint) is checked here.
func InsightsFilter(c *fiber.Ctx) (insights.Filter, error) {
	f := insights.Filter{Source: c.Query("source"), Touchpoint: c.Query("touchpoint"), Lang: c.Query("language"),
		Stage: c.Query("stage"), Band: c.Query("band")}
	var fe errs.Fields
	if days := c.Query("days"); days != "" {
		var err error
		if f.Days, err = strconv.Atoi(days); err != nil {
			fe.Add("days", "field.choose_one")
		}
	}
	if f.Touchpoint != "" && !slices.Contains(feedback.Touchpoints, f.Touchpoint) {
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

// SearchQuery reads a search from the query string. Only staff may look beyond published.
func SearchQuery(c *fiber.Ctx) search.Query {
	q := search.Query{Text: c.Query("q"), Kind: c.Query("kind"), Product: c.Query("product"), Category: c.Query("category"),
		Forum: c.Query("forum"), Lang: c.Query("lang_filter"), Sort: c.Query("sort")}
	q.Rating, _ = strconv.Atoi(c.Query("rating"))
	q.Page, _ = strconv.Atoi(c.Query("page"))
	if u := User(c); u != nil && u.HasAnyRole(customers.RoleModerator, customers.RoleProduct) {
		if st := c.Query("status"); st == "pending" || st == "published" {
			q.Statuses = []string{st}
		}
	}
	q.Normalize()
	return q
}

// SeesVoters says whether the viewer may see what an idea's voters are worth, how many are
// at risk and their stages: product staff (and admins), never customers or visitors.
func SeesVoters(u *customers.Customer) bool { return u != nil && u.HasRole(customers.RoleProduct) }

// IdeaQuery reads the list's filters: ?sort=&status=&product=&after=. The voters' value
// order is product staff's: anyone else gets the default order (even its ranking would tell
// what the voters are worth).
func IdeaQuery(c *fiber.Ctx, products *reviews.Service) (community.IdeaQuery, error) {
	q := community.IdeaQuery{Sort: c.Query("sort", community.IdeasTop), State: community.IdeaState(c.Query("status")), After: c.Query("after")}
	if q.Sort == community.IdeasVotersValue && !SeesVoters(User(c)) {
		q.Sort = community.IdeasTop
	}
	var err error
	if q.ProductID, err = productIDFromQuery(c, products); err != nil {
		return q, err
	}
	return q, nil
}

// Visible says whether someone may read content: everyone what is published; its author
// and moderators also what waits for a moderator or was hidden (with its status and the
// moderator's reason, never a dead end); deleted content only moderators.
func Visible(u *customers.Customer, st content.Status, author bson.ObjectID) bool {
	switch {
	case st == content.StatusPublished:
		return true
	case u == nil:
		return false
	case u.HasRole(customers.RoleModerator):
		return true
	}
	return (st == content.StatusPending || st == content.StatusHidden) && u.ID == author
}

// Unseen is the answer to a reader who may not see content: what moderators removed says
// so (410), what does not exist or is not public yet is not found.
func Unseen(st content.Status, notFound error) error {
	if st == content.StatusHidden {
		return errs.New(errs.ErrGone, "content.removed")
	}
	return notFound
}

// ThreadFromPath is the thread the path names, if the viewer may see it.
func ThreadFromPath(c *fiber.Ctx, com *community.Service, param string) (*community.Thread, error) {
	return visibleFromPath(c, param, com.Thread, func(t *community.Thread) (content.Status, bson.ObjectID) { return t.Status, t.AuthorID },
		community.ErrThreadNotFound)
}

// IdeaFromPath is the idea the path names, if the viewer may see it.
func IdeaFromPath(c *fiber.Ctx, com *community.Service, param string) (*community.Idea, error) {
	return visibleFromPath(c, param, com.Idea, func(i *community.Idea) (content.Status, bson.ObjectID) { return i.Status, i.AuthorID },
		community.ErrIdeaNotFound)
}

func visibleFromPath[T any](c *fiber.Ctx, param string, get func(context.Context, bson.ObjectID) (T, error),
	whose func(T) (content.Status, bson.ObjectID), notFound error) (T, error) {
	var none T
	id, ok := community.ParseSlugID(c.Params(param))
	if !ok {
		return none, notFound
	}
	v, err := get(c.UserContext(), id)
	if err != nil {
		return none, err
	}
	if status, author := whose(v); !Visible(User(c), status, author) {
		return none, Unseen(status, notFound)
	}
	return v, nil
}

// QueueQuery reads the moderation queue's filter: ?kind=&product=&category=&rule=&after=.
func QueueQuery(c *fiber.Ctx, products *reviews.Service) (moderation.QueueQuery, error) {
	q := moderation.QueueQuery{Kind: content.Kind(c.Query("kind")), Category: c.Query("category"), Rule: c.Query("rule"), After: c.Query("after")}
	var err error
	if q.ProductID, err = productIDFromQuery(c, products); err != nil {
		return q, err
	}
	return q, nil
}

// QueueNext is the query of the queue's page after the one that ended at after.
func QueueNext(c *fiber.Ctx, after string) url.Values {
	return url.Values{"kind": {c.Query("kind")}, "product": {c.Query("product")}, "category": {c.Query("category")}, "rule": {c.Query("rule")}, "after": {after}}
}

// Audit puts what staff did to content on the moderation audit log.
func Audit(c *fiber.Ctx, mod *moderation.Service, action moderation.Action, target content.Ref, author bson.ObjectID, reason string) error {
	return mod.Append(c.UserContext(), moderation.Entry{Actor: User(c).ID, Action: action,
		Target: &target, TargetAuthor: author, Reason: reason})
}

// SetIdeaState records product staff's decision on an idea, and logs it.
func SetIdeaState(c *fiber.Ctx, com *community.Service, mod *moderation.Service, i *community.Idea, in community.StatusInput) (*community.Idea, error) {
	out, err := com.SetState(c.UserContext(), User(c), i.ID, in)
	if err != nil {
		return nil, err
	}
	return out, Audit(c, mod, moderation.ActionIdeaStatus, content.Ref{Kind: content.KindIdea, ID: i.ID}, i.AuthorID, string(in.Status))
}

// MergeIdea merges a duplicate into target, and logs it.
func MergeIdea(c *fiber.Ctx, com *community.Service, mod *moderation.Service, dup *community.Idea, target bson.ObjectID) (*community.Idea, error) {
	out, err := com.Merge(c.UserContext(), User(c), dup.ID, target)
	if err != nil {
		return nil, err
	}
	return out, Audit(c, mod, moderation.ActionMerge, content.Ref{Kind: content.KindIdea, ID: dup.ID}, dup.AuthorID, out.Title)
}

// PurchaseInput is the purchase form and the CRM's API call.
type PurchaseInput struct {
	Product string `form:"product" json:"product"` // slug
	OrderID string `form:"order_id" json:"order_id"`
	Date    string `form:"date" json:"-"`
	At      string `form:"-" json:"at"` // RFC 3339
	// The form takes the amount in the currency's main unit ("12.50"); the API in minor
	// units (1250) with the currency, as payment APIs do.
	Amount      string `form:"amount" json:"-"`
	AmountMinor int64  `form:"-" json:"amount"`
	Currency    string `form:"-" json:"currency"`
}

// Purchase turns the input into a purchase of a known product.
func Purchase(c *fiber.Ctx, people *customers.Service, products *reviews.Service, in PurchaseInput) (customers.Purchase, error) {
	p := customers.Purchase{OrderID: in.OrderID, Amount: in.AmountMinor, Currency: in.Currency}
	var f errs.Fields
	if in.Amount != "" {
		major, err := strconv.ParseFloat(strings.TrimSpace(in.Amount), 64)
		if err != nil || math.IsNaN(major) || math.IsInf(major, 0) || major > 1e15 {
			f.Add("amount", "field.amount")
		}
		p.Amount = customers.Minor(major, people.Currency())
	}
	if product, err := products.Product(c.UserContext(), in.Product); err != nil {
		f.Add("product", "product.not_found")
	} else {
		p.ProductID = product.ID
	}
	switch {
	case in.Date != "":
		t, err := time.Parse("2006-01-02", in.Date)
		if err != nil {
			f.Add("date", "field.date")
		}
		p.At = t
	case in.At != "":
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			f.Add("at", "field.datetime")
		}
		p.At = t
	}
	return p, f.Err()
}

// TimelinePage is how many entries of a customer's timeline a page shows.
const TimelinePage = 30

// TimelineEntry is one thing a customer did, or that was decided about them, as the record
// page and the API show it.
type TimelineEntry struct {
	At      string
	Kind    string // message ID of what it was
	Text    string
	URL     string
	Status  string
	SortKey int64 // nanoseconds since 1970: the order, and the next page's key
}

// ReviewQuery reads a product's review list from the query: ?sort=&stars=&verified=1&photos=1&after=.
func ReviewQuery(c *fiber.Ctx, product bson.ObjectID) reviews.Query {
	q := reviews.Query{ProductID: product, Sort: c.Query("sort", reviews.SortHelpful), After: c.Query("after"),
		VerifiedOnly: c.Query("verified") == "1", WithPhotos: c.Query("photos") == "1"}
	q.Stars, _ = strconv.Atoi(c.Query("stars"))
	return q
}

// ReviewNextQuery is the query of the page after q's, which ended at after.
func ReviewNextQuery(q reviews.Query, after string) url.Values {
	next := url.Values{"sort": {q.Sort}, "after": {after}}
	if q.Stars > 0 {
		next.Set("stars", strconv.Itoa(q.Stars))
	}
	if q.VerifiedOnly {
		next.Set("verified", "1")
	}
	if q.WithPhotos {
		next.Set("photos", "1")
	}
	return next
}

// WallQuery reads the testimonial wall's filter: ?product=&after=.
func WallQuery(c *fiber.Ctx, products *reviews.Service, limit int) (reviews.WallQuery, error) {
	q := reviews.WallQuery{After: c.Query("after"), Limit: limit}
	var err error
	if q.ProductID, err = productIDFromQuery(c, products); err != nil {
		return q, err
	}
	return q, nil
}

// Leaderboard reads the leaderboard's choice: ?period=month|all and ?product=, giving the
// product too (nil for all).
func Leaderboard(c *fiber.Ctx, products *reviews.Service, now time.Time) (period, scope string, product *reviews.Product, err error) {
	period, scope = loyalty.MonthOf(now), loyalty.ScopeAll
	if c.Query("period") == "all" {
		period = loyalty.PeriodAll
	}
	if product, err = ProductFromQuery(c, products); err != nil {
		return "", "", nil, err
	}
	if product != nil {
		scope = product.ID.Hex()
	}
	return period, scope, product, nil
}

// productIDFromQuery is the ID of the product ?product= names, or zero when it names none.
func productIDFromQuery(c *fiber.Ctx, products *reviews.Service) (bson.ObjectID, error) {
	p, err := ProductFromQuery(c, products)
	if err != nil || p == nil {
		return bson.ObjectID{}, err
	}
	return p.ID, nil
}

// ProductFromQuery is the product ?product= names by its slug, or nil when it names none.
func ProductFromQuery(c *fiber.Ctx, products *reviews.Service) (*reviews.Product, error) {
	slug := c.Query("product")
	if slug == "" {
		return nil, nil
	}
	return products.Product(c.UserContext(), slug)
}

// PathID reads an ObjectID from the path's param; anything else is notFound.
func PathID(c *fiber.Ctx, param string, notFound error) (bson.ObjectID, error) {
	id, err := bson.ObjectIDFromHex(c.Params(param))
	if err != nil {
		return id, notFound
	}
	return id, nil
}
