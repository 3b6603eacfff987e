// Package followups closes the loop with unhappy customers: rules open a task for staff when
// feedback calls for it (a detractor's answer, a 1–2★ review, a negative survey comment, a
// move to dissolution), and staff own it, note it, answer the customer and resolve it with an
// outcome. A task resolved well is itself a signal on the customer's record. Nothing outside
// this package touches the followups collection.
package followups

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Rules: what opens a task, and how long staff have to act on it.
const (
	RuleDetractor       = "detractor"        // an NPS answer of 0–6
	RuleLowReview       = "low_review"       // a review of 1 or 2 stars
	RuleNegativeComment = "negative_comment" // a survey comment whose sentiment is clearly negative
	RuleDissolution     = "dissolution"      // the customer moved to dissolution
)

// Rules lists the rules with the days a task of theirs is due in.
var Rules = []struct {
	Key     string
	DueDays int
}{{RuleDetractor, 2}, {RuleLowReview, 2}, {RuleNegativeComment, 3}, {RuleDissolution, 7}}

func dueDays(rule string) int {
	for _, r := range Rules {
		if r.Key == rule {
			return r.DueDays
		}
	}
	return 7
}

// recent is how old feedback may be when it arrives and still open a task.
const recent = 14 * 24 * time.Hour

// negativeComment is the sentiment (−1…1) at or below which a survey comment opens a task.
const negativeComment = -0.3

// Status of a task.
type Status string

const (
	StatusOpen Status = "open"
	StatusDone Status = "done"
)

// Outcomes of a resolved task.
var Outcomes = []string{"good", "neutral", "bad"}

// Note is a line staff wrote on a task.
type Note struct {
	By   bson.ObjectID `bson:"by" json:"by"`
	Text string        `bson:"text" json:"text"`
	At   time.Time     `bson:"at" json:"at"`
}

// Task is one piece of feedback a person in the company follows up.
type Task struct {
	// ID is the rule and its cause (the signal, or the stage change): a cause told twice
	// opens one task.
	ID         string        `bson:"_id" json:"id"`
	CustomerID bson.ObjectID `bson:"customer_id" json:"customer_id"`
	Rule       string        `bson:"rule" json:"rule"`
	// Source is the signal's source ("review:…", "nps:…") or empty for a stage change; Score is
	// the answer or rating given.
	Source    string        `bson:"source,omitempty" json:"source,omitempty"`
	Score     float64       `bson:"score" json:"score"`
	Owner     bson.ObjectID `bson:"owner,omitempty" json:"owner,omitzero"`
	Due       time.Time     `bson:"due" json:"due"`
	Status    Status        `bson:"status" json:"status"`
	Notes     []Note        `bson:"notes,omitempty" json:"notes,omitempty"`
	Reply     *Note         `bson:"reply,omitempty" json:"reply,omitempty"` // told to the customer
	Outcome   string        `bson:"outcome,omitempty" json:"outcome,omitempty"`
	CreatedAt time.Time     `bson:"created_at" json:"created_at"`
	DoneAt    *time.Time    `bson:"done_at,omitempty" json:"done_at,omitempty"`
	DoneBy    bson.ObjectID `bson:"done_by,omitempty" json:"-"`
}

// Overdue reports whether an open task is past its due date at now.
func (t *Task) Overdue(now time.Time) bool { return t.Status == StatusOpen && t.Due.Before(now) }

// Indexes of the followups collection.
var Indexes = []store.Indexes{{Collection: "followups", Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "due", Value: 1}, {Key: "_id", Value: 1}}},                           // team, overdue
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "owner", Value: 1}, {Key: "due", Value: 1}, {Key: "_id", Value: 1}}}, // mine
	{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due", Value: 1}}},                   // a record's open ones
	{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "created_at", Value: -1}}},                                      // the record's timeline
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "done_at", Value: -1}, {Key: "_id", Value: -1}}},                     // resolved, newest first
}}}

// MemberData is where this package keeps data about a member (for their download).
var MemberData = []store.MemberData{{Collection: "followups", Field: "customer_id"}}

// Customers is what the rules need of the customer records.
type Customers interface {
	Get(ctx context.Context, id bson.ObjectID) (*customers.Customer, error)
	SetFollowUps(ctx context.Context, id bson.ObjectID, f customers.FollowUps) error
	RecordSignal(ctx context.Context, sig customers.Signal) error
	WithdrawSignal(ctx context.Context, id string) error
}

