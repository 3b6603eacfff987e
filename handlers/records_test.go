package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers"
)

func TestCustomerRecord_ScoreStageAndWhoSeesWhat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Kopi")
	buyer := e.person("buyer@example.com")
	if _, err := e.reviews.RecordPurchase(ctx, buyer.ID, customers.Purchase{ProductID: p.ID, OrderID: "SO-77", Amount: 99000}); err != nil {
		t.Fatal(err)
	}
	e.review(buyer, p, 5, "Mantap sekali")
	e.person("mod@example.com", customers.RoleModerator)
	e.person("product@example.com", customers.RoleProduct)
	e.person("cust@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	got, _ := e.customers.Get(ctx, buyer.ID)
	if got.Satisfaction.Score != 100 || got.Stage != customers.StageExpansion {
		t.Fatalf("a 5-star review from a buyer: score %d stage %s", got.Satisfaction.Score, got.Stage)
	}
	for who, want := range map[string]int{"cust@example.com": http.StatusForbidden, "mod@example.com": 200, "product@example.com": 200} {
		b := newBrowser(t, base)
		b.signIn(who)
		res := b.get("/staff/customers/" + buyer.ID.Hex() + "?lang=en")
		if res.StatusCode != want {
			t.Fatalf("%s: %d, want %d", who, res.StatusCode, want)
		}
		if want != 200 {
			continue
		}
		for _, s := range []string{"Expansion", ">100 <", "satisfied", `href="/products/kopi#review-`} {
			if !strings.Contains(res.body, s) {
				t.Errorf("%s: the record lacks %q", who, s)
			}
		}
		// Stage causes are read in the reader's language, in the history and the timeline.
		if id := b.get("/staff/customers/" + buyer.ID.Hex() + "?lang=id"); !strings.Contains(id.body, "sebuah pembelian atau ulasan") ||
			!strings.Contains(id.body, "mendaftar") || strings.Contains(id.body, "a purchase or a review") || strings.Contains(id.body, "(published)") {
			t.Errorf("%s: stage causes in Indonesian:\n%s", who, id.body)
		}
		b.get("/staff/customers/?lang=en")
		sees := strings.Contains(res.body, "buyer@example.com") || strings.Contains(res.body, "SO-77")
		if sees != (who == "product@example.com") {
			t.Errorf("%s sees email and purchases: %v", who, sees)
		}
	}
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	list := b.get("/staff/customers/?stage=expansion&lang=en")
	if !strings.Contains(list.body, "buyer") || strings.Contains(list.body, ">cust<") {
		t.Fatalf("filter by stage:\n%s", list.body)
	}
}

func TestCustomersList_ByScoreCSVAndTimelinePages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	e.person("mod@example.com", customers.RoleModerator)
	nps, _ := e.feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community", QuestionEN: "Q", QuestionID: "Q", Active: true})
	scores := map[string]int{"low@example.com": 2, "mid@example.com": 6, "high@example.com": 10}
	for email, n := range scores {
		c := e.person(email)
		if _, _, err := e.feedback.Answer(ctx, c, nps.ID, feedback.AnswerInput{Score: &n}, "portal"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.customers.UpdateProfile(ctx, mustFind(t, e, "low@example.com").ID, customers.Profile{DisplayName: "=HYPERLINK(\"x\")"}); err != nil {
		t.Fatal(err)
	}
	e.person("=1+cmd|calc!A0@example.com") // a valid address, and a formula
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	p := newBrowser(t, base)
	p.signIn("product@example.com")
	list := p.get("/staff/customers/?sort=score&lang=en")
	hi, mid, lo := strings.Index(list.body, ">high<"), strings.Index(list.body, ">mid<"), strings.Index(list.body, "HYPERLINK")
	if hi < 0 || mid < hi || lo < mid {
		t.Fatalf("by score, highest first:\n%s", list.body)
	}
	csvRes := p.get("/staff/customers/export.csv?sort=score")
	if csvRes.StatusCode != 200 || !strings.HasPrefix(csvRes.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csvRes.body, "high@example.com") || !strings.Contains(csvRes.body, `'=HYPERLINK`) ||
		!strings.Contains(csvRes.body, `,'=1+cmd|calc!a0@example.com,`) {
		t.Fatalf("CSV: %d %s\n%s", csvRes.StatusCode, csvRes.Header.Get("Content-Type"), csvRes.body)
	}
	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	if res := m.get("/staff/customers/export.csv"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator exporting emails: %d", res.StatusCode)
	}

	// A customer with 40 answers: the timeline comes in pages with nothing repeated.
	busy := e.person("busy@example.com")
	for i := range 40 {
		n := i % 11
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 24 * time.Hour).Format(time.RFC3339)
		if _, _, err := e.feedback.Answer(ctx, busy, nps.ID, feedback.AnswerInput{Score: &n, Key: fmt.Sprint("b", i), At: at}, "api"); err != nil {
			t.Fatal(err)
		}
	}
	// Every page, to the last: each answer once (the follow-ups its detractor answers
	// opened today come first).
	page1 := p.get("/staff/customers/" + busy.ID.Hex() + "?lang=en")
	answers := func(body string) int { return strings.Count(body, `<span class="badge">survey</span>`) }
	if entries := strings.Count(page1.body, `<li><span class="muted small">`); entries != 30 {
		t.Fatalf("%d entries on the first page, want 30", entries)
	}
	total, pages := answers(page1.body), 1
	for body := page1.body; ; pages++ {
		next := regexp.MustCompile(`href="(/staff/customers/[^"]+before=\d+)#timeline"`).FindStringSubmatch(body)
		if next == nil {
			break
		}
		body = p.get(strings.ReplaceAll(next[1], "&amp;", "&")).body
		total += answers(body)
	}
	if pages < 2 || total != 40 {
		t.Fatalf("timeline: %d answers over %d pages, want 40 over several", total, pages)
	}
}
