// Package reviews owns products, their reviews (ratings, helpful votes, brand replies and
// the rating summaries kept on each product) and testimonials. Nothing outside this package
// touches the products, reviews, review_votes or testimonials collections.
package reviews

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/store"
)

// SignalRecorder takes the satisfaction signal of every published review and counts
// contributions toward the author's lifecycle stage; customers.Service implements it.
type SignalRecorder interface {
	RecordSignal(ctx context.Context, s customers.Signal) error
	WithdrawSignal(ctx context.Context, id string) error
	Contributed(ctx context.Context, customer bson.ObjectID, kind string, product bson.ObjectID) error
}

// Screener checks content against the moderation rules before it is stored (Screen, which
// may refuse it or hold it for a moderator) and notes it after (Record);
// moderation.Service implements it.
type Screener interface {
	Screen(ctx context.Context, sub content.Submission) (content.Verdict, error)
	Record(ctx context.Context, sub content.Submission, v content.Verdict) error
}

// Service is the reviews and testimonials service.
type Service struct {
	products     *mongo.Collection
	reviews      *mongo.Collection
	votes        *mongo.Collection
	testimonials *mongo.Collection
	customers    *customers.Service
	signals      SignalRecorder
	screen       Screener
	rewarder     content.Rewarder
	md           *markdown.Renderer
	now          func() time.Time
	inFlight     *store.InFlight // counters a write is changing, for the repair
	requests     *mongo.Collection
	mailer       Mailer // nil: no review requests
	requestAfter time.Duration
	unsubscribe  func(member bson.ObjectID, kind string) string
}

// NewService builds the service on db.
func NewService(db *mongo.Database, cust *customers.Service, signals SignalRecorder, md *markdown.Renderer) *Service {
	return &Service{
		products:     db.Collection("products"),
		reviews:      db.Collection("reviews"),
		votes:        db.Collection("review_votes"),
		testimonials: db.Collection("testimonials"),
		customers:    cust,
		signals:      signals,
		screen:       content.PublishAll{},
		md:           md,
		now:          func() time.Time { return time.Now().UTC() },
		inFlight:     store.NewInFlight(db),
		requests:     db.Collection("review_requests"),
	}
}

// SetScreener puts new and edited content through moderation. (Moderation needs this
// service as its publisher, so the two are connected after both exist.)
func (s *Service) SetScreener(sc Screener) { s.screen = sc }

// SetRewarder books the points contributions earn (package loyalty).
func (s *Service) SetRewarder(r content.Rewarder) { s.rewarder = r }

// reward tells the rewarder, if any, whether a cause holds.
func (s *Service) reward(ctx context.Context, r content.Reward, on bool) {
	if s.rewarder != nil {
		s.rewarder.Reward(ctx, r, on)
	}
}

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{
	{Collection: "reviews", Field: "author_id", Keep: true, Indexed: true, Text: []string{"title", "body_md", "body_html", "pros", "cons"}},
	{Collection: "review_votes", Field: "customer_id", Keep: true},
	{Collection: "review_requests", Field: "customer_id"},
	{Collection: "testimonials", Field: "author_id", Keep: true, Indexed: true, Text: []string{"quote"}},
}

// Indexes of this package's collections, one per query shape.
var Indexes = []store.Indexes{
	{Collection: "products", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "name", Value: 1}, {Key: "slug", Value: 1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "reviews", Models: []mongo.IndexModel{
		// One review per customer per product: the guard, not a read-then-write check.
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "author_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "status", Value: 1}, {Key: "helpful_yes", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "status", Value: 1}, {Key: "rating", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "status", Value: 1}, {Key: "rating", Value: 1}, {Key: "_id", Value: -1}}}, // lowest first
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "status", Value: 1}, {Key: "has_photos", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "review_votes", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "review_id", Value: 1}, {Key: "customer_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: -1}}}, // a customer's timeline
	}},
	{Collection: "review_requests", Models: []mongo.IndexModel{
		// one request per customer per product, however often they buy it
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "product_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "due_at", Value: 1}}},                              // the job's due requests
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "state", Value: 1}, {Key: "sent", Value: 1}}}, // a product's figures
	}},
	{Collection: "testimonials", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "rank", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "rank", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "from_review_id", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
	}},
}
