// Package loyalty is the loyalty programme: points for contributions that help others,
// trust levels that unlock privileges, badges, leaderboards and rewards.
//
// Points are an append-only ledger. Each cause (a review published, a helpful vote on one,
// …) moves through numbered transitions — on, off, on again — and every transition is one
// ledger entry whose _id is the cause and its number, so a retry or a double click inserts
// the same _id and counts once. Every read and write here is by _id, the one query the
// embedded database answers from an index; lists (history, leaderboards, holders) are read
// by indexed fields.
package loyalty

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Causes lists what earns points, in the order admins see them.
var Causes = []string{content.CauseReview, content.CauseHelpful, content.CauseAnswer, content.CauseLike,
	content.CauseIdeaPlanned, content.CauseIdeaShipped, content.CauseSurvey, content.CauseTestimonial, content.CausePurchase}

// Settings are what admins set at /admin/loyalty.
type Settings struct {
	Points map[string]int `bson:"points" json:"points"` // by cause; 0 earns nothing
	// Points given by another member (a vote, a like) count only when that member's
	// account is at least YoungDays old, and at most SameActorCap times a month from the same
	// member; a member earns a cause at most DailyCap times a day.
	YoungDays    int `bson:"young_days" json:"young_days"`
	SameActorCap int `bson:"same_actor_cap" json:"same_actor_cap"`
	DailyCap     int `bson:"daily_cap" json:"daily_cap"`
}

// DefaultSettings price helping others above merely taking part.
func DefaultSettings() Settings {
	return Settings{
		Points: map[string]int{content.CauseReview: 10, content.CauseHelpful: 2, content.CauseAnswer: 15, content.CauseLike: 1,
			content.CauseIdeaPlanned: 10, content.CauseIdeaShipped: 25, content.CauseSurvey: 2, content.CauseTestimonial: 10,
			content.CausePurchase: 5},
		YoungDays: 3, SameActorCap: 5, DailyCap: 20,
	}
}

// Validate checks settings from the admin form.
func (st *Settings) Validate() error {
	var f errs.Fields
	for _, c := range Causes {
		if n := st.Points[c]; n < 0 || n > 1000 {
			f.Add("points_"+c, "loyalty.points_range")
		}
	}
	if st.YoungDays < 0 || st.YoungDays > 365 {
		f.Add("young_days", "loyalty.days_range")
	}
	if st.SameActorCap < 1 || st.SameActorCap > 1000 {
		f.Add("same_actor_cap", "loyalty.cap_range")
	}
	if st.DailyCap < 1 || st.DailyCap > 1000 {
		f.Add("daily_cap", "loyalty.cap_range")
	}
	return f.Err()
}

// Entry is one line of the ledger: points earned (positive) or taken back or spent
// (negative).
type Entry struct {
	ID        string        `bson:"_id" json:"id"` // cause:ref:transition, or redeem:…
	MemberID  bson.ObjectID `bson:"member_id" json:"-"`
	Cause     string        `bson:"cause" json:"cause"`
	Ref       string        `bson:"ref" json:"ref"`
	Points    int           `bson:"points" json:"points"`
	ActorID   bson.ObjectID `bson:"actor_id,omitempty" json:"-"`
	ProductID bson.ObjectID `bson:"product_id,omitempty" json:"-"`
	Lang      string        `bson:"lang,omitempty" json:"-"`
	// Month is the leaderboard month the entry counts in: a reversal counts in the month of
	// what it takes back, so points cannot be earned in one month and given up in the next.
	Month string    `bson:"month,omitempty" json:"-"`
	At    time.Time `bson:"at" json:"at"`
}

// Reversal reports whether the entry takes back points earned before.
func (e *Entry) Reversal() bool {
	return e.Points < 0 && e.Cause != CauseRedeem && e.Cause != CauseRefund
}

// Causes of entries that are not contributions.
const (
	CauseRedeem = "redeem" // points spent on a reward
	CauseRefund = "refund" // a redemption that found no stock gives its points back
)

// award is where a cause stands: its last transition (odd: earned, even: taken back) and
// what it earned, so that taking it back takes back the same.
type award struct {
	ID        string        `bson:"_id"`
	Seq       int           `bson:"seq"`
	Points    int           `bson:"points"`
	MemberID  bson.ObjectID `bson:"member_id"`
	ProductID bson.ObjectID `bson:"product_id,omitempty"`
	Month     string        `bson:"month,omitempty"` // of the last earning
}

// Notifier tells a member they earned a badge (community.Service).
type Notifier interface {
	AnnounceBadge(ctx context.Context, member bson.ObjectID, badge, url string) error
}

// Service runs the programme.
type Service struct {
	customers *customers.Service
	ledger    *mongo.Collection
	awards    *mongo.Collection
	counters  *mongo.Collection
	standings *mongo.Collection
	held      *mongo.Collection
	rewards   *mongo.Collection
	units     *mongo.Collection
	redeemed  *mongo.Collection
	settings  *mongo.Collection
	cached    *store.Cached[Settings] // read by every point a like or vote earns
	notifier  Notifier
	log       *slog.Logger
	now       func() time.Time
	settle    time.Duration // how long repair waits before it believes a balance is wrong
}

