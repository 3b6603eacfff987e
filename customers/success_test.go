package customers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store/storetest"
)

func TestValue_HandComputedAndEachOrderOnce(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if err := s.SetCurrency("usd"); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "value@example.com"})
	p1, p2 := bson.NewObjectID(), bson.NewObjectID()
	first := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	// Three orders over two years: $10.00, $25.50 (two products in one order: 20.00 + 5.50), $4.50.
	buys := []customers.Purchase{
		{ProductID: p1, OrderID: "A", At: first, Amount: 1000},
		{ProductID: p1, OrderID: "B", At: first.AddDate(1, 0, 0), Amount: 2000},
		{ProductID: p2, OrderID: "B", At: first.AddDate(1, 0, 0), Amount: 550},
		{ProductID: p2, OrderID: "C", At: first.AddDate(2, 0, 0), Amount: 450, Currency: "USD"},
	}
	// Each recorded three times, two of them at once: stored once.
	var wg sync.WaitGroup
	for _, p := range buys {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AddPurchase(ctx, c.ID, p); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for _, p := range buys {
		if added, err := s.AddPurchase(ctx, c.ID, p); added || err != nil {
			t.Fatalf("a purchase recorded again was added: %v %v", added, err)
		}
	}
	got, _ := s.Get(ctx, c.ID)
	if len(got.Purchases) != 4 {
		t.Fatalf("%d purchases on the record, want 4", len(got.Purchases))
	}
	v := got.Value
	// Total 4000 cents over 3 orders: average 1333; 3 orders over 2 years = 1.5 a year
	// (two years of 365 days: 730); CLTV = 1333 × 3/(730/365.25) × 3 = 6003.
	years := 730.0 / 365.25
	want := int64(math.Round(1333 * (3 / years) * 3))
	if v.Total != 4000 || v.Orders != 3 || v.AverageOrder() != 1333 || v.CLTV != want || v.Currency != "USD" {
		t.Fatalf("value %+v (average %d), want total 4000, 3 orders, average 1333, CLTV %d", v, v.AverageOrder(), want)
	}
	// One order yesterday counts as one a year: 3 × the order.
	d, _ := s.Create(ctx, customers.NewCustomer{Email: "once@example.com"})
	s.AddPurchase(ctx, d.ID, customers.Purchase{ProductID: p1, OrderID: "X", At: time.Now().Add(-24 * time.Hour), Amount: 1999})
	if got, _ := s.Get(ctx, d.ID); got.Value.CLTV != 3*1999 {
		t.Fatalf("one order: CLTV %d, want %d", got.Value.CLTV, 3*1999)
	}
	// Another currency is refused with a message naming the portal's.
	_, err := s.AddPurchase(ctx, d.ID, customers.Purchase{ProductID: p1, OrderID: "Y", Amount: 1, Currency: "EUR"})
	var f *errs.Fields
	if !errors.As(err, &f) || f.ByName["currency"].ID != "field.currency" {
		t.Fatalf("a purchase in EUR: %v", err)
	}
}

