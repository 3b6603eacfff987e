package moderation

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

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/store"
)

// Flag reasons a customer may give.
var FlagReasons = []string{"spam", "abuse", "off_topic", "other"}

// FlagInput is the report form and the API's flag.
type FlagInput struct {
	Ref    string `form:"ref" json:"ref"` // "review:…"
	Reason string `form:"reason" json:"reason"`
	Text   string `form:"text" json:"text"`
}

// FlagRecord is one customer's report.
type FlagRecord struct {
	ID       bson.ObjectID `bson:"_id"`
	Ref      string        `bson:"ref"`
	Flagger  bson.ObjectID `bson:"flagger"`
	Reason   string        `bson:"reason"`
	Text     string        `bson:"text,omitempty"`
	At       time.Time     `bson:"at"`
	Resolved bool          `bson:"resolved"` // a moderator has decided since
	// Weight is how much the flag counts toward hiding the item (flagWeight); flags made
	// before weights were recorded count one.
	Weight *float64 `bson:"weight,omitempty"`
}

func (f FlagRecord) weight() float64 {
	if f.Weight == nil {
		return 1
	}
	return *f.Weight
}

const (
	// newAccount is how long an account's flags count for nothing toward hiding: three
	// accounts made a minute ago could otherwise hide anything.
	newAccount = 7 * 24 * time.Hour
	// establishedAfter makes a member established, with a contribution or more: flags on
	// their content put it in the queue, for a moderator to decide, and do not hide it.
	establishedAfter = 90 * 24 * time.Hour
)

// flagWeight is how much a customer's flag counts toward hiding an item: nothing from a new
// account, one from a member, two from staff (who may also decide at once).
func flagWeight(c *customers.Customer, now time.Time) float64 {
	switch {
	case c.IsStaff():
		return 2
	case now.Sub(c.CreatedAt) < newAccount:
		return 0
	}
	return float64(loyalty.FlagWeight(loyalty.LevelOf(c, now)))
}

// hideable says whether flags may hide an author's content before a moderator decides: not
// staff's (an announcement stays up), not an established member's (it waits in the queue).
func hideable(author *customers.Customer, now time.Time) bool {
	if author.IsStaff() {
		return false
	}
	c := author.Counters
	contributed := c.Threads+c.Posts+c.Reviews+c.Ideas > 0
	return !(contributed && now.Sub(author.CreatedAt) >= establishedAfter)
}

// FlagResult says what a flag did.
type FlagResult struct {
	Counted bool // false: this customer had flagged the item already
	Hidden  bool // the flag reached the threshold and the item left public view
}

