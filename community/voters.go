package community

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/store"
)

// Voters sums up who wants an idea: what its voters are worth together, how many of them
// are at risk of leaving and where they are in their relationship with the company. It is
// for product staff only: the API and a member's download never give it out.
//
// A copy is kept on the idea (Idea.Voters) so that staff can sort by it: a vote adds the
// voter's share (as they stand after it) and a withdrawal takes it off, with the write that
// counts the vote, and every hour (RefreshVoterValues) it is worked out again, since
// the voters' values, risks and stages move without votes. A stage its last voter left
// stays at 0. The idea page works it out live (VoterSummary).
type Voters struct {
	// Value is the voters' lifetime values (customers.Value.CLTV) summed, in minor units of
	// Currency, the portal's currency.
	Value    int64  `bson:"value"`
	Currency string `bson:"currency,omitempty"`
	// AtRisk counts the voters on the at-risk list (customers.Risk.AtRisk).
	AtRisk int `bson:"at_risk"`
	// Stages counts the voters per lifecycle stage (customers.Stage).
	Stages map[string]int `bson:"stages"`
	// At is when these figures were worked out (an unchanged summary is not stored again).
	At time.Time `bson:"at"`
}

// StageCount is how many voters are in one stage.
type StageCount struct {
	Stage string
	N     int
}

// StageCounts lists the stages that have voters in the order a relationship goes through
// them (customers.Stages), any other after in name order.
func (v Voters) StageCounts() []StageCount {
	var out []StageCount
	for _, st := range customers.Stages {
		if n := v.Stages[string(st)]; n > 0 {
			out = append(out, StageCount{Stage: string(st), N: n})
		}
	}
	for _, st := range slices.Sorted(maps.Keys(v.Stages)) {
		if n := v.Stages[st]; n > 0 && !slices.Contains(customers.Stages, customers.Stage(st)) {
			out = append(out, StageCount{Stage: st, N: n})
		}
	}
	return out
}

// same reports whether two summaries hold the same figures (whenever worked out).
func (v Voters) same(w Voters) bool {
	count := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, n := range m {
			if n != 0 {
				out[k] = n
			}
		}
		return out
	}
	return v.Value == w.Value && v.Currency == w.Currency && v.AtRisk == w.AtRisk && maps.Equal(count(v.Stages), count(w.Stages))
}

// add counts one voter. A value recorded in another currency than the portal's (before a
// change of currency was repaired) cannot be added to the others and is left out.
func (v *Voters) add(c *customers.Customer) {
	if c.Value.Currency == v.Currency {
		v.Value += c.Value.CLTV
	}
	if c.Risk.AtRisk() {
		v.AtRisk++
	}
	if c.Stage != "" {
		v.Stages[string(c.Stage)]++
	}
}

// VoterSummary works out, live, what an idea's voters are worth, how many are at risk and
// their stages: the idea page's figures for product staff.
func (s *Service) VoterSummary(ctx context.Context, idea bson.ObjectID) (*Voters, error) {
	v, _, err := s.sumVoters(ctx, idea)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// sumVoters walks an idea's votes through the (idea_id, customer_id) index 500 at a time,
// with one query for each batch's customers. It also says how many votes it saw.
func (s *Service) sumVoters(ctx context.Context, idea bson.ObjectID) (Voters, int, error) {
	v := Voters{Currency: s.customers.Currency(), Stages: map[string]int{}}
	votes := 0
	err := s.forVoters(ctx, idea, func(ids []bson.ObjectID) error {
		votes += len(ids)
		people, err := s.customers.GetManyFields(ctx, ids, "value", "risk", "stage") // what add reads
		if err != nil {
			return err
		}
		for _, c := range people {
			v.add(c)
		}
		return nil
	})
	if err != nil {
		return Voters{}, 0, fmt.Errorf("voters of idea %s: %w", idea.Hex(), err)
	}
	v.At = s.now()
	return v, votes, nil
}

// refreshVoters works an idea's summary out again and stores it. The write holds only while
// the idea's vote count is the number of votes summed: a vote cast meanwhile makes it miss,
// and that vote's own refresh stores the figures that count it. It reports whether it
// stored them.
func (s *Service) refreshVoters(ctx context.Context, idea bson.ObjectID) (Voters, bool, error) {
	v, votes, err := s.sumVoters(ctx, idea)
	if err != nil {
		return v, false, err
	}
	res, err := s.ideas.UpdateOne(ctx, bson.M{"_id": idea, "vote_count": votes}, bson.M{"$set": bson.M{"voters": v}})
	if err != nil {
		return v, false, fmt.Errorf("voters of idea %s: %w", idea.Hex(), err)
	}
	return v, res.MatchedCount == 1, nil
}

// RefreshVoterValues works every idea's voter summary out again, a page of ideas at a time
// in _id order, and stores those that changed: customers' values, risks and stages move
// without a vote (the hourly "idea voters" job).
func (s *Service) RefreshVoterValues(ctx context.Context) error {
	var after bson.ObjectID
	for {
		filter := bson.M{}
		if !after.IsZero() {
			filter["_id"] = bson.M{"$gt": after}
		}
		list, err := store.FindAll[Idea](ctx, s.ideas, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(100).
			SetProjection(bson.M{"vote_count": 1, "voters": 1}))
		if err != nil {
			return fmt.Errorf("refresh voters: %w", err)
		}
		for _, idea := range list {
			v, votes, err := s.sumVoters(ctx, idea.ID)
			if err != nil {
				return err
			}
			if v.same(idea.Voters) && !idea.Voters.At.IsZero() {
				continue
			}
			// Guarded as after a vote; a miss is put right by the vote that caused it, or the
			// next run (after the repair has recounted a wrong vote count).
			if _, err := s.ideas.UpdateOne(ctx, bson.M{"_id": idea.ID, "vote_count": votes}, bson.M{"$set": bson.M{"voters": v}}); err != nil {
				return fmt.Errorf("refresh voters: %w", err)
			}
		}
		if len(list) < 100 {
			return nil
		}
		after = list[len(list)-1].ID
	}
}