func TestRecompute_NewWeightsAsByHandResumable(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	at := time.Now().UTC().Add(-time.Hour)
	var people []*customers.Customer
	for i := range 5 {
		c, _ := s.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("w%d@example.com", i)})
		people = append(people, c)
		// NPS 2 (20) and a 5-star review (100) at the same moment.
		if err := s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalNPS, fmt.Sprint("n", i), 2, at)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordSignal(ctx, customers.ReviewSignal(c.ID, fmt.Sprint("r", i), 5, at)); err != nil {
			t.Fatal(err)
		}
	}
	// §4's weights: (3·20 + 2·100)/5 = 52.
	if c, _ := s.Get(ctx, people[0].ID); c.Satisfaction.Score != 52 {
		t.Fatalf("score with the default weights: %d, want 52", c.Satisfaction.Score)
	}
	st := customers.DefaultScoreSettings()
	st.Weights[customers.SignalNPS], st.Weights[customers.SignalReview] = 1, 3
	pv, err := s.PreviewScoreSettings(ctx, st)
	if err != nil || pv.Sample != 5 || pv.Before[customers.BandNeutral] != 5 || pv.After[customers.BandSatisfied] != 5 || pv.Moved != 5 {
		t.Fatalf("preview %+v, %v", pv, err)
	}
	if err := s.SaveScoreSettings(ctx, st, bson.NewObjectID()); err != nil {
		t.Fatal(err)
	}
	bad := st
	bad.HalfLifeDays = 1
	var f *errs.Fields
	if err := s.SaveScoreSettings(ctx, bad, bson.NewObjectID()); !errors.As(err, &f) || f.ByName["half_life_days"].ID == "" {
		t.Fatalf("a half-life of one day: %v", err)
	}
	// Batches of 200: one step does everything here; the progress says so and a further step
	// does nothing.
	more, err := s.RecomputeStep(ctx)
	if err != nil || more {
		t.Fatalf("step: more %v, %v", more, err)
	}
	p, _ := s.Progress(ctx)
	if p.Running() || p.Done != 5 {
		t.Fatalf("progress %+v", p)
	}
	// (1·20 + 3·100)/4 = 80.
	for _, c := range people {
		got, _ := s.Get(ctx, c.ID)
		if got.Satisfaction.Score != 80 || got.Satisfaction.Band != customers.BandSatisfied {
			t.Fatalf("recomputed score %d, want 80", got.Satisfaction.Score)
		}
	}
	// A new signal after the change is weighed the new way too: CSAT 1 (0) weighs 2:
	// (20 + 300 + 0)/(1 + 3 + 2) = 53.3.
	s.RecordSignal(ctx, customers.SurveySignal(people[1].ID, customers.SignalCSAT, "c1", 1, at.Add(time.Minute)))
	if got, _ := s.Get(ctx, people[1].ID); got.Satisfaction.Score != 53 {
		t.Fatalf("a new signal: %d, want 53", got.Satisfaction.Score)
	}
}

func TestRisk_ReasonsOnHandMadeHistories(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	due := now.Add(-time.Hour)
	base := func() *customers.Customer {
		return &customers.Customer{CreatedAt: now.AddDate(-1, 0, 0), LastActiveAt: now.AddDate(0, 0, -2),
			Counters: customers.Counters{Posts: 40}, Satisfaction: customers.Satisfaction{NPS: -1}}
	}
	keys := func(r customers.Risk) string {
		s := ""
		for _, why := range r.Reasons {
			s += fmt.Sprintf("%s(%d) ", why.Key, why.N)
		}
		return s
	}
	for _, c := range []struct {
		name  string
		make  func(*customers.Customer)
		stage customers.Stage
		want  string
		score int
	}{
		{"a happy regular", func(c *customers.Customer) {
			c.Satisfaction = customers.Satisfaction{W: 1, Score: 85, Band: customers.BandSatisfied, NPS: 10, NPSCat: customers.NPSPromoter}
		}, customers.StageCommitment, "", 0},
		// The case the issue names: a detractor in dissolution with a score of 52 is at risk, with words.
		{"a detractor in dissolution scoring 52", func(c *customers.Customer) {
			c.Satisfaction = customers.Satisfaction{W: 1, Score: 52, Band: customers.BandNeutral, NPS: 3, NPSCat: customers.NPSDetractor}
		}, customers.StageDissolution, "detractor(3) dissolution(0) ", 60},
		{"a score that fell 20 points in 30 days", func(c *customers.Customer) {
			c.Satisfaction = customers.Satisfaction{W: 1, Score: 55, Band: customers.BandNeutral, NPS: -1}
			c.ScoreTrail = []customers.ScorePoint{{At: now.AddDate(0, 0, -60), Score: 80}, {At: now.AddDate(0, 0, -40), Score: 75}, {At: now.AddDate(0, 0, -3), Score: 55}}
		}, customers.StageExpansion, "score_fell(20) ", 20},
		{"silent three times longer than usual", func(c *customers.Customer) {
			// 12 contributions over the 200 days before going quiet 100 days ago: usually every ~8 days.
			c.CreatedAt, c.LastActiveAt = now.AddDate(0, 0, -300), now.AddDate(0, 0, -100)
			c.Counters = customers.Counters{Posts: 12}
		}, customers.StageExploration, "silent(100) ", 20},
		{"a rare visitor away as long as usual", func(c *customers.Customer) {
			c.CreatedAt, c.LastActiveAt = now.AddDate(-2, 0, 0), now.AddDate(0, 0, -100)
			c.Counters = customers.Counters{Posts: 3}
		}, customers.StageExploration, "", 0},
		{"low score, negative words, an overdue follow-up", func(c *customers.Customer) {
			c.Satisfaction = customers.Satisfaction{W: 1, Score: 30, Band: customers.BandAtRisk, NPS: -1}
			c.Mood = customers.Mood{S: 2 * 20, W: 2, N: 2}
			c.FollowUps = customers.FollowUps{Open: 1, Due: &due}
		}, customers.StageDissolution, "dissolution(0) low_score(30) negative_sentiment(0) overdue_followup(1) ", 75},
	} {
		m := base()
		c.make(m)
		r := customers.AssessRisk(m, c.stage, now, 15)
		if got := keys(r); got != c.want || r.Score != c.score {
			t.Errorf("%s: risk %d with %q, want %d with %q", c.name, r.Score, got, c.score, c.want)
		}
		if r.AtRisk() != (c.score >= customers.AtRiskFrom) || (r.Rank > 0) != r.AtRisk() {
			t.Errorf("%s: at risk %v rank %v", c.name, r.AtRisk(), r.Rank)
		}
	}
	// Of two customers as much at risk, the one worth more ranks first.
	a, b := base(), base()
	for _, m := range []*customers.Customer{a, b} {
		m.Satisfaction = customers.Satisfaction{W: 1, Score: 20, Band: customers.BandAtRisk, NPS: 2, NPSCat: customers.NPSDetractor}
	}
	b.Value = customers.Value{Currency: "IDR", CLTV: 450000}
	ra, rb := customers.AssessRisk(a, customers.StageDissolution, now, 15), customers.AssessRisk(b, customers.StageDissolution, now, 15)
	if ra.Score != rb.Score || rb.Rank <= ra.Rank {
		t.Fatalf("rank by value: %v vs %v", ra, rb)
	}
}

