package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/reviews"
)

// Product staff invite a segment to a survey by email: only confirmed addresses, once per
// survey, nobody who answered within the period or turned invitations off; the survey's
// figures follow each link from sent to opened to answered.
func TestSurveyInvitations_SentOpenedAnswered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	staff := e.person("product@example.com", customers.RoleProduct)
	nps := e.npsSurvey(staff)
	people := map[string]*customers.Customer{}
	for _, name := range []string{"ani", "eko", "answered", "unconfirmed", "optout"} {
		c := e.person(name + "@example.com")
		if name != "unconfirmed" {
			if _, err := e.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
				t.Fatal(err)
			}
		}
		people[name] = c
	}
	if err := e.customers.SetEmailPref(ctx, people["optout"].ID, feedback.InviteKind, "off"); err != nil {
		t.Fatal(err)
	}
	score := 9
	if _, _, err := e.feedback.Answer(ctx, people["answered"], nps.ID, feedback.AnswerInput{Score: &score}, "portal"); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"product@example.com"}, "password": {"correct horse battery"}})
	for range 2 { // queued twice: invited once
		if res := b.post("/admin/surveys/"+nps.ID.Hex()+"/invite", url.Values{"stage": {""}, "inactive_days": {"0"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("invite: %d\n%s", res.StatusCode, res.body)
		}
	}
	if res := b.post("/admin/surveys/"+nps.ID.Hex()+"/invite", url.Values{"inactive_days": {"-3"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a negative number of days: %d", res.StatusCode)
	}
	if page := b.get("/admin/surveys"); !strings.Contains(page.body, "2 waiting to be sent") {
		t.Fatalf("queued invitations: %s", page.body)
	}
	if err := e.feedback.SendInvitations(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"answered", "unconfirmed", "optout", "product"} {
		if got := e.emailsTo(name + "@example.com"); len(got) != 0 {
			t.Fatalf("%s was invited: %q", name, got[0].Subject)
		}
	}
	invite := e.emailsTo("ani@example.com")
	if len(invite) != 1 || len(e.emailsTo("eko@example.com")) != 1 || !strings.Contains(invite[0].Subject, "How likely are you to recommend us?") {
		t.Fatalf("invitations: %+v", invite)
	}
	link := regexp.MustCompile(`http://portal\.example(/s/[A-Za-z0-9_-]+)`).FindStringSubmatch(invite[0].Text)
	if link == nil {
		t.Fatalf("no personal link:\n%s", invite[0].Text)
	}
	ani := newBrowser(t, base)
	if res := ani.get(link[1]); res.StatusCode != http.StatusOK {
		t.Fatalf("the personal link: %d", res.StatusCode)
	}
	if res := ani.post(link[1], url.Values{"score": {"10"}, "_csrf": {anonCSRF(t, ani, link[1])}}); res.StatusCode >= 400 {
		t.Fatalf("answer through the link: %d\n%s", res.StatusCode, res.body)
	}
	if page := b.get("/admin/surveys"); !strings.Contains(page.body, "Invitations sent: 2 · opened: 1 · answered: 1 (50 %)") ||
		!strings.Contains(page.body, "2 answers in the last 90 days, score: 100.0") {
		t.Fatalf("the survey's figures:\n%s", page.body)
	}
}

// Invitations go out InvitesPerRun a run, oldest first, however large the segment.
func TestSurveyInvitations_Throttled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	nps := e.npsSurvey(staff)
	for i := range feedback.InvitesPerRun + 5 {
		c := e.person(fmt.Sprintf("c%d@example.com", i))
		if _, err := e.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.feedback.Invite(ctx, staff, nps.ID, feedback.Segment{})
	if err != nil || n != feedback.InvitesPerRun+5 {
		t.Fatalf("queued %d (%v), want %d", n, err, feedback.InvitesPerRun+5)
	}
	for run, want := range []int{feedback.InvitesPerRun, feedback.InvitesPerRun + 5} {
		if err := e.feedback.SendInvitations(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := e.feedback.InvitationStats(ctx, nps.ID); st.Sent != want {
			t.Fatalf("after run %d: %d sent, want %d", run+1, st.Sent, want)
		}
	}
}

// A segment of a product's buyers reaches those who bought it, whatever else they bought,
// and only them; an unknown product is a field error, not an empty segment.
func TestSurveyInvitations_BuyersOfAProduct(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	staff := e.person("product@example.com", customers.RoleProduct)
	nps := e.npsSurvey(staff)
	kopi, teh := e.product("Kopi Gayo Arabika"), e.product("Teh Melati")
	bought := map[string][]*reviews.Product{"ani": {kopi}, "eko": {teh}, "sri": {kopi, teh}, "budi": nil}
	for name, products := range bought {
		c := e.person(name + "@example.com")
		if _, err := e.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
			t.Fatal(err)
		}
		for _, p := range products {
			if _, err := e.reviews.RecordPurchase(ctx, c.ID, customers.Purchase{ProductID: p.ID, OrderID: "SO-" + name}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"product@example.com"}, "password": {"correct horse battery"}})
	if page := b.get("/admin/surveys"); !strings.Contains(page.body, `<option value="`+kopi.Slug+`">Kopi Gayo Arabika</option>`) {
		t.Fatalf("the products to choose from:\n%s", page.body)
	}
	if res := b.post("/admin/surveys/"+nps.ID.Hex()+"/invite", url.Values{"product": {"no-such-product"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.body, "No product has this address.") {
		t.Fatalf("an unknown product: %d\n%s", res.StatusCode, res.body)
	}
	if res := b.post("/admin/surveys/"+nps.ID.Hex()+"/invite", url.Values{"product": {kopi.Slug}, "inactive_days": {"0"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite the buyers: %d\n%s", res.StatusCode, res.body)
	}
	if err := e.feedback.SendInvitations(ctx); err != nil {
		t.Fatal(err)
	}
	for name, products := range bought {
		want := slices.Contains(products, kopi)
		if got := len(e.emailsTo(name+"@example.com")) == 1; got != want {
			t.Errorf("%s (bought %d products) invited: %v, want %v", name, len(products), got, want)
		}
	}
}

// npsSurvey is an active NPS survey, made by staff.
func (e *env) npsSurvey(staff *customers.Customer) *feedback.Survey {
	e.t.Helper()
	nps, err := e.feedback.SaveSurvey(context.Background(), staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community",
		QuestionEN: "How likely are you to recommend us?", QuestionID: "Seberapa mungkin Anda merekomendasikan kami?", Active: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return nps
}
