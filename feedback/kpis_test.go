package feedback_test

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
)

// The data set, and the figures computed by hand:
//
//	period Nov 1 – Dec 1 2026, the previous one Oct 2 – Nov 1.
//	A: CSAT 5 in Oct; NPS 10, CSAT 5, CES 2 in Nov.   B: NPS 9, CSAT 4, CES 4 in Nov.
//	C: CSAT 5 in Oct; NPS 7, CSAT 2 in Nov.           D: NPS 3 in Nov (detractor).
//	E: a purchase in Oct only.  F: a purchase in Nov only.  G: a vote, then a purchase in Nov.
//
//	NPS = (2 promoters − 1 detractor) / 4 = 25.0;  CSAT % = 2 of 3 = 66.7;  CES = (2+4)/2 = 3.0
//	active now A B C D F G = 6, of whom 4 answered → response rate 66.7
//	active before A C E = 3, of whom A C are active again → retention 66.7, churn 33.3
//	by stage (now): exploration A C → 100.0; expansion E → 0.0
//	exploring in the period A B C G, of whom G moved to expansion → conversion 25.0
//	stages now: exploration A B C, dissolution D, expansion E F G, awareness (the staff member).
func TestKPIs_HandComputed(t *testing.T) {
	w := newWorld(t)
	// Stages move when the records are written: late in the period, whenever the test runs.
	w.customers.SetClock(func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) })
	ces, err := w.feedback.SaveSurvey(w.ctx, w.staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "ces", Touchpoint: "support",
		QuestionEN: "How easy?", QuestionID: "Seberapa mudah?", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	people := map[string]*customers.Customer{}
	for _, n := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		people[n] = w.person(t, n+"@example.com")
	}
	n := 0
	answer := func(who string, sv *feedback.Survey, s int, at string) {
		t.Helper()
		n++
		in := feedback.AnswerInput{Score: score(s), Key: fmt.Sprint("k", n), At: at}
		if _, _, err := w.feedback.Answer(w.ctx, people[who], sv.ID, in, "api"); err != nil {
			t.Fatal(err)
		}
	}
	buy := func(who, at string) {
		t.Helper()
		ts, _ := time.Parse(time.RFC3339, at)
		if _, err := w.customers.AddPurchase(w.ctx, people[who].ID, customers.Purchase{ProductID: bson.NewObjectID(), At: ts}); err != nil {
			t.Fatal(err)
		}
	}
	answer("A", w.csat, 5, "2026-10-10T10:00:00Z")
	answer("C", w.csat, 5, "2026-10-10T10:00:00Z")
	answer("A", w.nps, 10, "2026-11-05T10:00:00Z")
	answer("A", w.csat, 5, "2026-11-05T11:00:00Z")
	answer("A", ces, 2, "2026-11-05T12:00:00Z")
	answer("B", w.nps, 9, "2026-11-06T10:00:00Z")
	answer("B", w.csat, 4, "2026-11-06T11:00:00Z")
	answer("B", ces, 4, "2026-11-06T12:00:00Z")
	answer("C", w.nps, 7, "2026-11-07T10:00:00Z")
	answer("C", w.csat, 2, "2026-11-07T11:00:00Z")
	answer("D", w.nps, 3, "2026-11-08T10:00:00Z")
	buy("E", "2026-10-10T10:00:00Z")
	buy("F", "2026-11-10T10:00:00Z")
	if err := w.customers.Contributed(w.ctx, people["G"].ID, "votes", bson.ObjectID{}); err != nil {
		t.Fatal(err)
	}
	buy("G", "2026-11-12T10:00:00Z")

	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	k, err := w.feedback.KPIs(w.ctx, feedback.KPIQuery{From: from, To: from.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("responses", float64(k.Responses), 9)
	check("NPS", k.NPS, 25)
	check("CSAT %", k.CSATPercent, 66.7)
	check("CES", k.CESAverage, 3)
	check("active customers", float64(k.ActiveCustomers), 6)
	check("response rate", k.ResponseRate, 66.7)
	check("previously active", float64(k.PreviousActive), 3)
	check("retention", k.Retention, 66.7)
	check("churn", k.Churn, 33.3)
	check("retention of exploration", k.RetentionByStage[customers.StageExploration], 100)
	check("retention of expansion", k.RetentionByStage[customers.StageExpansion], 0)
	check("conversion", k.Conversion, 25)
	for stage, want := range map[customers.Stage]int{customers.StageExploration: 3, customers.StageDissolution: 1,
		customers.StageExpansion: 3, customers.StageAwareness: 1} {
		check("stage "+string(stage), float64(k.StageDistribution[stage]), float64(want))
	}
	// The monthly trend: October had two CSAT 5s; November is the period's figures.
	nov, oct := k.Monthly[len(k.Monthly)-1], k.Monthly[len(k.Monthly)-2]
	if len(k.Monthly) != 12 || nov.Month.Month() != time.November || nov.NPS != 25 || nov.NPSAnswers != 4 ||
		nov.CSATPercent != 66.7 || nov.CSATAnswers != 3 || nov.CESAverage != 3 || nov.CESAnswers != 2 {
		t.Errorf("monthly: %d months, November %+v", len(k.Monthly), nov)
	}
	if oct.CSATPercent != 100 || oct.CSATAnswers != 2 || oct.NPSAnswers != 0 || oct.CESAnswers != 0 {
		t.Errorf("October %+v", oct)
	}
	// A product narrows the answers to its surveys' (none here).
	byProduct, _ := w.feedback.KPIs(w.ctx, feedback.KPIQuery{From: from, To: from.AddDate(0, 1, 0), Product: "kopi-gayo"})
	if byProduct.Responses != 0 {
		t.Errorf("no survey is about kopi-gayo: %d answers", byProduct.Responses)
	}
	// A touchpoint narrows the answers: only the support survey (CES).
	support, _ := w.feedback.KPIs(w.ctx, feedback.KPIQuery{From: from, To: from.AddDate(0, 1, 0), Touchpoint: "support"})
	if support.Responses != 2 || support.CESAverage != 3 || support.CSATAnswers != 0 {
		t.Errorf("support touchpoint: %+v", support)
	}
}

func TestKPIs_ByProduct(t *testing.T) {
	w := newWorld(t)
	kopi, err := w.feedback.SaveSurvey(w.ctx, w.staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "csat", Touchpoint: "purchase",
		Product: "kopi-gayo", QuestionEN: "How is the coffee?", QuestionID: "Bagaimana kopinya?", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := w.person(t, "a@example.com"), w.person(t, "b@example.com")
	for who, sv := range map[*customers.Customer]*feedback.Survey{a: kopi, b: w.csat} {
		if _, _, err := w.feedback.Answer(w.ctx, who, sv.ID, feedback.AnswerInput{Score: score(5)}, "portal"); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Now().UTC().AddDate(0, 0, -1)
	k, err := w.feedback.KPIs(w.ctx, feedback.KPIQuery{From: from, To: from.AddDate(0, 0, 2), Product: "kopi-gayo"})
	if err != nil || k.Responses != 1 || k.CSATAnswers != 1 || k.CSATPercent != 100 {
		t.Fatalf("KPIs of kopi-gayo: %+v %v", k, err)
	}
}