// Flag records a customer's report of some content, once per customer per item. Enough
// flags from distinct customers hide the item until a moderator decides.
func (s *Service) Flag(ctx context.Context, flagger *customers.Customer, in FlagInput) (FlagResult, error) {
	var f errs.Fields
	ref, ok := content.ParseRef(in.Ref)
	pub := s.publishers[ref.Kind]
	if !ok || pub == nil {
		f.Add("ref", "moderation.unknown_content")
	}
	if !slices.Contains(FlagReasons, in.Reason) {
		f.Add("reason", "field.choose_one")
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Reason == "other" && in.Text == "" {
		f.Add("text", "moderation.flag_explain")
	}
	if utf8.RuneCountInString(in.Text) > 500 {
		f.Add("text", "field.too_long", "Max", 500)
	}
	if err := f.Err(); err != nil {
		return FlagResult{}, err
	}
	sub, status, err := pub.Describe(ctx, ref.ID)
	if err != nil {
		return FlagResult{}, err
	}
	if sub.Author == flagger.ID {
		return FlagResult{}, errs.New(errs.ErrForbidden, "moderation.flag_own")
	}
	if status == content.StatusDeleted {
		return FlagResult{}, errs.New(errs.ErrNotFound, "moderation.unknown_content")
	}
	now := s.now()
	w := flagWeight(flagger, now)
	id := bson.NewObjectID()
	_, err = s.flags.InsertOne(ctx, FlagRecord{ID: id, Ref: ref.String(), Flagger: flagger.ID,
		Reason: in.Reason, Text: in.Text, At: now, Weight: &w})
	if mongo.IsDuplicateKeyError(err) {
		return FlagResult{}, nil
	}
	if err != nil {
		return FlagResult{}, fmt.Errorf("flag: %w", err)
	}
	if s.flagRaised != nil {
		store.FollowUp(ctx, "flag", func() error { return s.flagRaised(ctx, id, ref.String(), in.Reason, now) })
	}
	if err := s.enqueue(ctx, sub, []content.Reason{{Rule: "flagged", Detail: in.Reason}}); err != nil {
		return FlagResult{}, err
	}
	open, err := store.FindAll[FlagRecord](ctx, s.flags, bson.M{"ref": ref.String(), "resolved": false})
	if err != nil {
		return FlagResult{}, err
	}
	var weight float64
	for _, f := range open {
		weight += f.weight()
	}
	n := len(open)
	if _, err := s.queue.UpdateOne(ctx, bson.M{"_id": ref.String()}, bson.M{"$set": bson.M{"flags": n}}); err != nil {
		return FlagResult{}, fmt.Errorf("flag: %w", err)
	}
	res := FlagResult{Counted: true}
	rules, err := s.Rules(ctx)
	if err != nil {
		return res, err
	}
	// A flag from the highest trust level hides at once, as enough flags do.
	atOnce := loyalty.FlagHidesAtOnce(loyalty.LevelOf(flagger, now))
	if (weight < float64(rules.FlagThreshold) && !atOnce) || status != content.StatusPublished {
		return res, nil
	}
	author, err := s.customers.Get(ctx, sub.Author)
	if err != nil {
		return res, err
	}
	if hideable(author, now) || (atOnce && !author.IsStaff()) {
		before, err := pub.SetStatus(ctx, ref.ID, content.StatusHidden, "")
		if err != nil {
			return res, err
		}
		res.Hidden = true
		err = s.record(ctx, Entry{Action: ActionAutoHide, Target: &ref, TargetAuthor: sub.Author, Before: before,
			After: content.StatusHidden, Reason: fmt.Sprintf("%d flags, weighing %g", n, weight)})
		if err != nil {
			return res, err
		}
		if s.notices != nil {
			store.FollowUp(ctx, "tell the author", func() error {
				return s.notices.HiddenByFlags(ctx, sub.Author, ref, headline(sub.Text), now)
			})
		}
	}
	return res, nil
}

// FlaggedBy says which of some content (refs) a customer has reported, in one query: a
// member sees that they did.
func (s *Service) FlaggedBy(ctx context.Context, flagger bson.ObjectID, refs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(refs) == 0 {
		return out, nil
	}
	list, err := store.FindAll[FlagRecord](ctx, s.flags, bson.M{"ref": bson.M{"$in": refs}, "flagger": flagger},
		options.Find().SetProjection(bson.M{"ref": 1}))
	if err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	for _, f := range list {
		out[f.Ref] = true
	}
	return out, nil
}

// FlagsOn lists the open flags of some queue items, in one query, for the queue page.
func (s *Service) FlagsOn(ctx context.Context, items []*Item) (map[string][]FlagRecord, error) {
	out := map[string][]FlagRecord{}
	if len(items) == 0 {
		return out, nil
	}
	refs := make([]string, len(items))
	for i, it := range items {
		refs[i] = it.ID
	}
	cur, err := s.flags.Find(ctx, bson.M{"ref": bson.M{"$in": refs}, "resolved": false})
	if err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	list := []FlagRecord{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	for _, f := range list {
		out[f.Ref] = append(out[f.Ref], f)
	}
	return out, nil
}
