package loyalty

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Badge is a mark of something done. Its name and description are in the catalogue as
// badge.<Key>.name and badge.<Key>.desc, in both languages.
type Badge struct {
	Key    string
	Icon   string
	Cause  string // automatic: earned when the member's count of Cause reaches Count
	Count  int
	Days   int  // automatic: earned after this many days as a member
	Manual bool // awarded and revoked by admins
}

// Badges, in the order they are shown.
var Badges = []Badge{
	{Key: "first_review", Icon: "✍️", Cause: content.CauseReview, Count: 1},
	{Key: "helpful_10", Icon: "👍", Cause: content.CauseHelpful, Count: 10},
	{Key: "first_answer", Icon: "✅", Cause: content.CauseAnswer, Count: 1},
	{Key: "idea_shipped", Icon: "🚀", Cause: content.CauseIdeaShipped, Count: 1},
	{Key: "verified_buyer", Icon: "🛍️", Cause: content.CausePurchase, Count: 1},
	{Key: "survey_5", Icon: "📝", Cause: content.CauseSurvey, Count: 5},
	{Key: "one_year", Icon: "🎂", Days: 365},
	{Key: "bilingual", Icon: "🗣️"}, // earned in both languages (bilingual)
	{Key: "community_hero", Icon: "🏅", Manual: true},
	{Key: "beta_tester", Icon: "🧪", Manual: true},
}

// BadgeByKey finds a badge.
func BadgeByKey(key string) (Badge, bool) {
	i := slices.IndexFunc(Badges, func(b Badge) bool { return b.Key == key })
	if i < 0 {
		return Badge{}, false
	}
	return Badges[i], true
}

// Held is a badge a member holds.
type Held struct {
	ID       string        `bson:"_id" json:"-"` // badge:member: held once
	Badge    string        `bson:"badge" json:"badge"`
	MemberID bson.ObjectID `bson:"member_id" json:"member_id"`
	At       time.Time     `bson:"at" json:"awarded_at"`
	By       bson.ObjectID `bson:"by,omitempty" json:"-"` // the admin, for a manual badge
	Reason   string        `bson:"reason,omitempty" json:"reason,omitempty"`
}

func heldID(badge string, member bson.ObjectID) string { return badge + ":" + member.Hex() }

// give awards a badge once; it reports whether this call gave it.
func (s *Service) give(ctx context.Context, h Held) (bool, error) {
	h.ID = heldID(h.Badge, h.MemberID)
	_, err := s.held.InsertOne(ctx, h)
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("badge: %w", err)
	}
	if s.notifier != nil {
		if err := s.notifier.AnnounceBadge(ctx, h.MemberID, h.Badge, "/badges/"+h.Badge); err != nil {
			return true, err
		}
	}
	return true, nil
}