// New builds the programme's service on db.
func New(db *mongo.Database, cust *customers.Service, log *slog.Logger) *Service {
	s := &Service{customers: cust, ledger: db.Collection("points"), awards: db.Collection("point_awards"),
		counters: db.Collection("point_counters"), standings: db.Collection("standings"), held: db.Collection("badges_held"),
		rewards: db.Collection("rewards"), units: db.Collection("reward_units"), redeemed: db.Collection("redemptions"),
		settings: db.Collection("loyalty_settings"), log: log, now: time.Now, settle: 2 * time.Second}
	s.cached = store.NewCached("loyalty_settings", 5*time.Second, s.loadSettings)
	return s
}

// SetNotifier lets badges be announced.
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetRepairSettle sets how long repair waits before it believes a balance is wrong.
func (s *Service) SetRepairSettle(d time.Duration) { s.settle = d }

// MemberData is where this package keeps a member's own data (for their download).
// A redemption's code stays on its own page (CodeFor), not in a file.
var MemberData = []store.MemberData{
	{Collection: "points", Field: "member_id"},
	{Collection: "badges_held", Field: "member_id"},
	{Collection: "redemptions", Field: "member_id", Omit: []string{"code", "unit"}, Keep: true}, // a coupon's unit names its code; kept: stock counts
	{Collection: "standings", Field: "member_id"},
	{Collection: "point_awards", Field: "member_id"},
	{Collection: "point_counters", Field: "member_id"},
}

// Indexes of the programme's collections.
var Indexes = []store.Indexes{
	{Collection: "points", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "member_id", Value: 1}, {Key: "at", Value: -1}}}, // a member's history
		{Keys: bson.D{{Key: "actor_id", Value: 1}}},                          // erasure: points a member gave
	}},
	{Collection: "standings", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "period", Value: 1}, {Key: "scope", Value: 1}, {Key: "points", Value: -1}}},
		{Keys: bson.D{{Key: "member_id", Value: 1}}}, // erasure
	}},
	{Collection: "point_awards", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "member_id", Value: 1}}}, // erasure
		{Keys: bson.D{{Key: "actor_id", Value: 1}}},
	}},
	{Collection: "point_counters", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "member_id", Value: 1}}}, // erasure
		{Keys: bson.D{{Key: "actor_id", Value: 1}}},
	}},
	{Collection: "badges_held", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "badge", Value: 1}, {Key: "at", Value: -1}}}, // a badge's holders
		{Keys: bson.D{{Key: "member_id", Value: 1}}},                     // a member's badges
	}},
	{Collection: "rewards", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "active", Value: 1}, {Key: "cost", Value: 1}}}, // the rewards offered, cheapest first
	}},
	{Collection: "reward_units", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "reward_id", Value: 1}, {Key: "taken", Value: 1}}},
	}},
	{Collection: "redemptions", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "member_id", Value: 1}, {Key: "at", Value: -1}}},
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "at", Value: -1}}},
	}},
}

// Settings are the programme's settings, the defaults until an admin saves some. They are
// shared: callers must not change Points.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	return s.cached.Get(ctx)
}

func (s *Service) loadSettings(ctx context.Context) (Settings, error) {
	st, err := store.FindOne[Settings](ctx, s.settings, bson.M{"_id": "settings"}, errNoSettings)
	if errors.Is(err, errNoSettings) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	if st.Points == nil {
		st.Points = map[string]int{}
	}
	return *st, nil
}

var errNoSettings = errors.New("no settings saved")

// SaveSettings validates and stores the settings.
func (s *Service) SaveSettings(ctx context.Context, st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	_, err := s.settings.ReplaceOne(ctx, bson.M{"_id": "settings"}, st, options.Replace().SetUpsert(true))
	s.cached.Forget()
	if err != nil {
		return fmt.Errorf("save loyalty settings: %w", err)
	}
	return nil
}

// Reward books a contribution's points: on while its cause holds, off (a reversing entry)
// once it is undone. Points never fail the contribution that earns them: a failure is
// logged, and repair puts balances right from the ledger.
func (s *Service) Reward(ctx context.Context, r content.Reward, on bool) {
	if err := s.reward(ctx, r, on); err != nil {
		s.log.Warn("loyalty: reward not booked", "cause", r.Cause, "ref", r.Ref, "on", on, "err", err)
	}
}

