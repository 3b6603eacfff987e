// Package community owns the forums (categories, threads, posts, likes, accepted answers),
// the co-creation ideas (votes, statuses, merges) and the in-app notifications they cause.
// Nothing outside this package touches the categories, threads, posts, post_likes, ideas,
// idea_votes or notifications collections.
package community

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/store"
)

// Status of a thread, post or idea: the status every kind of user content has.
type Status = content.Status

// ActivityRecorder counts contributions toward the author's lifecycle stage;
// customers.Service implements it.
type ActivityRecorder interface {
	Contributed(ctx context.Context, customer bson.ObjectID, kind string, product bson.ObjectID) error
	Withdrawn(ctx context.Context, customer bson.ObjectID, kind string) error
}

// Screener checks content against the moderation rules before it is stored and notes the
// verdict after; moderation.Service implements it.
type Screener interface {
	Screen(ctx context.Context, sub content.Submission) (content.Verdict, error)
	Record(ctx context.Context, sub content.Submission, v content.Verdict) error
}

// ProductSlugs names products for search documents; reviews.Service implements it (the
// products are its own).
type ProductSlugs interface {
	Slugs(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]string, error)
}

// Service is the forums and ideas service.
type Service struct {
	categories    *mongo.Collection
	threads       *mongo.Collection
	posts         *mongo.Collection
	likes         *mongo.Collection
	ideas         *mongo.Collection
	votes         *mongo.Collection
	notifications *mongo.Collection
	customers     *customers.Service
	activity      ActivityRecorder
	products      ProductSlugs
	screen        Screener
	rewarder      content.Rewarder
	md            *markdown.Renderer
	now           func() time.Time
	allCategories *store.Cached[[]*Category] // a handful, read by nearly every page
	inFlight      *store.InFlight            // counters a write is changing, for the repair
	mailer        Mailer                     // nil: notifications are not emailed
	unsubscribe   func(member bson.ObjectID, kind string) string
}

// New builds the service on db. activity and products may be nil (tests, tools).
func New(db *mongo.Database, cust *customers.Service, activity ActivityRecorder, products ProductSlugs, md *markdown.Renderer) *Service {
	s := &Service{
		categories:    db.Collection("categories"),
		threads:       db.Collection("threads"),
		posts:         db.Collection("posts"),
		likes:         db.Collection("post_likes"),
		ideas:         db.Collection("ideas"),
		votes:         db.Collection("idea_votes"),
		notifications: db.Collection("notifications"),
		customers:     cust,
		activity:      activity,
		products:      products,
		screen:        content.PublishAll{},
		md:            md,
		now:           func() time.Time { return time.Now().UTC() },
		inFlight:      store.NewInFlight(db),
	}
	s.allCategories = store.NewCached("categories", 5*time.Second, s.loadCategories)
	return s
}

// SetScreener puts new and edited content through moderation (moderation needs this
// service as a publisher, so the two are connected after both exist).
func (s *Service) SetScreener(sc Screener) { s.screen = sc }

// SetRewarder books the points contributions earn (package loyalty).
func (s *Service) SetRewarder(r content.Rewarder) { s.rewarder = r }

// reward tells the rewarder, if any, whether a cause holds.
func (s *Service) reward(ctx context.Context, r content.Reward, on bool) {
	if s.rewarder != nil {
		s.rewarder.Reward(ctx, r, on)
	}
}

func (s *Service) contributed(ctx context.Context, who bson.ObjectID, kind string) error {
	if s.activity == nil {
		return nil
	}
	return s.activity.Contributed(ctx, who, kind, bson.ObjectID{})
}

func (s *Service) withdrawn(ctx context.Context, who bson.ObjectID, kind string) error {
	if s.activity == nil {
		return nil
	}
	return s.activity.Withdrawn(ctx, who, kind)
}

// Errors shared by threads, posts and ideas.
var (
	ErrBadCursor = errs.New(errs.ErrInvalid, "list.bad_cursor")
	ErrConflict  = errs.New(errs.ErrConflict, "community.edit_conflict")
)