// badgesFor gives the automatic badges a member's count of a cause has reached. Badges are
// kept once earned: a count that falls again does not take one back. Past a badge's count it
// was given when the count reached it: a read confirms so (an insert refused as a duplicate
// took the write lock for nothing on every later contribution), and gives it if that failed.
func (s *Service) badgesFor(ctx context.Context, c *customers.Customer, cause string, n int) error {
	for _, b := range Badges {
		if b.Cause != cause || n < b.Count {
			continue
		}
		if n > b.Count {
			held, err := s.holds(ctx, b.Key, c.ID)
			if err != nil {
				return err
			}
			if held {
				continue
			}
		}
		if _, err := s.give(ctx, Held{Badge: b.Key, MemberID: c.ID, At: s.now()}); err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether member holds badge.
func (s *Service) holds(ctx context.Context, badge string, member bson.ObjectID) (bool, error) {
	err := s.held.FindOne(ctx, bson.M{"_id": heldID(badge, member)}, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("badge: %w", err)
	}
	return true, nil
}

// bilingual gives the bilingual badge to a member whose contributions have earned points
// in both of the portal's languages. The two counts exist for this badge alone: a holder's
// are left as they are, and the other language's is read, not moved by nothing.
func (s *Service) bilingual(ctx context.Context, c *customers.Customer, e *Entry) error {
	if e.Points <= 0 || (e.Lang != "en" && e.Lang != "id") {
		return nil
	}
	if held, err := s.holds(ctx, "bilingual", c.ID); err != nil || held {
		return err
	}
	if _, err := s.bump(ctx, "lang:"+c.ID.Hex()+":"+e.Lang, 1, c.ID, bson.ObjectID{}); err != nil {
		return err
	}
	other := map[string]string{"en": "id", "id": "en"}[e.Lang]
	n, err := s.count(ctx, "lang:"+c.ID.Hex()+":"+other)
	if err != nil || n == 0 {
		return err
	}
	_, err = s.give(ctx, Held{Badge: "bilingual", MemberID: c.ID, At: s.now()})
	return err
}

// tenureBadges gives the badges time as a member earns.
func (s *Service) tenureBadges(ctx context.Context, c *customers.Customer) error {
	for _, b := range Badges {
		if b.Days > 0 && s.now().Sub(c.CreatedAt) >= time.Duration(b.Days)*24*time.Hour {
			if _, err := s.give(ctx, Held{Badge: b.Key, MemberID: c.ID, At: s.now()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Errors of manual badges.
var (
	ErrNotManual      = errs.Field("badge", "loyalty.not_manual")
	ErrReasonRequired = errs.Field("reason", "loyalty.reason_required")
)

// Award gives a manual badge, with the admin's reason; it reports whether it was new.
func (s *Service) Award(ctx context.Context, admin *customers.Customer, member bson.ObjectID, badge, reason string) (bool, error) {
	if b, ok := BadgeByKey(badge); !ok || !b.Manual {
		return false, ErrNotManual
	}
	if reason == "" {
		return false, ErrReasonRequired
	}
	if _, err := s.customers.Get(ctx, member); err != nil {
		return false, err
	}
	return s.give(ctx, Held{Badge: badge, MemberID: member, At: s.now(), By: admin.ID, Reason: reason})
}

// Revoke takes a manual badge back; it reports whether the member held it.
func (s *Service) Revoke(ctx context.Context, member bson.ObjectID, badge, reason string) (bool, error) {
	if b, ok := BadgeByKey(badge); !ok || !b.Manual {
		return false, ErrNotManual
	}
	if reason == "" {
		return false, ErrReasonRequired
	}
	res, err := s.held.DeleteOne(ctx, bson.M{"_id": heldID(badge, member)})
	if err != nil {
		return false, fmt.Errorf("revoke badge: %w", err)
	}
	return res.DeletedCount == 1, nil
}

// BadgesOf lists a member's badges, in the order of Badges.
func (s *Service) BadgesOf(ctx context.Context, member bson.ObjectID) ([]*Held, error) {
	list, err := store.FindAll[Held](ctx, s.held, bson.M{"member_id": member})
	if err != nil {
		return nil, err
	}
	order := func(h *Held) int { return slices.IndexFunc(Badges, func(b Badge) bool { return b.Key == h.Badge }) }
	slices.SortFunc(list, func(a, b *Held) int { return order(a) - order(b) })
	return list, nil
}

// Holders lists who holds a badge, most recent first, a page at a time (before: the time
// of the last one shown).
func (s *Service) Holders(ctx context.Context, badge string, before time.Time, limit int) ([]*Held, error) {
	if _, ok := BadgeByKey(badge); !ok {
		return nil, ErrNoBadge
	}
	filter := bson.M{"badge": badge}
	if !before.IsZero() {
		filter["at"] = bson.M{"$lt": before}
	}
	return store.FindAll[Held](ctx, s.held, filter,
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(store.Limit(limit, 50, 200))))
}

// ErrNoBadge is a badge that does not exist.
var ErrNoBadge = errs.New(errs.ErrNotFound, "loyalty.no_badge")