// Teller tells a customer, in the portal, what staff answered to their feedback.
type Teller func(ctx context.Context, customer, staff bson.ObjectID, key, about, message string) error

// Service keeps the tasks.
type Service struct {
	tasks     *mongo.Collection
	customers Customers
	tell      Teller
	now       func() time.Time
}

// New returns the service on db.
func New(db *mongo.Database, c Customers, tell Teller) *Service {
	return &Service{tasks: db.Collection("followups"), customers: c, tell: tell, now: func() time.Time { return time.Now().UTC() }}
}

// ErrNotFound: no such task.
var ErrNotFound = errs.New(errs.ErrNotFound, "followup.not_found")

// Watch is the rules, as a watcher of customer records: it opens the task an event calls
// for, once per cause however often the event is told.
func (s *Service) Watch(ctx context.Context, e customers.Event) error {
	c := e.Customer
	if c.Staff {
		return nil
	}
	if ch := e.StageChange; ch != nil && ch.To == customers.StageDissolution {
		// One task per customer for this until it is resolved: coming back and leaving again
		// adds no second. Its key names the customer and how many were resolved before it.
		done, err := s.tasks.CountDocuments(ctx, bson.M{"customer_id": c.ID, "status": StatusDone, "rule": RuleDissolution})
		if err != nil {
			return err
		}
		return s.open(ctx, Task{ID: fmt.Sprintf("%s:%s:%d", RuleDissolution, c.ID.Hex(), done), CustomerID: c.ID,
			Rule: RuleDissolution, Score: float64(c.Satisfaction.Score)})
	}
	sig := e.Signal
	if sig == nil || sig.At.Before(s.now().Add(-recent)) {
		return nil // history (imported, or backdated by a shop's API): nothing to act on now
	}
	rule := ""
	switch {
	case sig.Kind == customers.SignalNPS && sig.Raw <= 6:
		rule = RuleDetractor
	case sig.Kind == customers.SignalReview && sig.Raw <= 2:
		rule = RuleLowReview
	case sig.Kind == customers.SignalSentiment && sig.Raw <= negativeComment && strings.HasPrefix(sig.ID, string(customers.SignalSentiment)+":feedback-"):
		rule = RuleNegativeComment
	}
	if rule == "" {
		return nil
	}
	return s.open(ctx, Task{ID: rule + ":" + sig.ID, CustomerID: c.ID, Rule: rule, Source: sig.ID, Score: sig.Raw})
}

// open stores a task unless its cause already has one, and updates the record's count.
func (s *Service) open(ctx context.Context, t Task) error {
	now := s.now()
	t.Status, t.CreatedAt, t.Due = StatusOpen, now, now.AddDate(0, 0, dueDays(t.Rule))
	n, err := store.InsertNew(ctx, s.tasks, []any{t})
	if err != nil {
		return fmt.Errorf("open follow-up: %w", err)
	}
	if n == 0 {
		return nil
	}
	return s.recount(ctx, t.CustomerID)
}

// recount puts the record's open tasks and earliest due date right: the churn risk reads them.
func (s *Service) recount(ctx context.Context, customer bson.ObjectID) error {
	open, err := store.FindAll[Task](ctx, s.tasks, bson.M{"customer_id": customer, "status": StatusOpen},
		options.Find().SetSort(bson.D{{Key: "customer_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due", Value: 1}}).
			SetProjection(bson.M{"due": 1}))
	if err != nil {
		return fmt.Errorf("follow-ups: %w", err)
	}
	f := customers.FollowUps{Open: len(open)}
	if len(open) > 0 {
		f.Due = &open[0].Due
	}
	return s.customers.SetFollowUps(ctx, customer, f)
}

// Get reads a task.
func (s *Service) Get(ctx context.Context, id string) (*Task, error) {
	return store.FindOne[Task](ctx, s.tasks, bson.M{"_id": id}, ErrNotFound)
}

// Views of the task list.
const (
	ViewMine    = "mine"
	ViewTeam    = "team"
	ViewOverdue = "overdue"
	ViewDone    = "done"
)

