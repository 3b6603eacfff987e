package loyalty

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// RepairBalances recomputes every member's balance from the ledger (the sum of their
// entries) and their level, and reports how many balances were wrong. Members whose
// balance is stored but who have no entries are set to zero.
func (s *Service) RepairBalances(ctx context.Context) (int, error) {
	cur, err := s.ledger.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.M{"_id": "$member_id", "points": bson.M{"$sum": "$points"}}}},
	})
	if err != nil {
		return 0, fmt.Errorf("repair balances: %w", err)
	}
	var sums []struct {
		ID     bson.ObjectID `bson:"_id"`
		Points int           `bson:"points"`
	}
	if err := cur.All(ctx, &sums); err != nil {
		return 0, fmt.Errorf("repair balances: %w", err)
	}
	want := map[bson.ObjectID]int{}
	for _, sum := range sums {
		want[sum.ID] = sum.Points
	}
	// Everyone with a balance or entries: those with a balance and no entries go to zero.
	holders, err := s.customers.WithPoints(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range holders {
		if _, ok := want[id]; !ok {
			want[id] = 0
		}
	}
	fixed := 0
	for id, points := range want {
		c, err := s.customers.Get(ctx, id)
		if err != nil {
			continue // an entry of someone gone
		}
		wrong := c.Loyalty.Points != points
		c.Loyalty.Points = points
		level := LevelOf(c, s.now())
		if !wrong && level == c.Loyalty.Level {
			continue
		}
		if wrong {
			fixed++
		}
		if err := s.customers.SetLoyalty(ctx, id, points, level); err != nil {
			return fixed, err
		}
	}
	return fixed, nil
}