func suspended(c *customers.Customer) error {
	if c.IsSuspended() {
		return errs.New(errs.ErrSuspended, "account.suspended", "Reason", c.Suspension.Reason)
	}
	return nil
}

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{
	{Collection: "threads", Field: "author_id", Keep: true, Indexed: true, Text: []string{"title"}},
	{Collection: "posts", Field: "author_id", Keep: true, Indexed: true, Text: []string{"body_md", "body_html"}},
	{Collection: "post_likes", Field: "customer_id", Keep: true},
	{Collection: "ideas", Field: "author_id", Omit: []string{"voters"}, Keep: true, Indexed: true, Text: []string{"title", "body_md", "body_html"}}, // the voters' summary is the staff's
	{Collection: "idea_votes", Field: "customer_id", Keep: true},
	{Collection: "notifications", Field: "customer_id"},
}

// MemberRefs are the other fields that may name a member.
var MemberRefs = []store.MemberRef{
	{Collection: "threads", Field: "last_poster_id"},
	{Collection: "notifications", Field: "actor_id"},
}

// Indexes of this package's collections, one per query shape.
var Indexes = []store.Indexes{
	{Collection: "categories", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "threads", Models: []mongo.IndexModel{
		// latest activity, per category and overall: pinned first on the first page, then the others
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "pinned", Value: -1}, {Key: "last_post_at", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "category_id", Value: 1}, {Key: "status", Value: 1}, {Key: "pinned", Value: -1}, {Key: "last_post_at", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "tags", Value: 1}, {Key: "status", Value: 1}, {Key: "last_post_at", Value: -1}, {Key: "_id", Value: -1}}},
		// newest, unanswered and solved
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "reply_count", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "last_poster_id", Value: 1}}}, // an erased member's last replies
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "solved", Value: 1}, {Key: "last_post_at", Value: -1}, {Key: "_id", Value: -1}}},
		// the same orders within a category or a tag
		{Keys: bson.D{{Key: "category_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "category_id", Value: 1}, {Key: "status", Value: 1}, {Key: "reply_count", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "category_id", Value: 1}, {Key: "status", Value: 1}, {Key: "solved", Value: 1}, {Key: "last_post_at", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "tags", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "posts", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "parent_id", Value: 1}, {Key: "opening", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "post_likes", Models: []mongo.IndexModel{
		// one like per customer per post: the guard that keeps like counts exact
		{Keys: bson.D{{Key: "post_id", Value: 1}, {Key: "customer_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "post_id", Value: 1}}},
	}},
	{Collection: "ideas", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "vote_count", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "state", Value: 1}, {Key: "vote_count", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "product_id", Value: 1}, {Key: "vote_count", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: -1}}}, // newest
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "state", Value: 1}, {Key: "_id", Value: -1}}},
		// trending
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "trend_votes", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "state", Value: 1}, {Key: "trend_votes", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "product_id", Value: 1}, {Key: "trend_votes", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "product_id", Value: 1}, {Key: "_id", Value: -1}}},
		// the voters' value (product staff's sort), overall, by state and by product
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "voters.value", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "state", Value: 1}, {Key: "voters.value", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "product_id", Value: 1}, {Key: "voters.value", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "idea_votes", Models: []mongo.IndexModel{
		// one vote per customer per idea: the guard that keeps vote counts exact
		{Keys: bson.D{{Key: "idea_id", Value: 1}, {Key: "customer_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "in_window", Value: 1}, {Key: "at", Value: 1}}}, // votes leaving the trending window
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: -1}}},
	}},
	{Collection: "notifications", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "email_state", Value: 1}, {Key: "created_at", Value: 1}}}, // the email job's
		{Keys: bson.D{{Key: "email_state", Value: 1}, {Key: "_id", Value: 1}}},        // a digest's
		// one notification per event per customer: a retried write notifies once
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "key", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "read", Value: 1}}},
		{Keys: bson.D{{Key: "actor_id", Value: 1}}}, // an erased member's notifications to others
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "_id", Value: -1}}},
	}},
}
