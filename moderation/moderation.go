// Package moderation owns how content is curated: the pre-screen rules and their word
// lists, community flags, the moderators' queue, decisions, suspensions and the append-only
// audit log. The content itself stays with its owner (reviews, community…), which
// moderation reaches through the Publisher interface.
package moderation

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/store"
)

// Publisher is what moderation needs of a content owner: to change an item's status (with
// the reason its author is shown) and to describe an item.
type Publisher interface {
	SetStatus(ctx context.Context, id bson.ObjectID, status content.Status, reason string) (before content.Status, err error)
	Describe(ctx context.Context, id bson.ObjectID) (content.Submission, content.Status, error)
}

// Service is the moderation service.
type Service struct {
	settings     *mongo.Collection
	fingerprints *mongo.Collection
	flags        *mongo.Collection
	queue        *mongo.Collection
	log          *mongo.Collection
	customers    *customers.Service
	publishers   map[content.Kind]Publisher
	now          func() time.Time
	rules        *store.Cached[Rules]                                                                  // every submission is screened with them
	notices      AuthorNotices                                                                         // nil: authors are not told
	flagRaised   func(ctx context.Context, flag bson.ObjectID, ref, reason string, at time.Time) error // nil: nobody listens
	standing     Standing                                                                              // nil: rejections do not touch trust levels
}

// Standing lowers an author's trust level after a moderator rejects or hides their content
// (loyalty.Service).
type Standing interface {
	Strike(ctx context.Context, member bson.ObjectID) error
}

// SetStanding has rejections lower their authors' trust levels.
func (s *Service) SetStanding(st Standing) { s.standing = st }

// AuthorNotices tells authors what moderators did to their content (community.Service).
type AuthorNotices interface {
	Moderated(ctx context.Context, author bson.ObjectID, ref content.Ref, excerpt, reason string) error
	HiddenByFlags(ctx context.Context, author bson.ObjectID, ref content.Ref, excerpt string, hidden time.Time) error
}

// SetFlagListener has listen told of every report a member makes (webhooks).
func (s *Service) SetFlagListener(listen func(ctx context.Context, flag bson.ObjectID, ref, reason string, at time.Time) error) {
	s.flagRaised = listen
}

// SetAuthorNotices has authors told when their content is hidden: by a moderator, with the
// reason, or by members' reports.
func (s *Service) SetAuthorNotices(n AuthorNotices) { s.notices = n }

// New builds the service; publishers maps each kind of content to its owner.
func New(db *mongo.Database, cust *customers.Service, publishers map[content.Kind]Publisher) *Service {
	s := &Service{
		settings:     db.Collection("moderation_settings"),
		fingerprints: db.Collection("moderation_fingerprints"),
		flags:        db.Collection("flags"),
		queue:        db.Collection("moderation_queue"),
		log:          db.Collection("moderation_log"),
		customers:    cust,
		publishers:   publishers,
		now:          func() time.Time { return time.Now().UTC() },
	}
	s.rules = store.NewCached("moderation_settings", settingsTTL, s.loadRules)
	return s
}

// settingsTTL is how long an instance keeps the rules it read: another instance's change
// reaches it within this time (this instance's own at once).
const settingsTTL = 5 * time.Second

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{
	{Collection: "flags", Field: "flagger", Keep: true},                              // a report counts on, from nobody in particular
	{Collection: "moderation_fingerprints", Field: "author", Omit: []string{"hash"}}, // the anti-spam fingerprint stays internal
}

// MemberRefs: the audit log keeps what was decided, not about whom; the queue keeps items.
var MemberRefs = []store.MemberRef{
	{Collection: "moderation_log", Field: "target_author"},
	{Collection: "moderation_log", Field: "actor"},
	{Collection: "moderation_queue", Field: "author"},
}

// Indexes of this package's collections.
var Indexes = []store.Indexes{
	{Collection: "moderation_fingerprints", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "author", Value: 1}, {Key: "hash", Value: 1}}},
	}},
	{Collection: "flags", Models: []mongo.IndexModel{
		// One flag per customer per item: the guard against counting a customer twice.
		{Keys: bson.D{{Key: "ref", Value: 1}, {Key: "flagger", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "flagger", Value: 1}}}, // a member's download and erasure
	}},
	{Collection: "moderation_queue", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "open", Value: 1}, {Key: "opened_at", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "author", Value: 1}}}, // an erased member's items
	}},
	{Collection: "moderation_log", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "target_author", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "action", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "actor", Value: 1}, {Key: "_id", Value: -1}}},
	}},
}
