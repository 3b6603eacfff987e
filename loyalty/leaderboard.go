package loyalty

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/store"
)

// PeriodAll is the all-time leaderboard; a month's is "2006-01". ScopeAll is every
// product; a product community's scope is the product's ID.
const (
	PeriodAll = "all"
	ScopeAll  = "all"
)

// standing is one member's points in one leaderboard, moved with every entry.
type standing struct {
	ID       string        `bson:"_id"` // period:scope:member
	Period   string        `bson:"period"`
	Scope    string        `bson:"scope"`
	MemberID bson.ObjectID `bson:"member_id"`
	Points   int           `bson:"points"`
}

// stand moves the member's standings: all time and the month, overall and in the
// product's community.
func (s *Service) stand(ctx context.Context, e *Entry) error {
	scopes := []string{ScopeAll}
	if !e.ProductID.IsZero() {
		scopes = append(scopes, e.ProductID.Hex())
	}
	month := e.Month
	if month == "" {
		month = MonthOf(e.At)
	}
	// One command for the two to four standings: each is its own upsert by _id.
	var moves []mongo.WriteModel
	for _, period := range []string{PeriodAll, month} {
		for _, scope := range scopes {
			moves = append(moves, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": period + ":" + scope + ":" + e.MemberID.Hex()}).
				SetUpdate(bson.M{"$inc": bson.M{"points": e.Points}, "$set": bson.M{"period": period, "scope": scope, "member_id": e.MemberID}}).
				SetUpsert(true))
		}
	}
	if _, err := s.standings.BulkWrite(ctx, moves); err != nil {
		return fmt.Errorf("standings: %w", err)
	}
	return nil
}

// MonthOf names the month of t, as leaderboards do.
func MonthOf(t time.Time) string { return t.UTC().Format("2006-01") }

// Rank is one line of a leaderboard.
type Rank struct {
	Place  int
	Member *customers.Customer
	Points int
}

// Leaderboard lists the top members of a period and scope, staff left out.
func (s *Service) Leaderboard(ctx context.Context, period, scope string, limit int) ([]Rank, error) {
	limit = store.Limit(limit, 20, 100)
	// Read more than asked: staff are left out after.
	list, err := store.FindAll[standing](ctx, s.standings, bson.M{"period": period, "scope": scope, "points": bson.M{"$gt": 0}},
		options.Find().SetSort(bson.D{{Key: "points", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit*2+10)))
	if err != nil {
		return nil, err
	}
	ids := make([]bson.ObjectID, len(list))
	for i, st := range list {
		ids[i] = st.MemberID
	}
	people, err := s.customers.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []Rank
	for _, st := range list {
		c := people[st.MemberID]
		if c == nil || c.IsStaff() {
			continue
		}
		out = append(out, Rank{Place: len(out) + 1, Member: c, Points: st.Points})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