func (s *Service) reward(ctx context.Context, r content.Reward, on bool) error {
	if r.Member.IsZero() || r.Member == r.Actor {
		return nil
	}
	key := r.Cause + ":" + r.Ref
	for range 3 {
		a, err := store.FindOne[award](ctx, s.awards, bson.M{"_id": key}, errNoAward)
		if errors.Is(err, errNoAward) {
			a, err = &award{ID: key}, nil
		}
		if err != nil {
			return err
		}
		if earned := a.Seq%2 == 1; earned == on {
			return nil // already so: a retry
		}
		points, product, month := -a.Points, a.ProductID, a.Month
		if on {
			st, err := s.Settings(ctx)
			if err != nil {
				return err
			}
			if points = st.Points[r.Cause]; points <= 0 {
				return nil
			}
			if counts, err := s.counts(ctx, r, st); err != nil || !counts {
				return err
			}
			product, month = r.Product, MonthOf(s.now())
		}
		if month == "" {
			month = MonthOf(s.now())
		}
		e := Entry{ID: key + ":" + strconv.Itoa(a.Seq+1), MemberID: r.Member, Cause: r.Cause, Ref: r.Ref, Points: points,
			ActorID: r.Actor, ProductID: product, Lang: r.Lang, Month: month, At: s.now()}
		_, err = s.ledger.InsertOne(ctx, e)
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("ledger: %w", err)
		}
		set := bson.M{"member_id": r.Member}
		if !r.Actor.IsZero() {
			set["actor_id"] = r.Actor // so that the actor's erasure finds it
		}
		if on {
			set["points"], set["product_id"], set["month"] = points, product, month
		}
		if _, uerr := s.awards.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$max": bson.M{"seq": a.Seq + 1}, "$set": set},
			options.UpdateOne().SetUpsert(true)); uerr != nil {
			return fmt.Errorf("award: %w", uerr)
		}
		if err != nil {
			continue // this transition was booked by another call: look again
		}
		return s.booked(ctx, &e)
	}
	return nil
}

var errNoAward = errors.New("no award")

// counts decides whether a cause earns points now: not from a young account, not from the
// same member over and over, not past the day's cap. Each limit is a counter read and
// moved by its _id.
func (s *Service) counts(ctx context.Context, r content.Reward, st Settings) (bool, error) {
	now := s.now()
	if !r.Actor.IsZero() {
		since := r.ActorSince
		if since.IsZero() {
			actor, err := s.customers.Get(ctx, r.Actor)
			if err != nil {
				return false, err
			}
			since = actor.CreatedAt
		}
		if now.Sub(since) < time.Duration(st.YoungDays)*24*time.Hour {
			return false, nil
		}
		n, err := s.bump(ctx, fmt.Sprintf("pair:%s:%s:%s:%s", r.Member.Hex(), r.Actor.Hex(), r.Cause, now.UTC().Format("2006-01")), 1, r.Member, r.Actor)
		if err != nil || n > st.SameActorCap {
			return false, err
		}
	}
	n, err := s.bump(ctx, fmt.Sprintf("day:%s:%s:%s", r.Member.Hex(), r.Cause, now.UTC().Format("2006-01-02")), 1, r.Member, bson.ObjectID{})
	return err == nil && n <= st.DailyCap, err
}

// bump moves a counter by delta and returns its new value.
// Whom it counts for, and about, is kept beside it so that their erasure finds it.
func (s *Service) bump(ctx context.Context, key string, delta int, member, actor bson.ObjectID) (int, error) {
	var c struct {
		N int `bson:"n"`
	}
	who := bson.M{"member_id": member}
	if !actor.IsZero() {
		who["actor_id"] = actor
	}
	err := s.counters.FindOneAndUpdate(ctx, bson.M{"_id": key}, bson.M{"$inc": bson.M{"n": delta}, "$setOnInsert": who},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&c)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", key, err)
	}
	return c.N, nil
}

// count reads a counter; one never moved is 0.
func (s *Service) count(ctx context.Context, key string) (int, error) {
	var c struct {
		N int `bson:"n"`
	}
	err := s.counters.FindOne(ctx, bson.M{"_id": key}).Decode(&c)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("counter %s: %w", key, err)
	}
	return c.N, nil
}

// booked follows a new ledger entry: the balance, the leaderboards, the count of the
// cause (for badges) and the level.
func (s *Service) booked(ctx context.Context, e *Entry) error {
	c, err := s.customers.AddPoints(ctx, e.MemberID, e.Points, e.Cause != CauseRedeem && e.Cause != CauseRefund)
	if err != nil {
		return err
	}
	if e.Cause != CauseRedeem && e.Cause != CauseRefund {
		if err := s.stand(ctx, e); err != nil {
			return err
		}
		step := 1
		if e.Points < 0 {
			step = -1
		}
		n, err := s.bump(ctx, "total:"+e.MemberID.Hex()+":"+e.Cause, step, e.MemberID, bson.ObjectID{})
		if err != nil {
			return err
		}
		if err := s.badgesFor(ctx, c, e.Cause, n); err != nil {
			return err
		}
		if err := s.bilingual(ctx, c, e); err != nil {
			return err
		}
	}
	return s.relevel(ctx, c)
}

// History is a member's ledger entries, newest first.
func (s *Service) History(ctx context.Context, member bson.ObjectID, limit int) ([]*Entry, error) {
	return store.FindAll[Entry](ctx, s.ledger, bson.M{"member_id": member},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(store.Limit(limit, 20, 100))))
}
