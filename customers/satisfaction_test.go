package customers_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func TestScore_HandComputed(t *testing.T) {
	id := bson.NewObjectID()
	nps9 := customers.SurveySignal(id, customers.SignalNPS, "r1", 9, t0)
	if nps9.Value != 90 || nps9.Weight != 3 {
		t.Fatalf("NPS 9 → %v weight %v, want 90 weight 3", nps9.Value, nps9.Weight)
	}
	s := customers.Recompute([]customers.Signal{nps9})
	if s.Score != 90 || s.Band != customers.BandSatisfied || s.NPSCat != customers.NPSPromoter {
		t.Fatalf("one NPS 9: %+v", s)
	}
	// A 5-star review (100, weight 2) and, 90 days later, a CSAT of 1 (0, weight 2): the
	// review now weighs half. S = 100·2·½ = 100, W = 2·½ + 2 = 3, score = round(33.3) = 33.
	review := customers.ReviewSignal(id, "r", 5, t0)
	csat := customers.SurveySignal(id, customers.SignalCSAT, "c", 1, t0.Add(90*day))
	s = customers.Recompute([]customers.Signal{review, csat})
	if math.Abs(s.S-100) > 1e-9 || math.Abs(s.W-3) > 1e-9 || s.Score != 33 || s.Band != customers.BandAtRisk {
		t.Fatalf("decay over 90 days: S=%v W=%v score=%d band=%s", s.S, s.W, s.Score, s.Band)
	}
	// The same two signals arriving in the other order give the same score.
	r := customers.Recompute([]customers.Signal{csat, review})
	if r.Score != s.Score || math.Abs(r.S/r.W-s.S/s.W) > 1e-9 {
		t.Fatalf("order of arrival changed the result: %v vs %v", r.S/r.W, s.S/s.W)
	}
	// CES 1 (effortless) → 100, CES 7 → 0; sentiment −1 → 0, 1 → 100.
	for _, c := range []struct {
		sig  customers.Signal
		want float64
	}{
		{customers.SurveySignal(id, customers.SignalCES, "e1", 1, t0), 100},
		{customers.SurveySignal(id, customers.SignalCES, "e7", 7, t0), 0},
		{customers.SurveySignal(id, customers.SignalCSAT, "c5", 5, t0), 100},
		{customers.SentimentSignal(id, "s", -1, t0), 0},
		{customers.SentimentSignal(id, "s", 1, t0), 100},
		{customers.ReviewSignal(id, "r3", 3, t0), 50},
	} {
		if c.sig.Value != c.want {
			t.Errorf("%s raw %v → %v, want %v", c.sig.Kind, c.sig.Raw, c.sig.Value, c.want)
		}
	}
}

func TestScore_IncrementalEqualsRecomputeWhateverTheOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	id := bson.NewObjectID()
	var signals []customers.Signal
	for i := range 60 {
		at := t0.Add(time.Duration(r.IntN(400)) * day)
		switch i % 3 {
		case 0:
			signals = append(signals, customers.SurveySignal(id, customers.SignalNPS, string(rune(i)), r.IntN(11), at))
		case 1:
			signals = append(signals, customers.ReviewSignal(id, string(rune(i)), 1+r.IntN(5), at))
		default:
			signals = append(signals, customers.SurveySignal(id, customers.SignalCES, string(rune(i)), 1+r.IntN(7), at))
		}
	}
	want := customers.Recompute(signals)
	for range 5 {
		r.Shuffle(len(signals), func(i, j int) { signals[i], signals[j] = signals[j], signals[i] })
		got := customers.Recompute(signals)
		if got.Score != want.Score || math.Abs(got.S/got.W-want.S/want.W) > 1e-9 || got.NPS != want.NPS {
			t.Fatalf("shuffled: %v (%d) vs %v (%d)", got.S/got.W, got.Score, want.S/want.W, want.Score)
		}
	}
}

func TestNPSCategories(t *testing.T) {
	for answer := 0; answer <= 10; answer++ {
		want := customers.NPSDetractor
		if answer >= 9 {
			want = customers.NPSPromoter
		} else if answer >= 7 {
			want = customers.NPSPassive
		}
		if got := customers.NPSCategory(answer); got != want {
			t.Errorf("NPS %d: %s, want %s", answer, got, want)
		}
	}
}

func TestNextStage_EachRule(t *testing.T) {
	now := t0.Add(365 * day)
	happy := customers.Recompute([]customers.Signal{customers.ReviewSignal(bson.NewObjectID(), "r", 5, now)})
	unhappy := customers.Recompute([]customers.Signal{customers.ReviewSignal(bson.NewObjectID(), "r", 1, now)})
	detractor := customers.Recompute([]customers.Signal{customers.ReviewSignal(bson.NewObjectID(), "r", 5, now),
		customers.SurveySignal(bson.NewObjectID(), customers.SignalNPS, "n", 3, now)})
	reached := now.Add(-300 * day)
	tests := []struct {
		name    string
		current customers.Stage
		facts   customers.Facts
		want    customers.Stage
	}{
		{"registered only", customers.StageAwareness, customers.Facts{Now: now, LastActive: now}, customers.StageAwareness},
		{"posted or voted", customers.StageAwareness, customers.Facts{Contributions: 2, Now: now, LastActive: now}, customers.StageExploration},
		{"a purchase", customers.StageExploration, customers.Facts{Purchases: 1, Products: 1, Now: now, LastActive: now}, customers.StageExpansion},
		{"a review", customers.StageAwareness, customers.Facts{Reviews: 1, Products: 1, Satisfaction: happy, Now: now, LastActive: now}, customers.StageExpansion},
		{"two products, happy, active", customers.StageExpansion, customers.Facts{Purchases: 2, Products: 2, Satisfaction: happy, Now: now, LastActive: now.Add(-30 * day)}, customers.StageCommitment},
		{"two products, happy, but inactive 100 days", customers.StageExpansion, customers.Facts{Purchases: 2, Products: 2, Satisfaction: happy, Now: now, LastActive: now.Add(-100 * day)}, customers.StageExpansion},
		{"score below 40", customers.StageCommitment, customers.Facts{Purchases: 2, Products: 2, Satisfaction: unhappy, Now: now, LastActive: now}, customers.StageDissolution},
		{"latest NPS detractor", customers.StageExpansion, customers.Facts{Purchases: 1, Products: 1, Satisfaction: detractor, Now: now, LastActive: now}, customers.StageDissolution},
		{"inactive 180 days after expansion", customers.StageExpansion, customers.Facts{Purchases: 1, Products: 1, ReachedExpansionAt: &reached, Now: now, LastActive: now.Add(-181 * day)}, customers.StageDissolution},
		{"back from dissolution: expansion, not commitment", customers.StageDissolution, customers.Facts{Purchases: 2, Products: 2, Satisfaction: happy, Now: now, LastActive: now}, customers.StageExpansion},
	}
	for _, tt := range tests {
		got, cause := customers.NextStage(tt.current, tt.facts)
		if got != tt.want || cause == "" || customers.CauseKey(cause) == "" {
			t.Errorf("%s: %s (%q, key %q), want %s and a cause the pages can translate", tt.name, got, cause, customers.CauseKey(cause), tt.want)
		}
	}
}
