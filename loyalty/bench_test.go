package loyalty_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/loyalty"
)

// BenchmarkReward is what a contribution pays for its points: the ledger entry, its
// transition, the caps, the balance, the leaderboards, the badge count and the level.
func BenchmarkReward(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	ayu, budi := e.person("ayu"), e.person("budi")
	b.ResetTimer()
	for i := range b.N {
		e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Actor: budi.ID, Cause: content.CauseHelpful,
			Ref: fmt.Sprint("r", i), Product: bson.NewObjectID()}, true)
	}
}

// BenchmarkLeaderboard reads the top 20 of a month and of all time when 5,000 members have
// 100,000 ledger entries between them (their standings written as the service would).
func BenchmarkLeaderboard(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	const members, entries = 5000, 100_000
	ids := make([]bson.ObjectID, members)
	for i := range 50 { // real people for the top; the rest only standings
		ids[i] = e.person(fmt.Sprint("m", i)).ID
	}
	for i := 50; i < members; i++ {
		ids[i] = bson.NewObjectID()
	}
	month := loyalty.MonthOf(e.clock)
	points := map[bson.ObjectID]int{}
	var ledger []any
	for i := range entries {
		m := ids[(i*7919)%members]
		points[m] += 1 + i%15
		ledger = append(ledger, loyalty.Entry{ID: fmt.Sprint("bench:", i, ":1"), MemberID: m, Cause: content.CauseLike,
			Ref: fmt.Sprint(i), Points: 1 + i%15, At: e.clock})
	}
	if err := insertMany(ctx, e, "points", ledger); err != nil {
		b.Fatal(err)
	}
	var standings []any
	for m, p := range points {
		for _, period := range []string{loyalty.PeriodAll, month} {
			standings = append(standings, bson.M{"_id": period + ":all:" + m.Hex(), "period": period, "scope": "all", "member_id": m, "points": p})
		}
	}
	if err := insertMany(ctx, e, "standings", standings); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.loyalty.Leaderboard(ctx, month, loyalty.ScopeAll, 20); err != nil {
			b.Fatal(err)
		}
	}
}

func insertMany(ctx context.Context, e *env, coll string, docs []any) error {
	for len(docs) > 0 {
		n := min(len(docs), 5000)
		if _, err := e.db.Collection(coll).InsertMany(ctx, docs[:n]); err != nil {
			return err
		}
		docs = docs[n:]
	}
	return nil
}
