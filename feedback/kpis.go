package feedback

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/store"
)

// KPIQuery is a period and an optional touchpoint or product (surveys about one product).
type KPIQuery struct {
	From, To   time.Time // [From, To)
	Touchpoint string
	Product    string
	// Glance asks only for the answers' figures (the staff home): no response rate,
	// stages, retention or trends, which read every active or every customer.
	Glance bool
}

// KPIs are the portal's indicators for a period.
type KPIs struct {
	From, To          time.Time
	Responses         int
	NPS               float64 // % promoters − % detractors, −100…100
	Promoters         int
	Passives          int
	Detractors        int
	CSATPercent       float64 // share of CSAT answers of 4 or 5
	CSATAnswers       int
	CESAverage        float64
	CESAnswers        int
	ResponseRate      float64 // customers who answered ÷ customers active in the period
	Retention         float64 // active in the previous period and active again in this one
	Churn             float64 // 1 − retention
	RetentionByStage  map[customers.Stage]float64
	Conversion        float64 // exploration → expansion within the period
	StageDistribution map[customers.Stage]int
	// CLTVByStage is the average lifetime value of the customers in each stage who bought
	// anything, in minor units of Currency.
	CLTVByStage        map[customers.Stage]int64
	Currency           string
	ActiveCustomers    int
	PreviousActive     int
	Monthly            []Month // the twelve months up to the period's end
	Trend              []Month // the period chosen, a point a week (up to three months) or a month
	TrendBy            string  // week or month
	hasRetentionCohort bool
}

// Month is one month of the indicators' trend (a figure counts only when its answers do).
type Month struct {
	Month       time.Time
	NPS         float64
	NPSAnswers  int
	CSATPercent float64
	CSATAnswers int
	CESAverage  float64
	CESAnswers  int
}

