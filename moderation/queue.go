package moderation

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/media"
)

// Item is content waiting for a moderator: held by a rule or flagged by the community.
type Item struct {
	ID        string           `bson:"_id" json:"ref"` // the content's ref, "review:…"
	Ref       content.Ref      `bson:"ref" json:"-"`
	Author    bson.ObjectID    `bson:"author" json:"author_id"`
	ProductID bson.ObjectID    `bson:"product_id,omitempty" json:"product_id,omitzero"`
	Category  string           `bson:"category,omitempty" json:"category,omitempty"`
	Excerpt   string           `bson:"excerpt" json:"excerpt"`
	Parts     []content.Part   `bson:"parts,omitempty" json:"parts,omitempty"`   // the excerpt field by field
	Photos    []string         `bson:"photos,omitempty" json:"photos,omitempty"` // the pictures' addresses
	Reasons   []content.Reason `bson:"reasons" json:"reasons"`
	Flags     int              `bson:"flags" json:"flags"`
	Open      bool             `bson:"open" json:"open"`
	OpenedAt  time.Time        `bson:"opened_at" json:"opened_at"`
}

const excerptLength = 600

func excerpt(text string) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= excerptLength {
		return text
	}
	return string([]rune(text)[:excerptLength]) + "…"
}

// parts are a submission's fields as the queue shows them: the empty ones left out, each
// cut to an excerpt.
func parts(sub content.Submission) []content.Part {
	var out []content.Part
	for _, p := range sub.Parts {
		if t := strings.TrimSpace(p.Text); t != "" {
			out = append(out, content.Part{Label: p.Label, Text: excerpt(t)})
		}
	}
	return out
}

// photos are the pictures a moderator judges with the text: a review's photos and the
// images a post shows.
func photos(sub content.Submission) []string {
	out := slices.Clone(sub.Photos)
	for _, p := range sub.Parts {
		for _, key := range media.KeysIn(p.Text) {
			if url := media.URLOf(key); !slices.Contains(out, url) {
				out = append(out, url)
			}
		}
	}
	return out
}

// enqueue opens (or adds reasons to) the queue item of some content.
func (s *Service) enqueue(ctx context.Context, sub content.Submission, reasons []content.Reason) error {
	ref := sub.Ref.String()
	res, err := s.queue.UpdateOne(ctx, bson.M{"_id": ref, "open": true}, bson.M{
		"$push": bson.M{"reasons": bson.M{"$each": reasons}},
		"$set":  bson.M{"excerpt": excerpt(sub.Text), "parts": parts(sub), "photos": photos(sub)},
	})
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if res.MatchedCount > 0 {
		return nil
	}
	item := Item{ID: ref, Ref: sub.Ref, Author: sub.Author, ProductID: sub.ProductID, Category: sub.Category,
		Excerpt: excerpt(sub.Text), Parts: parts(sub), Photos: photos(sub), Reasons: reasons, Open: true, OpenedAt: s.now()}
	if _, err := s.queue.ReplaceOne(ctx, bson.M{"_id": ref}, item, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// OpenCount is how many items wait in the queue (for staff's header and home).
func (s *Service) OpenCount(ctx context.Context) (int, error) {
	n, err := s.queue.CountDocuments(ctx, bson.M{"open": true})
	return int(n), err
}

// QueueQuery filters the queue.
type QueueQuery struct {
	Kind      content.Kind
	ProductID bson.ObjectID
	Category  string
	Rule      string // a reason's rule, e.g. "flagged"
	After     string // cursor
	Limit     int
}

// Queue lists open items, oldest first, a page at a time by key.
func (s *Service) Queue(ctx context.Context, q QueueQuery) ([]*Item, string, error) {
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	filter := bson.M{"open": true}
	if q.Kind != "" {
		filter["ref.kind"] = q.Kind
	}
	if !q.ProductID.IsZero() {
		filter["product_id"] = q.ProductID
	}
	if q.Category != "" {
		filter["category"] = q.Category
	}
	if q.Rule != "" {
		filter["reasons.rule"] = q.Rule
	}
	if q.After != "" {
		at, id, ok := parseQueueCursor(q.After)
		if !ok {
			return nil, "", errs.New(errs.ErrInvalid, "list.bad_cursor")
		}
		filter["$or"] = bson.A{bson.M{"opened_at": bson.M{"$gt": at}}, bson.M{"opened_at": at, "_id": bson.M{"$gt": id}}}
	}
	cur, err := s.queue.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "opened_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("queue: %w", err)
	}
	var items []*Item
	if err := cur.All(ctx, &items); err != nil {
		return nil, "", fmt.Errorf("queue: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.OpenedAt.UnixMilli(), 10) + "|" + last.ID))
	}
	return items, next, nil
}

func parseQueueCursor(c string) (time.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ms, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n).UTC(), id, ok && err == nil
}

// History is what a moderator sees of an author next to a queue item.
type History struct {
	Approved, Rejected, Hidden int
}

// Histories counts past decisions about each author's content, in one aggregation.
func (s *Service) Histories(ctx context.Context, authors []bson.ObjectID) (map[bson.ObjectID]History, error) {
	out := map[bson.ObjectID]History{}
	if len(authors) == 0 {
		return out, nil
	}
	cur, err := s.log.Aggregate(ctx, bson.A{
		bson.M{"$match": bson.M{"target_author": bson.M{"$in": authors}, "action": bson.M{"$in": bson.A{ActionApprove, ActionReject, ActionAutoHide}}}},
		bson.M{"$group": bson.M{"_id": bson.M{"author": "$target_author", "action": "$action"}, "n": bson.M{"$sum": 1}}},
	})
	if err != nil {
		return nil, fmt.Errorf("author history: %w", err)
	}
	var groups []struct {
		ID struct {
			Author bson.ObjectID `bson:"author"`
			Action Action        `bson:"action"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, fmt.Errorf("author history: %w", err)
	}
	for _, g := range groups {
		h := out[g.ID.Author]
		switch g.ID.Action {
		case ActionApprove:
			h.Approved += g.N
		case ActionReject:
			h.Rejected += g.N
		case ActionAutoHide:
			h.Hidden += g.N
		}
		out[g.ID.Author] = h
	}
	return out, nil
}
