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

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
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
	_, err = s.flags.InsertOne(ctx, FlagRecord{ID: bson.NewObjectID(), Ref: ref.String(), Flagger: flagger.ID,
		Reason: in.Reason, Text: in.Text, At: s.now()})
	if mongo.IsDuplicateKeyError(err) {
		return FlagResult{}, nil
	}
	if err != nil {
		return FlagResult{}, fmt.Errorf("flag: %w", err)
	}
	if err := s.enqueue(ctx, sub, []content.Reason{{Rule: "flagged", Detail: in.Reason}}); err != nil {
		return FlagResult{}, err
	}
	n, err := s.flags.CountDocuments(ctx, bson.M{"ref": ref.String(), "resolved": false})
	if err != nil {
		return FlagResult{}, fmt.Errorf("flag: %w", err)
	}
	if _, err := s.queue.UpdateOne(ctx, bson.M{"_id": ref.String()}, bson.M{"$set": bson.M{"flags": n}}); err != nil {
		return FlagResult{}, fmt.Errorf("flag: %w", err)
	}
	res := FlagResult{Counted: true}
	rules, err := s.Rules(ctx)
	if err != nil {
		return res, err
	}
	if n >= int64(rules.FlagThreshold) && status == content.StatusPublished {
		before, err := pub.SetStatus(ctx, ref.ID, content.StatusHidden, "")
		if err != nil {
			return res, err
		}
		res.Hidden = true
		err = s.record(ctx, Entry{Action: ActionAutoHide, Target: &ref, TargetAuthor: sub.Author, Before: before,
			After: content.StatusHidden, Reason: fmt.Sprintf("%d flags", n)})
		if err != nil {
			return res, err
		}
	}
	return res, nil
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
	var list []FlagRecord
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	for _, f := range list {
		out[f.Ref] = append(out[f.Ref], f)
	}
	return out, nil
}
