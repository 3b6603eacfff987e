package loyalty

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
)

// tally is what a member's ledger says: their balance, and what they earned (spending and
// refunds aside).
type tally struct{ points, earned int }

// RepairBalances puts every member's balance, earned points and level back to what their
// ledger says, and reports how many it changed. It runs beside live traffic, so a record is
// changed only if it disagreed with its ledger twice, a moment apart, with no change to the
// record in between (its version): a redeem or an award caught between its two writes is
// left to finish, and a record that moves meanwhile is left alone.
func (s *Service) RepairBalances(ctx context.Context) (int, error) {
	sums, err := s.tallies(ctx, bson.M{})
	if err != nil {
		return 0, err
	}
	// Everyone with a balance or entries: those with a balance and no entries go to zero.
	holders, err := s.customers.WithPoints(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range holders {
		if _, ok := sums[id]; !ok {
			sums[id] = tally{}
		}
	}
	suspects := map[bson.ObjectID]int{} // member → version when found wrong
	for id, want := range sums {
		c, err := s.customers.Get(ctx, id)
		if err != nil {
			continue // entries of someone gone
		}
		if wrong(c, want, s.now()) {
			suspects[id] = c.Version
		}
	}
	if len(suspects) == 0 {
		return 0, nil
	}
	select {
	case <-time.After(s.settle):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	fixed := 0
	for id, version := range suspects {
		c, err := s.customers.Get(ctx, id)
		if err != nil || c.Version != version {
			continue // changed meanwhile: the next repair looks again
		}
		again, err := s.tallies(ctx, bson.M{"member_id": id})
		if err != nil {
			return fixed, err
		}
		want := again[id]
		if !wrong(c, want, s.now()) {
			continue
		}
		c.Loyalty.Points, c.Loyalty.Earned = want.points, want.earned
		ok, err := s.customers.SetLoyalty(ctx, id, version, want.points, want.earned, LevelOf(c, s.now()))
		if err != nil {
			return fixed, err
		}
		if ok {
			fixed++
		}
	}
	return fixed, nil
}

// wrong reports whether a record disagrees with its ledger.
func wrong(c *customers.Customer, want tally, now time.Time) bool {
	if c.Loyalty.Points != want.points || c.Loyalty.Earned != want.earned {
		return true
	}
	fixed := *c
	return LevelOf(&fixed, now) != c.Loyalty.Level
}

// tallies sums the ledger per member and cause (match: which entries), in one aggregation.
func (s *Service) tallies(ctx context.Context, match bson.M) (map[bson.ObjectID]tally, error) {
	cur, err := s.ledger.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$group", Value: bson.M{"_id": bson.M{"member": "$member_id", "cause": "$cause"}, "points": bson.M{"$sum": "$points"}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("repair balances: %w", err)
	}
	var rows []struct {
		ID struct {
			Member bson.ObjectID `bson:"member"`
			Cause  string        `bson:"cause"`
		} `bson:"_id"`
		Points int `bson:"points"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("repair balances: %w", err)
	}
	out := map[bson.ObjectID]tally{}
	for _, r := range rows {
		t := out[r.ID.Member]
		t.points += r.Points
		if r.ID.Cause != CauseRedeem && r.ID.Cause != CauseRefund {
			t.earned += r.Points
		}
		out[r.ID.Member] = t
	}
	return out, nil
}