// HasRetention reports whether anyone was active in the previous period.
func (k *KPIs) HasRetention() bool { return k.hasRetentionCohort }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// KPIs computes the indicators for a period. Activity is any signal (a review, a survey
// answer) or a purchase; the previous period has the same length just before.
func (s *Service) KPIs(ctx context.Context, q KPIQuery) (*KPIs, error) {
	k := &KPIs{From: q.From, To: q.To, RetentionByStage: map[customers.Stage]float64{}, StageDistribution: map[customers.Stage]int{}}
	filter := bson.M{"at": bson.M{"$gte": q.From, "$lt": q.To}}
	if q.Touchpoint != "" {
		filter["touchpoint"] = q.Touchpoint
	}
	if q.Product != "" {
		filter["product"] = q.Product
	}
	cur, err := s.responses.Find(ctx, filter, options.Find().SetProjection(bson.M{"kind": 1, "score": 1, "customer_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("kpis: %w", err)
	}
	var answers []Response
	if err := cur.All(ctx, &answers); err != nil {
		return nil, fmt.Errorf("kpis: %w", err)
	}
	answered := map[bson.ObjectID]bool{}
	csatGood, cesSum := 0, 0
	for _, a := range answers {
		answered[a.CustomerID] = true
		switch a.Kind {
		case KindNPS:
			switch customers.NPSCategory(a.Score) {
			case customers.NPSPromoter:
				k.Promoters++
			case customers.NPSPassive:
				k.Passives++
			default:
				k.Detractors++
			}
		case KindCSAT:
			k.CSATAnswers++
			if a.Score >= 4 {
				csatGood++
			}
		case KindCES:
			k.CESAnswers++
			cesSum += a.Score
		}
	}
	k.Responses = len(answers)
	if n := k.Promoters + k.Passives + k.Detractors; n > 0 {
		k.NPS = round1(100 * float64(k.Promoters-k.Detractors) / float64(n))
	}
	if k.CSATAnswers > 0 {
		k.CSATPercent = round1(100 * float64(csatGood) / float64(k.CSATAnswers))
	}
	if k.CESAnswers > 0 {
		k.CESAverage = round1(float64(cesSum) / float64(k.CESAnswers))
	}

	length := q.To.Sub(q.From)
	if q.Glance {
		return k, nil
	}
	current, err := s.activeIn(ctx, q.From, q.To)
	if err != nil {
		return nil, err
	}
	previous, err := s.activeIn(ctx, q.From.Add(-length), q.From)
	if err != nil {
		return nil, err
	}
	k.ActiveCustomers, k.PreviousActive = len(current), len(previous)
	if len(current) > 0 {
		k.ResponseRate = round1(100 * float64(len(answered)) / float64(len(current)))
	}

	// Stages: the distribution now, retention per stage, and conversions in the period.
	people, err := s.customers.StagesOf(ctx)
	if err != nil {
		return nil, err
	}
	kept, cohort := map[customers.Stage]int{}, map[customers.Stage]int{}
	exploring, converted := 0, 0
	valueSum, buyers := map[customers.Stage]int64{}, map[customers.Stage]int64{}
	for _, p := range people {
		k.StageDistribution[p.Stage]++
		if p.Value.Orders > 0 {
			valueSum[p.Stage] += p.Value.CLTV
			buyers[p.Stage]++
		}
		if previous[p.ID] {
			cohort[p.Stage]++
			if current[p.ID] {
				kept[p.Stage]++
			}
		}
		wasExploring, moved := false, false
		for _, h := range p.StageHistory {
			if h.At.Before(q.From) {
				wasExploring = h.To == customers.StageExploration
			} else if h.At.Before(q.To) {
				if h.To == customers.StageExploration {
					wasExploring = true
				}
				if h.From == customers.StageExploration && h.To == customers.StageExpansion {
					moved = true
				}
			}
		}
		if wasExploring || moved {
			exploring++
			if moved {
				converted++
			}
		}
	}
	k.CLTVByStage, k.Currency = map[customers.Stage]int64{}, s.customers.Currency()
	for st, n := range buyers {
		k.CLTVByStage[st] = valueSum[st] / n
	}
	total, stayed := 0, 0
	for st, n := range cohort {
		total += n
		stayed += kept[st]
		k.RetentionByStage[st] = round1(100 * float64(kept[st]) / float64(n))
	}
	if total > 0 {
		k.hasRetentionCohort = true
		k.Retention = round1(100 * float64(stayed) / float64(total))
		k.Churn = round1(100 - k.Retention)
	}
	if exploring > 0 {
		k.Conversion = round1(100 * float64(converted) / float64(exploring))
	}

	// NPS, CSAT % and CES of each of the twelve months up to the period's end.
	last := q.To.Add(-time.Nanosecond) // the period's end is exclusive
	end := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	start := end.AddDate(-1, 0, 0)
	mfilter := bson.M{"at": bson.M{"$gte": start, "$lt": end}}
	if q.Touchpoint != "" {
		mfilter["touchpoint"] = q.Touchpoint
	}
	if q.Product != "" {
		mfilter["product"] = q.Product
	}
	year, err := store.FindAll[Response](ctx, s.responses, mfilter, options.Find().SetProjection(bson.M{"kind": 1, "score": 1, "at": 1}))
	if err != nil {
		return nil, err
	}
	k.Monthly = buckets(year, start, end, func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
		func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) })

	// The same figures over the period chosen, a point a week (up to three months) or a
	// month: the charts follow the period.
	pfilter := bson.M{"at": bson.M{"$gte": q.From, "$lt": q.To}}
	for k2, v := range mfilter {
		if k2 != "at" {
			pfilter[k2] = v
		}
	}
	period, err := store.FindAll[Response](ctx, s.responses, pfilter, options.Find().SetProjection(bson.M{"kind": 1, "score": 1, "at": 1}))
	if err != nil {
		return nil, err
	}
	if q.To.Sub(q.From) <= 93*24*time.Hour {
		k.TrendBy = "week"
		monday := func(t time.Time) time.Time {
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		}
		k.Trend = buckets(period, monday(q.From), q.To, func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }, monday)
	} else {
		k.TrendBy = "month"
		first := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }
		k.Trend = buckets(period, first(q.From), q.To, func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, first)
	}
	return k, nil
}