// Records from before the purchases collection could hold a purchase twice, in main units:
// the repair stores each once, in minor units of the portal's currency, and rebuilds the value.
func TestRepair_OldDuplicatePurchasesBecomeOne(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "old@example.com"})
	p := bson.NewObjectID()
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	old := bson.M{"product_id": p, "order_id": "SO-9", "key": "SO-9/" + p.Hex(), "at": at, "amount": 125000.0}
	// Older still: no key at all, and a document stored under the empty key.
	older := bson.M{"product_id": p, "order_id": "SO-10", "at": at, "amount": 5000.0}
	if _, err := db.Collection("customers").UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$set": bson.M{"purchases": bson.A{old, old, old, older}}}); err != nil {
		t.Fatal(err)
	}
	db.Collection("purchases").InsertOne(ctx, bson.M{"_id": c.ID.Hex() + "/", "customer_id": c.ID, "product_id": p, "order_id": "SO-10", "key": "", "at": at, "amount": 5000.0})
	if _, err := s.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, c.ID)
	if len(got.Purchases) != 2 || got.Purchases[0].Amount != 125000 || got.Purchases[0].Currency != "IDR" ||
		got.Value.Total != 130000 || got.Value.Orders != 2 || got.Value.CLTV != 390000 {
		t.Fatalf("after repair: %+v, value %+v", got.Purchases, got.Value)
	}
	if n, _ := db.Collection("purchases").CountDocuments(ctx, bson.M{"customer_id": c.ID}); n != 2 {
		t.Fatalf("%d purchase documents", n)
	}
}