// Query selects a page of tasks.
type Query struct {
	View  string
	Staff bson.ObjectID // who "mine" is
	After string        // the previous page's last key
	Limit int
}

// List returns a page of tasks: open ones by due date (soonest first), resolved ones newest
// first. Each view is one indexed query.
func (s *Service) List(ctx context.Context, q Query) ([]*Task, error) {
	filter := bson.M{"status": StatusOpen}
	sort := bson.D{{Key: "status", Value: 1}, {Key: "due", Value: 1}, {Key: "_id", Value: 1}}
	field, op := "due", "$gt"
	switch q.View {
	case ViewMine:
		filter["owner"] = q.Staff
		sort = bson.D{{Key: "status", Value: 1}, {Key: "owner", Value: 1}, {Key: "due", Value: 1}, {Key: "_id", Value: 1}}
	case ViewOverdue:
		filter["due"] = bson.M{"$lt": s.now()}
	case ViewDone:
		filter["status"] = StatusDone
		sort = bson.D{{Key: "status", Value: 1}, {Key: "done_at", Value: -1}, {Key: "_id", Value: -1}}
		field, op = "done_at", "$lt"
	}
	if at, id, ok := parseCursor(q.After); ok {
		cond := bson.A{bson.M{field: bson.M{op: at}}, bson.M{field: at, "_id": bson.M{op: id}}}
		if due, has := filter["due"]; has {
			filter["$and"] = bson.A{bson.M{"due": due}, bson.M{"$or": cond}}
			delete(filter, "due")
		} else {
			filter["$or"] = cond
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > 200 {
		limit = 25
	}
	return store.FindAll[Task](ctx, s.tasks, filter, options.Find().SetSort(sort).SetLimit(int64(limit)))
}

// Cursor is the key of a task in its list, for the next page.
func Cursor(view string, t *Task) string {
	at := t.Due
	if view == ViewDone && t.DoneAt != nil {
		at = *t.DoneAt
	}
	return fmt.Sprintf("%d~%s", at.UnixNano(), t.ID)
}

func parseCursor(s string) (time.Time, string, bool) {
	nanos, id, ok := strings.Cut(s, "~")
	var n int64
	if _, err := fmt.Sscan(nanos, &n); err != nil || !ok || id == "" {
		return time.Time{}, "", false
	}
	return time.Unix(0, n).UTC(), id, true
}

// OpenCount counts the open tasks (the staff header), up to HeaderMax: one indexed count
// that stops there, as the header says "99+" past it.
func (s *Service) OpenCount(ctx context.Context) (int, error) {
	n, err := s.tasks.CountDocuments(ctx, bson.M{"status": StatusOpen}, options.Count().SetLimit(HeaderMax))
	if err != nil {
		return 0, fmt.Errorf("count follow-ups: %w", err)
	}
	return int(n), nil
}

// HeaderMax is where the header stops counting, CountMax the staff home and the list: a
// count reads what it counts, and past these "many" says enough.
const (
	HeaderMax = 100
	CountMax  = 1000
)

// Counts are the open tasks, those overdue and those of one person, for the staff home.
type Counts struct{ Open, Overdue, Mine int }

// Count counts the open tasks, up to CountMax each: three indexed counts.
func (s *Service) Count(ctx context.Context, staff bson.ObjectID) (Counts, error) {
	var c Counts
	for _, q := range []struct {
		n      *int
		filter bson.M
	}{
		{&c.Open, bson.M{"status": StatusOpen}},
		{&c.Overdue, bson.M{"status": StatusOpen, "due": bson.M{"$lt": s.now()}}},
		{&c.Mine, bson.M{"status": StatusOpen, "owner": staff}},
	} {
		n, err := s.tasks.CountDocuments(ctx, q.filter, options.Count().SetLimit(CountMax))
		if err != nil {
			return c, fmt.Errorf("count follow-ups: %w", err)
		}
		*q.n = int(n)
	}
	return c, nil
}

// Of lists a customer's tasks, newest first, created before before (zero: now), at most limit.
func (s *Service) Of(ctx context.Context, customer bson.ObjectID, before time.Time, limit int) ([]*Task, error) {
	filter := bson.M{"customer_id": customer}
	if !before.IsZero() {
		filter["created_at"] = bson.M{"$lt": before}
	}
	return store.FindAll[Task](ctx, s.tasks, filter, options.Find().
		SetSort(bson.D{{Key: "customer_id", Value: 1}, {Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
}

// Change is what staff do to a task from its page; empty fields change nothing.
type Change struct {
	Owner   *bson.ObjectID // assign (a zero ID: to the team)
	Due     string         // YYYY-MM-DD
	Note    string
	Reply   string // to the customer, in the portal
	Outcome string // resolves the task
	Reopen  bool
}

// MaxText is the longest note or reply.
const MaxText = 2000

// Apply makes a change to a task as staff member by, and records it on the task. A reply is
// told to the customer once per task (a resubmitted form does not tell twice); resolving
// with a good outcome is a signal on the record.
func (s *Service) Apply(ctx context.Context, id string, by bson.ObjectID, ch Change) (*Task, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var f errs.Fields
	now := s.now()
	set := bson.M{}
	ch.Note, ch.Reply = strings.TrimSpace(ch.Note), strings.TrimSpace(ch.Reply)
	for field, text := range map[string]string{"note": ch.Note, "reply": ch.Reply} {
		switch {
		case !utf8.ValidString(text):
			f.Add(field, "field.bad_text")
		case len([]rune(text)) > MaxText:
			f.Add(field, "field.too_long", "Max", MaxText)
		}
	}
	if ch.Reply != "" && t.Reply != nil {
		f.Add("reply", "followup.replied")
	}
	if ch.Due != "" {
		due, err := time.Parse(time.DateOnly, ch.Due)
		if err != nil {
			f.Add("due", "field.date")
		}
		set["due"] = due.Add(17 * time.Hour) // the end of that working day, roughly, in UTC
	}
	if ch.Outcome != "" && !slices.Contains(Outcomes, ch.Outcome) {
		f.Add("outcome", "followup.outcome_required")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	update := bson.M{}
	unset := bson.M{}
	if ch.Owner != nil {
		if ch.Owner.IsZero() {
			unset["owner"] = ""
		} else {
			set["owner"] = *ch.Owner
		}
	}
	if ch.Note != "" {
		update["$push"] = bson.M{"notes": Note{By: by, Text: ch.Note, At: now}}
	}
	filter := bson.M{"_id": id}
	if ch.Outcome != "" && t.Status == StatusOpen {
		set["status"], set["outcome"], set["done_at"], set["done_by"] = StatusDone, ch.Outcome, now, by
		filter["status"] = StatusOpen // two people resolving at once: one outcome
	}
	if ch.Reopen && t.Status == StatusDone {
		set["status"] = StatusOpen
		unset["outcome"], unset["done_at"], unset["done_by"] = "", "", ""
	}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	if ch.Reply != "" {
		// Told first, then stored: telling is idempotent by its key, so a failure in between
		// is made good by sending the form again.
		if s.tell != nil {
			if err := s.tell(ctx, t.CustomerID, by, "heard:"+t.ID, t.Rule, ch.Reply); err != nil {
				return nil, err
			}
		}
		set["reply"] = Note{By: by, Text: ch.Reply, At: now}
		filter["reply"] = nil // stored once
	}
	if len(set) > 0 {
		update["$set"] = set
	}
	if len(update) > 0 {
		res, err := s.tasks.UpdateOne(ctx, filter, update)
		if err != nil {
			return nil, fmt.Errorf("follow-up: %w", err)
		}
		if res.MatchedCount == 0 {
			if ch.Reply != "" {
				return nil, errs.Field("reply", "followup.replied")
			}
			return nil, errs.Field("outcome", "followup.resolved_already")
		}
	}
	if t, err = s.Get(ctx, id); err != nil {
		return nil, err
	}
	// A good outcome is a signal; reopened or resolved otherwise, it is not.
	signal := string(customers.SignalFollowUp) + ":" + t.ID
	if t.Status == StatusDone && t.Outcome == "good" {
		err = s.customers.RecordSignal(ctx, customers.Signal{ID: signal, CustomerID: t.CustomerID,
			Kind: customers.SignalFollowUp, Value: 100, Raw: 1, Weight: 1, At: *t.DoneAt})
	} else {
		err = s.customers.WithdrawSignal(ctx, signal)
	}
	if err != nil {
		return nil, err
	}
	return t, s.recount(ctx, t.CustomerID)
}