// buckets tallies answers into the buckets from start up to end (next steps a bucket, of
// gives an answer's bucket): NPS, CSAT % and CES each, counted only where answered.
func buckets(answers []*Response, start, end time.Time, next, of func(time.Time) time.Time) []Month {
	type tally struct{ pro, det, nps, csatHigh, csat, cesSum, ces int }
	by := map[time.Time]*tally{}
	for _, a := range answers {
		m := of(a.At)
		t := by[m]
		if t == nil {
			t = &tally{}
			by[m] = t
		}
		switch a.Kind {
		case KindNPS:
			t.nps++
			switch customers.NPSCategory(a.Score) {
			case customers.NPSPromoter:
				t.pro++
			case customers.NPSDetractor:
				t.det++
			}
		case KindCSAT:
			t.csat++
			if a.Score >= 4 {
				t.csatHigh++
			}
		case KindCES:
			t.ces++
			t.cesSum += a.Score
		}
	}
	var out []Month
	for m := start; m.Before(end); m = next(m) {
		mn := Month{Month: m}
		if t := by[m]; t != nil {
			mn.NPSAnswers, mn.CSATAnswers, mn.CESAnswers = t.nps, t.csat, t.ces
			if t.nps > 0 {
				mn.NPS = round1(100 * float64(t.pro-t.det) / float64(t.nps))
			}
			if t.csat > 0 {
				mn.CSATPercent = round1(100 * float64(t.csatHigh) / float64(t.csat))
			}
			if t.ces > 0 {
				mn.CESAverage = round1(float64(t.cesSum) / float64(t.ces))
			}
		}
		out = append(out, mn)
	}
	return out
}

// activeIn is the set of customers with a signal (review, answer) or purchase in [from, to).
func (s *Service) activeIn(ctx context.Context, from, to time.Time) (map[bson.ObjectID]bool, error) {
	ids, err := s.customers.ActiveBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[bson.ObjectID]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// SurveyScore is how one survey is answered over a period: the answers and their score —
// NPS (−100…100), CSAT (% of 4 and 5) or CES (the average) by the survey's kind.
type SurveyScore struct {
	Answers int
	Score   float64 // meaningful when Answers > 0
}

// SurveyScores scores each survey over the days up to now: one query per survey (a handful),
// each on the survey's index, reading only the scores.
func (s *Service) SurveyScores(ctx context.Context, surveys []*Survey, days int) (map[bson.ObjectID]SurveyScore, error) {
	out := map[bson.ObjectID]SurveyScore{}
	since := s.now().AddDate(0, 0, -days)
	for _, sv := range surveys {
		list, err := store.FindAll[Response](ctx, s.responses, bson.M{"survey_id": sv.ID, "at": bson.M{"$gte": since}},
			options.Find().SetProjection(bson.M{"score": 1}))
		if err != nil {
			return nil, fmt.Errorf("survey scores: %w", err)
		}
		sc := SurveyScore{Answers: len(list)}
		if len(list) > 0 {
			var sum, good, bad float64
			for _, r := range list {
				sum += float64(r.Score)
				switch {
				case sv.Kind == KindNPS && r.Score >= 9, sv.Kind == KindCSAT && r.Score >= 4:
					good++
				case sv.Kind == KindNPS && r.Score <= 6:
					bad++
				}
			}
			n := float64(len(list))
			switch sv.Kind {
			case KindNPS:
				sc.Score = 100 * (good - bad) / n
			case KindCSAT:
				sc.Score = 100 * good / n
			default:
				sc.Score = sum / n
			}
		}
		out[sv.ID] = sc
	}
	return out, nil
}