// Signals recorded while replays run beside them (an edit, the recompute) are each counted
// once: the record always equals a replay of the stored signals.
func TestSignals_CountedOnceBesideReplays(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "busy@example.com"})
	at := time.Now().UTC().Add(-time.Hour)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalCSAT, fmt.Sprint("c", i), 1+i%5, at.Add(time.Duration(i)*time.Minute))); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.RecomputeSatisfaction(ctx, c.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, c.ID)
	signals, _ := s.Signals(ctx, c.ID)
	want := customers.DefaultScoreSettings().Replay(signals).Satisfaction
	if got.Satisfaction.Signals != 12 || got.Satisfaction.Score != want.Score || math.Abs(got.Satisfaction.W-want.W) > 1e-9 {
		t.Fatalf("record %d signals, score %d, W %v; replay %d, %d, %v", got.Satisfaction.Signals, got.Satisfaction.Score, got.Satisfaction.W,
			want.Signals, want.Score, want.W)
	}
}

// assertReplayed fails unless the customer's record holds what a replay of their stored
// signals gives: the score's sums, the trail, the mood and the latest NPS.
func assertReplayed(t *testing.T, s *customers.Service, id bson.ObjectID, when string) {
	t.Helper()
	ctx := context.Background()
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	signals, err := s.Signals(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := st.Replay(signals)
	g, w := got.Satisfaction, want.Satisfaction
	if g.Signals != w.Signals || g.Score != w.Score || math.Abs(g.S-w.S) > 1e-6 || math.Abs(g.W-w.W) > 1e-9 ||
		!g.T0.Equal(w.T0) || g.Stored != w.Stored || g.NPS != w.NPS || g.NPSCat != w.NPSCat || g.Band != w.Band || g.Settings != w.Settings {
		t.Fatalf("%s: record %+v, replay %+v", when, g, w)
	}
	if got.Mood.N != want.Mood.N || math.Abs(got.Mood.S-want.Mood.S) > 1e-6 || math.Abs(got.Mood.W-want.Mood.W) > 1e-9 || !got.Mood.T0.Equal(want.Mood.T0) {
		t.Fatalf("%s: mood %+v, replay %+v", when, got.Mood, want.Mood)
	}
	if len(got.ScoreTrail) != len(want.Trail) {
		t.Fatalf("%s: trail of %d points, replay %d", when, len(got.ScoreTrail), len(want.Trail))
	}
	for i := range want.Trail {
		g, w := got.ScoreTrail[i], want.Trail[i]
		if g.Score != w.Score || !g.At.Equal(w.At) || math.Abs(g.S-w.S) > 1e-6 || math.Abs(g.W-w.W) > 1e-9 {
			t.Fatalf("%s: trail %v, replay %v", when, got.ScoreTrail, want.Trail)
		}
	}
}

// A member's new signal is added to their record without reading their others (an active
// member has hundreds), also one that arrives after later ones (a reply's sentiment after
// the member's next review); an edit, or a signal older than the trail the record keeps,
// replays them. Either way the record is what a replay gives.
func TestSignals_ANewSignalIsAddedWithoutReadingTheHistory(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "active@example.com"})
	base := time.Now().UTC().Add(-100 * 24 * time.Hour).Truncate(time.Millisecond)
	day := func(d float64) time.Time { return base.Add(time.Duration(d * float64(24*time.Hour))) }
	replays := func() int {
		n := 0
		for _, cmd := range storetest.Commands(db) {
			if cmd.Name == "find" && cmd.Collection == "signals" && cmd.Filter.Lookup("customer_id").Type != 0 {
				n++
			}
		}
		return n
	}
	record := func(sig customers.Signal, replayed bool, what string) {
		t.Helper()
		if err := s.RecordSignal(ctx, sig); err != nil {
			t.Fatal(err)
		}
		if n := replays(); replayed != (n > 0) {
			t.Fatalf("%s: the history was read %d times", what, n)
		}
		assertReplayed(t, s, c.ID, what)
		storetest.Commands(db) // not the replay the check read
	}
	for i := range 40 { // past the trail's length
		what := fmt.Sprint("signal ", i)
		switch i % 4 {
		case 0:
			record(customers.SurveySignal(c.ID, customers.SignalNPS, fmt.Sprint("n", i), i%11, day(float64(i))), false, what)
		case 1:
			record(customers.SentimentSignal(c.ID, fmt.Sprint("p", i), float64(i%5)/2-1, day(float64(i))), false, what)
		case 2:
			record(customers.ReviewSignal(c.ID, fmt.Sprint("r", i), 1+i%5, day(float64(i))), false, what)
		default:
			record(customers.SurveySignal(c.ID, customers.SignalCES, fmt.Sprint("e", i), 1+i%7, day(float64(i))), false, what)
		}
	}
	record(customers.ReviewSignal(c.ID, "late", 1, day(36.5)), false, "a signal after later ones")
	record(customers.SentimentSignal(c.ID, "later", 0.9, day(20.25)), false, "another, further back")
	record(customers.SurveySignal(c.ID, customers.SignalNPS, "old", 2, day(33.5)), false, "an NPS answer older than the latest")
	record(customers.ReviewSignal(c.ID, "older", 5, day(3.5)), true, "a signal older than the trail")
	record(customers.ReviewSignal(c.ID, "tie", 4, day(38)), false, "a signal as old as another")
	record(customers.ReviewSignal(c.ID, "r2", 5, day(2)), true, "an edited signal")
}

