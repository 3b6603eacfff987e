package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/store/storetest"
)

// The closed loop: a detractor's answer and a 1★ review open tasks once each (and the move to
// dissolution one), staff own one, answer the customer, resolve it well, and the record hears
// of every step.
func TestFollowUps_OpenedOnceAnsweredResolvedAndOnTheRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	e.person("mod@example.com", customers.RoleModerator)
	ayu := e.person("ayu@example.com")
	kopi := e.product("Kopi")
	if _, err := e.reviews.RecordPurchase(ctx, ayu.ID, customers.Purchase{ProductID: kopi.ID, OrderID: "SO-1", Amount: 150000}); err != nil {
		t.Fatal(err)
	}
	nps := e.npsSurvey(staff)
	three := 3
	resp, _, err := e.feedback.Answer(ctx, ayu, nps.ID, feedback.AnswerInput{Score: &three, Comment: "Pengiriman lambat sekali"}, "portal")
	if err != nil {
		t.Fatal(err)
	}
	e.review(ayu, kopi, 1, "Kopi basi, pengiriman lambat")
	// A retried write tells the watchers again: still one task per cause.
	if err := e.customers.RecordSignal(ctx, customers.SurveySignal(ayu.ID, customers.SignalNPS, resp.ID.Hex(), 3, resp.At)); err != nil {
		t.Fatal(err)
	}
	tasks, err := e.followups.List(ctx, followups.Query{View: followups.ViewTeam})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, task := range tasks {
		rules = append(rules, task.Rule)
	}
	slices.Sort(rules)
	if strings.Join(rules, ",") != "detractor,dissolution,low_review" {
		t.Fatalf("tasks opened: %v, want one detractor, one dissolution and one low_review", rules)
	}
	var detractor *followups.Task
	for _, task := range tasks {
		if task.Rule == followups.RuleDetractor {
			detractor = task
		}
	}
	if got, _ := e.customers.Get(ctx, ayu.ID); got.FollowUps.Open != 3 {
		t.Fatalf("the record counts %d open follow-ups, want 3", got.FollowUps.Open)
	}

	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	for who, want := range map[string]int{"ayu@example.com": http.StatusForbidden, "mod@example.com": http.StatusForbidden} {
		b := newBrowser(t, base)
		b.signIn(who)
		if res := b.get("/staff/followups"); res.StatusCode != want {
			t.Fatalf("%s: follow-ups %d, want %d", who, res.StatusCode, want)
		}
	}
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	team := b.get("/staff/followups?view=team&lang=en")
	for _, s := range []string{"Detractor answer", "1–2★ review", "Moved to dissolution", "ayu"} {
		if !strings.Contains(team.body, s) {
			t.Fatalf("the team's list lacks %q:\n%s", s, team.body)
		}
	}
	if mine := b.get("/staff/followups?lang=en"); !strings.Contains(mine.body, "Nothing here.") {
		t.Fatalf("nothing is mine yet:\n%s", mine.body)
	}
	path := "/staff/followups/" + url.PathEscape(detractor.ID)
	page := b.get(path + "?lang=id")
	if page.StatusCode != 200 || !strings.Contains(page.body, "Pengiriman lambat sekali") || !strings.Contains(page.body, "Jawaban detractor") {
		t.Fatalf("the task page shows the feedback in Indonesian: %d\n%s", page.StatusCode, page.body)
	}
	// Bad input: a field message each, nothing changed.
	bad := b.post(path+"?lang=en", url.Values{"outcome": {"great"}, "due": {"tomorrow"}})
	if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Choose an outcome.") || !strings.Contains(bad.body, "field-error") {
		t.Fatalf("bad outcome and date: %d\n%s", bad.StatusCode, bad.body)
	}
	if got, _ := e.followups.Get(ctx, detractor.ID); got.Status != followups.StatusOpen || !got.Owner.IsZero() {
		t.Fatalf("a refused form changed the task: %+v", got)
	}
	// Take it, note it and answer the customer.
	if res := b.post(path, url.Values{"owner": {"me"}, "note": {"Called her"}, "reply": {"Maaf, kurir kami sudah diganti."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("take and answer: %d\n%s", res.StatusCode, res.body)
	}
	if mine := b.get("/staff/followups?lang=en"); !strings.Contains(mine.body, "Detractor answer") {
		t.Fatalf("the task is mine now:\n%s", mine.body)
	}
	again := b.post(path+"?lang=en", url.Values{"reply": {"Once more"}})
	if again.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(again.body, "already been answered") {
		t.Fatalf("a second answer: %d", again.StatusCode)
	}
	cust := newBrowser(t, base)
	cust.signIn("ayu@example.com")
	if n := cust.get("/notifications?lang=en"); strings.Count(n.body, "Maaf, kurir kami sudah diganti.") != 1 || strings.Contains(n.body, "Once more") {
		t.Fatalf("the customer is told once:\n%s", n.body)
	}
	// Resolved well: a signal on the record, and every step on its timeline.
	before, _ := e.customers.Get(ctx, ayu.ID)
	if res := b.post(path, url.Values{"outcome": {"good"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", res.StatusCode, res.body)
	}
	after, _ := e.customers.Get(ctx, ayu.ID)
	if after.Satisfaction.Signals != before.Satisfaction.Signals+1 || after.Satisfaction.Score <= before.Satisfaction.Score || after.FollowUps.Open != 2 {
		t.Fatalf("a good outcome is a signal: %d→%d signals, score %d→%d, open %d", before.Satisfaction.Signals, after.Satisfaction.Signals,
			before.Satisfaction.Score, after.Satisfaction.Score, after.FollowUps.Open)
	}
	record := b.get("/staff/customers/" + ayu.ID.Hex() + "?lang=en")
	for _, s := range []string{"Follow-up opened", "Follow-up resolved", "Resolved: good outcome", "Maaf, kurir kami sudah diganti.", "Detractor: answered 3 to NPS", "In dissolution"} {
		if !strings.Contains(record.body, s) {
			t.Errorf("the record lacks %q", s)
		}
	}
	if done := b.get("/staff/followups?view=done&lang=en"); !strings.Contains(done.body, "Resolved: good outcome") {
		t.Fatalf("resolved list:\n%s", done.body)
	}
	// A task left past its due date is a risk reason; the overdue view lists it.
	var review *followups.Task
	for _, task := range tasks {
		if task.Rule == followups.RuleLowReview {
			review = task
		}
	}
	if _, err := e.followups.Apply(ctx, review.ID, staff.ID, followups.Change{Due: time.Now().AddDate(0, 0, -3).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.customers.Get(ctx, ayu.ID); !slices.ContainsFunc(got.Risk.Reasons, func(r customers.RiskReason) bool { return r.Key == customers.ReasonOverdueFollowUp }) {
		t.Fatalf("an overdue task is a risk reason: %+v", got.Risk)
	}
	if overdue := b.get("/staff/followups?view=overdue&lang=en"); !strings.Contains(overdue.body, "1–2★ review") || strings.Contains(overdue.body, "Moved to dissolution") {
		t.Fatalf("overdue list:\n%s", overdue.body)
	}
	// The staff home counts them, and the header shows them.
	home := b.get("/staff?lang=en")
	if !strings.Contains(home.body, "open · 1 overdue · 0 yours") || !strings.Contains(home.body, "At-risk customers") {
		t.Fatalf("staff home:\n%s", home.body)
	}
}

// The at-risk list ranks by risk × value, gives its reasons, leaves staff out and exports
// the same in CSV.
func TestAtRiskList_RankedByRiskAndValueWithReasons(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	nps := e.npsSurvey(staff)
	kopi := e.product("Kopi")
	answer := func(c *customers.Customer, n int) {
		t.Helper()
		if _, _, err := e.feedback.Answer(ctx, c, nps.ID, feedback.AnswerInput{Score: &n}, "portal"); err != nil {
			t.Fatal(err)
		}
	}
	rich, poor, happy := e.person("rich@example.com"), e.person("poor@example.com"), e.person("happy@example.com")
	e.reviews.RecordPurchase(ctx, rich.ID, customers.Purchase{ProductID: kopi.ID, OrderID: "R-1", Amount: 900000})
	e.reviews.RecordPurchase(ctx, poor.ID, customers.Purchase{ProductID: kopi.ID, OrderID: "P-1", Amount: 10000})
	answer(poor, 2)
	answer(rich, 2)
	answer(happy, 10)
	answer(staff, 0) // staff are never on the list
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	page := b.get("/staff/at-risk?lang=en")
	iRich, iPoor := strings.Index(page.body, ">rich<"), strings.Index(page.body, ">poor<")
	if iRich < 0 || iPoor < 0 || iRich > iPoor || strings.Contains(page.body, ">happy<") || strings.Contains(page.body, staff.ID.Hex()) {
		t.Fatalf("at-risk list: rich before poor, nobody else:\n%s", page.body)
	}
	if !strings.Contains(page.body, "Detractor: answered 2 to NPS") || !strings.Contains(page.body, "Rp") {
		t.Fatalf("reasons and value:\n%s", page.body)
	}
	res := b.get("/staff/at-risk.csv?lang=id")
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][1] != "rich" || !strings.Contains(rows[1][4], "Detractor: menjawab 2 pada NPS") || rows[1][5] != "2700000" {
		t.Fatalf("CSV: %v %v", rows, err)
	}
	// The customers list sorts by risk and by value too, staff left out.
	byValue := b.get("/staff/customers/?sort=value&lang=en")
	if strings.Index(byValue.body, ">rich<") > strings.Index(byValue.body, ">poor<") || strings.Contains(byValue.body, staff.ID.Hex()) {
		t.Fatalf("by value:\n%s", byValue.body)
	}
	cust := newBrowser(t, base)
	cust.signIn("happy@example.com")
	if res := cust.get("/staff/at-risk"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer: %d", res.StatusCode)
	}
}

// Admins tune the score: bad input is refused per field, a preview shows what would move,
// and saving recomputes the records in the background, as by hand.
func TestScoreSettings_PreviewSaveAndRecompute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	e.person("admin@example.com", customers.RoleAdmin)
	nps := e.npsSurvey(staff)
	kopi := e.product("Kopi")
	ayu := e.person("ayu@example.com")
	two := 2
	e.feedback.Answer(ctx, ayu, nps.ID, feedback.AnswerInput{Score: &two}, "portal")
	e.review(ayu, kopi, 5, "Enak")
	// (3·20 + 2·100)/5 = 52
	if got, _ := e.customers.Get(ctx, ayu.ID); got.Satisfaction.Score != 52 {
		t.Fatalf("default score %d", got.Satisfaction.Score)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	p := newBrowser(t, base)
	p.signIn("product@example.com")
	if res := p.get("/admin/score"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("product staff: %d", res.StatusCode)
	}
	b := newBrowser(t, base)
	b.signIn("admin@example.com")
	form := func(nps, review, halfLife string) url.Values {
		return url.Values{"weight_nps": {nps}, "weight_csat": {"2"}, "weight_review": {review}, "weight_ces": {"1"}, "weight_sentiment": {"1"},
			"weight_followup": {"1"}, "half_life_days": {halfLife}, "risk_drop": {"15"}}
	}
	bad := b.post("/admin/score?lang=en", form("11", "x", "3"))
	if bad.StatusCode != http.StatusUnprocessableEntity || strings.Count(bad.body, "Enter a weight from 0 to 10.") != 2 || !strings.Contains(bad.body, "Enter a number from 7 to 730.") {
		t.Fatalf("bad settings: %d\n%s", bad.StatusCode, bad.body)
	}
	preview := form("1", "3", "90")
	preview.Set("action", "preview")
	pv := b.post("/admin/score?lang=en", preview)
	if pv.StatusCode != 200 || !strings.Contains(pv.body, "1 would change band; 1 would change score.") {
		t.Fatalf("preview:\n%s", pv.body)
	}
	if st, _ := e.customers.ScoreSettings(ctx); st.Version != 0 {
		t.Fatalf("a preview saved the settings")
	}
	if res := b.post("/admin/score", form("1", "3", "90")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, res.body)
	}
	if page := b.get("/admin/score?lang=en"); !strings.Contains(page.body, "Recomputing scores: 0 records") {
		t.Fatalf("progress before the job:\n%s", page.body)
	}
	for more := true; more; {
		if more, _ = e.customers.RecomputeStep(ctx); more {
			continue
		}
	}
	// (1·20 + 3·100)/4 = 80
	if got, _ := e.customers.Get(ctx, ayu.ID); got.Satisfaction.Score != 80 {
		t.Fatalf("recomputed score %d, want 80", got.Satisfaction.Score)
	}
	if page := b.get("/admin/score?lang=id"); !strings.Contains(page.body, "dihitung ulang dengan pengaturan") {
		t.Fatalf("progress after:\n%s", page.body)
	}
}

// BenchmarkCustomerSuccess_100k measures, on 100,000 customers with two signals and a
// purchase each (GUYUB_BENCH_CUSTOMERS changes the number): recomputing every record after
// the score settings change, the at-risk list's first page, and the staff home.
//
//	go test ./handlers -run '^$' -bench CustomerSuccess -benchtime 1x
func BenchmarkCustomerSuccess_100k(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("GUYUB_BENCH_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	e.person("product@example.com", customers.RoleProduct)
	product := bson.NewObjectID()
	now := time.Now().UTC()
	started := time.Now()
	for start := 0; start < n; start += 1000 {
		var people, signals, purchases []any
		for i := start; i < min(start+1000, n); i++ {
			id := bson.NewObjectID()
			at := now.Add(-time.Duration(i%400) * 24 * time.Hour)
			p := customers.Purchase{ProductID: product, OrderID: fmt.Sprint("B-", i), Key: fmt.Sprintf("B-%d/%s", i, product.Hex()), At: at,
				Amount: int64(10_000 + i%50*5_000), Currency: customers.DefaultCurrency}
			people = append(people, customers.Customer{ID: id, Email: fmt.Sprintf("c%d@example.com", i), DisplayName: fmt.Sprint("Customer ", i),
				Roles: []customers.Role{customers.RoleCustomer}, Status: customers.StatusActive, Stage: customers.StageExpansion,
				Satisfaction: customers.Satisfaction{NPS: -1}, Purchases: []customers.Purchase{p}, CreatedAt: at, LastActiveAt: at, Identities: []customers.Identity{}})
			purchases = append(purchases, bson.M{"_id": id.Hex() + "/" + p.Key, "customer_id": id, "product_id": product, "order_id": p.OrderID,
				"key": p.Key, "at": at, "amount_minor": p.Amount, "currency": p.Currency})
			signals = append(signals,
				customers.SurveySignal(id, customers.SignalNPS, fmt.Sprint("n", i), i%11, at),
				customers.ReviewSignal(id, fmt.Sprint("r", i), 1+i%5, at.Add(time.Hour)))
		}
		for coll, docs := range map[string][]any{"customers": people, "signals": signals, "purchases": purchases} {
			if _, err := e.db.Collection(coll).InsertMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("seeded %d customers in %v", n, time.Since(started).Round(time.Second))
	st := customers.DefaultScoreSettings()
	st.Weights[customers.SignalNPS] = 2
	b.Run("recompute", func(b *testing.B) {
		for b.Loop() {
			st.Weights[customers.SignalReview]++
			if err := e.customers.SaveScoreSettings(ctx, st, bson.ObjectID{}); err != nil {
				b.Fatal(err)
			}
			for more := true; more; {
				var err error
				if more, err = e.customers.RecomputeStep(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N), "customers/s")
	})
	base := listen(b, e.app(handlers.Config{}, handlers.Deps{}))
	staff := newBrowser(b, base)
	staff.signIn("product@example.com")
	for name, path := range map[string]string{"at-risk list": "/staff/at-risk", "staff home": "/staff", "customers by risk": "/staff/customers/?sort=risk"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if res := staff.get(path); res.StatusCode != 200 {
					b.Fatalf("%s: %d", path, res.StatusCode)
				}
			}
		})
	}
	for _, scan := range storetest.FullScans(e.db) {
		b.Errorf("a page read a whole table: %s", scan)
	}
}