// A signal withdrawn (its review hidden) between being stored and being counted is not
// counted: the withdrawal's replay has left it out, and it stays out.
func TestSignals_WithdrawnBeforeItIsCounted(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "racing@example.com"})
	at := time.Now().UTC().Add(-time.Hour)
	if err := s.RecordSignal(ctx, customers.ReviewSignal(c.ID, "kept", 5, at)); err != nil {
		t.Fatal(err)
	}
	s.AfterStored(func(signals []customers.Signal) {
		if err := s.WithdrawSignal(ctx, signals[0].ID); err != nil {
			t.Error(err)
		}
	})
	if err := s.RecordSignal(ctx, customers.ReviewSignal(c.ID, "hidden", 1, at.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	assertReplayed(t, s, c.ID, "after the withdrawal")
	if got, _ := s.Get(ctx, c.ID); got.Satisfaction.Signals != 1 {
		t.Fatalf("%d signals counted, want the one kept", got.Satisfaction.Signals)
	}
}

// A signal withdrawn and stored again (a review hidden and shown again) between its first
// store and its count is counted once, as stored last.
func TestSignals_WithdrawnAndStoredAgainBeforeItIsCounted(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "again@example.com"})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	s.AfterStored(func(signals []customers.Signal) {
		if err := s.WithdrawSignal(ctx, signals[0].ID); err != nil {
			t.Error(err)
		}
		again := customers.ReviewSignal(c.ID, "shown-again", 5, at) // stored, not yet counted
		again.Stored = bson.NewObjectID()
		if _, err := db.Collection("signals").InsertOne(ctx, again); err != nil {
			t.Error(err)
		}
	})
	if err := s.RecordSignal(ctx, customers.ReviewSignal(c.ID, "shown-again", 1, at)); err != nil {
		t.Fatal(err)
	}
	assertReplayed(t, s, c.ID, "after the second store")
	if got, _ := s.Get(ctx, c.ID); got.Satisfaction.Signals != 1 || got.Satisfaction.Score != 100 {
		t.Fatalf("%d signals counted, score %d; want the one stored last, 100", got.Satisfaction.Signals, got.Satisfaction.Score)
	}
}

// With a kind weighed at nothing, a weighed signal older than it gives it a point in the
// trail, as a replay does; and an instance whose cache still holds the settings a record
// was recomputed away from replays it with the new ones.
func TestSignals_KindsWeighedAtNothingAndNewSettings(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "quiet@example.com"})
	st := customers.DefaultScoreSettings()
	st.Weights[customers.SignalSentiment] = 0
	if err := s.SaveScoreSettings(ctx, st, bson.NewObjectID()); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Millisecond)
	record := func(sig customers.Signal, what string) {
		t.Helper()
		if err := s.RecordSignal(ctx, sig); err != nil {
			t.Fatal(err)
		}
		assertReplayed(t, s, c.ID, what)
	}
	record(customers.SentimentSignal(c.ID, "p1", 0.5, at.Add(10*24*time.Hour)), "a text weighed at nothing")
	record(customers.ReviewSignal(c.ID, "r1", 4, at.Add(5*24*time.Hour)), "an older review")
	record(customers.SentimentSignal(c.ID, "p2", -0.5, at.Add(12*24*time.Hour)), "a later text")
	if got, _ := s.Get(ctx, c.ID); len(got.ScoreTrail) != 3 {
		t.Fatalf("trail of %d points, want 3", len(got.ScoreTrail))
	}
	// Another instance has the old settings in its cache when new ones are saved.
	other := customers.NewService(db, []string{"en", "id"})
	if _, err := other.ScoreSettings(ctx); err != nil {
		t.Fatal(err)
	}
	st.Weights[customers.SignalSentiment] = 2
	if err := s.SaveScoreSettings(ctx, st, bson.NewObjectID()); err != nil {
		t.Fatal(err)
	}
	for more := true; more; {
		var err error
		if more, err = s.RecomputeStep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.RecordSignal(ctx, customers.SentimentSignal(c.ID, "p3", 0.9, at.Add(14*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	assertReplayed(t, s, c.ID, "a text counted by an instance with the old settings")
}

// A batch of signals (the insights feed's texts) is counted with one write per member, each
// record as a replay gives it; every signal is told to the watchers; a member who is gone
// is skipped.
func TestRecordSignals_OneWritePerMember(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	told := 0
	s.Watch(func(_ context.Context, e customers.Event) error {
		if e.Signal != nil {
			told++
		}
		return nil
	})
	ana, _ := s.Create(ctx, customers.NewCustomer{Email: "ana@example.com"})
	budi, _ := s.Create(ctx, customers.NewCustomer{Email: "budi@example.com"})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	if err := s.RecordSignal(ctx, customers.ReviewSignal(ana.ID, "first", 4, at)); err != nil {
		t.Fatal(err)
	}
	storetest.Commands(db)
	told = 0
	var batch []customers.Signal
	for i, minutes := range []int{9, 3, 7, 1, 5} { // not in time order
		batch = append(batch, customers.SentimentSignal(ana.ID, fmt.Sprint("a", i), float64(i)/3-0.6, at.Add(time.Duration(minutes)*time.Minute)))
	}
	batch = append(batch, customers.SentimentSignal(bson.NewObjectID(), "gone", 0.5, at),
		customers.SentimentSignal(budi.ID, "b1", 0.8, at.Add(2*time.Minute)), customers.SentimentSignal(budi.ID, "b2", -0.4, at.Add(time.Minute)))
	if err := s.RecordSignals(ctx, batch); err != nil {
		t.Fatal(err)
	}
	writes, commands := map[string]int{}, 0
	for _, cmd := range storetest.Commands(db) {
		if cmd.Collection == "customers" && cmd.Name == "update" {
			commands++
			for _, q := range cmd.Updates {
				writes[q.Lookup("_id").ObjectID().Hex()]++
			}
		}
	}
	if writes[ana.ID.Hex()] != 1 || writes[budi.ID.Hex()] != 1 || len(writes) != 2 || commands != 1 {
		t.Errorf("record writes by member: %v, in %d commands, want one each in one", writes, commands)
	}
	if told != 7 {
		t.Errorf("the watchers were told of %d signals, want 7", told)
	}
	assertReplayed(t, s, ana.ID, "ana's batch")
	assertReplayed(t, s, budi.ID, "budi's batch")

	// A batch with an edited text replays.
	if err := s.RecordSignals(ctx, []customers.Signal{customers.SentimentSignal(ana.ID, "a9", 0.1, at.Add(20*time.Minute)),
		customers.SentimentSignal(ana.ID, "a1", 0.9, at.Add(3*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	assertReplayed(t, s, ana.ID, "a batch with an edit")
	if got, _ := s.Get(ctx, ana.ID); got.Satisfaction.Signals != 7 {
		t.Errorf("%d signals counted, want 7", got.Satisfaction.Signals)
	}
}

// The daily repair rewrites only what is wrong: a second repair of members whose records are
// right writes no record and inserts no purchase; one whose score was damaged is put right.
func TestRepair_WritesOnlyWhatDiffers(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	at := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Millisecond)
	var members []bson.ObjectID
	for i := range 3 {
		c, err := s.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("m%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, c.ID)
		for j := range 3 {
			if err := s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalCSAT, fmt.Sprint("r", i, j), 1+(i+j)%5, at.Add(time.Duration(j)*time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		p := customers.Purchase{ProductID: bson.NewObjectID(), OrderID: fmt.Sprint("SO-", i), At: at, Amount: 50000, Currency: "IDR"}
		if _, err := s.AddPurchase(ctx, c.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() (records, purchases int) {
		for _, cmd := range storetest.Commands(db) {
			switch {
			case cmd.Collection == "customers" && (cmd.Name == "findAndModify" || cmd.Name == "update"):
				records++
			case cmd.Collection == "purchases" && (cmd.Name == "insert" || cmd.Name == "update" || cmd.Name == "delete"):
				purchases++
			}
		}
		return records, purchases
	}
	if _, err := s.Repair(ctx); err != nil { // the first may align what the quick path summed
		t.Fatal(err)
	}
	storetest.Commands(db)
	if _, err := s.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	// One update per kind of staff flag, which names no member and changes none.
	if records, purchases := writes(); records != 2 || purchases != 3 { // 3: the deletes of keyless copies, which match none
		t.Errorf("a repair of right records wrote %d record updates and %d purchase writes", records, purchases)
	}
	// A damaged score, and a purchase document lost, are put right.
	if _, err := db.Collection("customers").UpdateOne(ctx, bson.M{"_id": members[1]}, bson.M{"$set": bson.M{"satisfaction.score": 3, "mood.label": "odd"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("purchases").DeleteMany(ctx, bson.M{"customer_id": members[2]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		assertReplayed(t, s, id, "after the repair")
	}
	if n, _ := db.Collection("purchases").CountDocuments(ctx, bson.M{"customer_id": members[2]}); n != 1 {
		t.Errorf("the lost purchase document: %d after the repair", n)
	}
}

// Signals of several customers at once — some new, one an edit of a signal counted before —
// are counted on each record as a replay would count them, with one write per record: the
// signals stored together and the records read together.
func TestSignals_ManyCustomersAtOnce(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var ids []bson.ObjectID
	for _, email := range []string{"first@example.com", "edits@example.com", "third@example.com", "fourth@example.com"} {
		c, err := s.Create(ctx, customers.NewCustomer{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := s.RecordSignal(ctx, customers.ReviewSignal(ids[1], "edited", 1, at)); err != nil {
		t.Fatal(err)
	}
	storetest.Commands(db)
	err := s.RecordSignals(ctx, []customers.Signal{
		customers.SentimentSignal(ids[0], "a", 0.5, at),
		customers.ReviewSignal(ids[1], "edited", 5, at), // replaces the one counted: replayed
		customers.SentimentSignal(ids[2], "c", -0.5, at),
		customers.SentimentSignal(ids[0], "a2", 1, at.Add(time.Minute)),
		customers.SentimentSignal(ids[3], "d", 0, at),
		customers.SentimentSignal(bson.NewObjectID(), "gone", 0, at), // a member since erased: skipped
	})
	if err != nil {
		t.Fatal(err)
	}
	writes, commands := 0, 0
	for _, c := range storetest.Commands(db) {
		switch {
		case c.Collection != "customers":
		case c.Name == "update":
			commands++
			writes += len(c.Updates)
		case c.Name == "findAndModify":
			commands++
			writes++
		}
	}
	// One for each record the new signals were folded into, all in one command, and one
	// for the replayed edit.
	if writes != 4 || commands != 2 {
		t.Errorf("%d writes of customers' records in %d commands, want 4 in 2", writes, commands)
	}
	for i, id := range ids {
		assertReplayed(t, s, id, fmt.Sprintf("customer %d", i))
	}
	want := []int{2, 1, 1, 1}
	for i, id := range ids {
		if got, _ := s.Get(ctx, id); got.Satisfaction.Signals != want[i] {
			t.Errorf("customer %d: %d signals counted, want %d", i, got.Satisfaction.Signals, want[i])
		}
	}
	if err := s.RecordSignal(ctx, customers.SentimentSignal(bson.NewObjectID(), "gone", 0, at)); !errors.Is(err, customers.ErrNotFound) {
		t.Errorf("one signal of a member who is gone: %v, want ErrNotFound", err)
	}
}

// A batch whose records are written in one command, one of them changed since it was read:
// the others are counted as written, the changed one read again and counted once, and the
// watchers are told each record exactly as it was stored.
func TestSignals_BatchWithARecordChangedMeanwhile(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var ids []bson.ObjectID
	for _, email := range []string{"one@example.com", "changed@example.com", "three@example.com"} {
		c, err := s.Create(ctx, customers.NewCustomer{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	told := map[bson.ObjectID]*customers.Customer{}
	s.Watch(func(_ context.Context, e customers.Event) error {
		told[e.Customer.ID] = e.Customer
		return nil
	})
	s.BeforeFold(func() {
		if err := s.Contributed(ctx, ids[1], "posts", bson.ObjectID{}); err != nil {
			t.Error(err)
		}
	})
	var batch []customers.Signal
	for i, id := range ids {
		batch = append(batch, customers.SentimentSignal(id, fmt.Sprint("s", i), 0.9-float64(i), at.Add(time.Duration(i)*time.Minute)),
			customers.SentimentSignal(id, fmt.Sprint("t", i), -0.5, at.Add(time.Duration(i+5)*time.Minute)))
	}
	if err := s.RecordSignals(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		assertReplayed(t, s, id, fmt.Sprintf("customer %d", i))
		got, _ := s.Get(ctx, id)
		if got.Satisfaction.Signals != 2 {
			t.Errorf("customer %d: %d signals counted, want 2", i, got.Satisfaction.Signals)
		}
		if i == 1 && got.Counters.Posts != 1 {
			t.Errorf("the contribution made meanwhile: %d posts counted, want 1", got.Counters.Posts)
		}
		stored, _ := bson.Marshal(got)
		if seen, _ := bson.Marshal(told[id]); string(seen) != string(stored) {
			t.Errorf("customer %d: the watchers were told %+v, but the record stored is %+v", i, told[id], got)
		}
	}
}

// The record a batch's write is taken to have made is the one stored: a field set replaces
// the field whole, as $set does (a risk whose reasons are gone has none, a satisfaction
// without a band has none), the version moves on, and a stage move is appended to the history.
func TestApplied_AsTheDatabaseStoresIt(t *testing.T) {
	ctx := context.Background()
	s, db := newServiceOn(t)
	c, err := s.Create(ctx, customers.NewCustomer{Email: "applied@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	if _, err := db.Collection("customers").UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$set": bson.M{
		"risk":         customers.Risk{Score: 40, Reasons: []customers.RiskReason{{Key: "low_score", N: 20}}, Trend: -5},
		"satisfaction": customers.Satisfaction{Score: 20, Band: "at_risk", W: 1, Signals: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, c.ID)
	set := map[string]any{"risk": customers.Risk{Score: 0, Trend: 3}, "satisfaction": customers.Satisfaction{Score: 0, Signals: 0},
		"last_active_at": at, "signals_batch": bson.NewObjectID()}
	moved := &customers.StageChange{From: before.Stage, To: customers.StageExploration, Cause: "test", At: at}
	got, err := customers.Applied(before, set, moved)
	if err != nil {
		t.Fatal(err)
	}
	update := bson.M{"$set": set, "$inc": bson.M{"version": 1}, "$push": bson.M{"stage_history": moved}}
	if _, err := db.Collection("customers").UpdateOne(ctx, bson.M{"_id": c.ID}, update); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Get(ctx, c.ID)
	want, _ := bson.Marshal(stored)
	if b, _ := bson.Marshal(got); string(b) != string(want) {
		t.Errorf("applied %+v\nstored  %+v", got, stored)
	}
	if len(got.Risk.Reasons) != 0 || got.Satisfaction.Band != "" || got.Version != before.Version+1 || len(got.StageHistory) != len(before.StageHistory)+1 {
		t.Errorf("applied: risk %+v, band %q, version %d, history %d", got.Risk, got.Satisfaction.Band, got.Version, len(got.StageHistory))
	}
}
