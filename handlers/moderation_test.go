package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

func TestModeration_HeldReviewApprovedFromTheQueue(t *testing.T) {
	e := newEnv(t)
	p := e.product("Tote")
	e.person("writer@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	w := newBrowser(t, base)
	w.signIn("writer@example.com")
	w.get("/products/" + p.Slug)
	if res := w.post("/products/"+p.Slug+"/reviews", url.Values{"rating": {"2"}, "body": {"Penjualnya penipu, tali putus."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	page := w.get("/products/" + p.Slug + "?lang=id")
	if !strings.Contains(page.body, "Ulasan Anda menunggu moderator") || !strings.Contains(page.body, "menunggu moderator") {
		t.Fatal("the author is told the review waits")
	}
	if anon := newBrowser(t, base).get("/products/" + p.Slug); strings.Contains(anon.body, "tali putus") {
		t.Fatal("a held review is not public")
	}
	if res := w.get("/moderation/"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer on the queue: %d", res.StatusCode)
	}

	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	q := m.get("/moderation/?lang=id")
	if !strings.Contains(q.body, "kata yang diawasi: penipu") || !strings.Contains(q.body, "tali putus") {
		t.Fatalf("the queue shows the item with its reason:\n%s", q.body)
	}
	review, _ := e.reviews.ReviewBy(context.Background(), mustFind(t, e, "writer@example.com").ID, p.ID)
	ref := "review:" + review.ID.Hex()
	if res := m.post("/moderation/decisions", url.Values{"single": {"reject " + ref}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reject without a reason: %d", res.StatusCode)
	}
	if res := m.post("/moderation/decisions", url.Values{"single": {"approve " + ref}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.StatusCode)
	}
	if anon := newBrowser(t, base).get("/products/" + p.Slug); !strings.Contains(anon.body, "tali putus") || !strings.Contains(anon.body, "<strong>2.0</strong>") {
		t.Fatal("approved: public and counted in the rating")
	}
	log := m.get("/moderation/log?lang=en")
	if !strings.Contains(log.body, "approved") || !strings.Contains(log.body, "held by a rule") {
		t.Fatal("the audit log shows the rule and the decision")
	}
}

func TestModeration_FlagsFromThePageAndBulkReject(t *testing.T) {
	e := newEnv(t)
	p := e.product("Lamp")
	author := e.person("author@example.com")
	r1 := e.review(author, p, 1, "Buy from my shop instead")
	r2 := e.review(e.person("other@example.com"), p, 1, "Also my shop")
	for _, who := range []string{"f1@example.com", "f2@example.com", "f3@example.com"} {
		// members for a month: flags from accounts made today do not hide anything
		c := e.person(who)
		if _, err := e.db.Collection("customers").UpdateOne(context.Background(), bson.M{"_id": c.ID},
			bson.M{"$set": bson.M{"created_at": time.Now().Add(-30 * 24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	e.person("mod@example.com", customers.RoleModerator)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	for i, who := range []string{"f1@example.com", "f1@example.com", "f2@example.com", "f3@example.com"} {
		b := newBrowser(t, base)
		b.signIn(who)
		b.get("/products/" + p.Slug)
		res := b.post("/flags", url.Values{"ref": {"review:" + r1.ID.Hex()}, "reason": {"spam"}, "back": {"/products/" + p.Slug}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/products/"+p.Slug {
			t.Fatalf("flag %d: %d %q", i, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if got, _ := e.reviews.Review(context.Background(), r1.ID); got.Status != content.StatusHidden {
		t.Fatalf("three distinct flags (one repeated) hide it: %s", got.Status)
	}
	// Its author is told, in the portal and by email, that it waits for a moderator.
	if m, _ := e.email("author@example.com", "/profile"); !strings.Contains(m.Subject, "hidden until a moderator looks at it") ||
		!strings.Contains(m.Text, "Buy from my shop instead") {
		t.Fatalf("the author's email: %q\n%s", m.Subject, m.Text)
	}
	if n := len(e.emailsTo("author@example.com")); n != 1 {
		t.Fatalf("the author got %d emails, want 1", n)
	}
	ab := newBrowser(t, base)
	ab.signIn("author@example.com")
	if page := ab.get("/notifications"); !strings.Contains(page.body, "Reports from other members hid “T Buy from my shop instead”") {
		t.Fatalf("the author's notifications: %d %s\n%s", page.StatusCode, page.Header.Get("Location"), page.body)
	}
	if anon := newBrowser(t, base).get("/products/" + p.Slug); strings.Contains(anon.body, "Buy from my shop") {
		t.Fatal("hidden content leaves public view")
	}

	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	m.get("/moderation/")
	// r2 is not in the queue yet; flag it once so both can be rejected together.
	e.moderation.Flag(context.Background(), mustFind(t, e, "f1@example.com"), moderation.FlagInput{Ref: "review:" + r2.ID.Hex(), Reason: "spam"})
	res := m.post("/moderation/decisions", url.Values{"refs": {"review:" + r1.ID.Hex(), "review:" + r2.ID.Hex()}, "action": {"reject"}, "reason": {"Advertising"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk reject: %d\n%s", res.StatusCode, res.body)
	}
	for _, id := range []string{r1.ID.Hex(), r2.ID.Hex()} {
		r, _ := e.reviews.Review(context.Background(), mustObjectID(t, id))
		if r.Status != content.StatusHidden || r.ModerationReason != "Advertising" {
			t.Fatalf("rejected review: %s %q", r.Status, r.ModerationReason)
		}
	}
	if prof := func() string { b := newBrowser(t, base); b.signIn("author@example.com"); return b.get("/profile").body }(); !strings.Contains(prof, "Advertising") {
		t.Fatal("the author sees the reason on their profile")
	}
	if got, _ := e.reviews.Product(context.Background(), p.Slug); got.Rating.Count != 0 {
		t.Fatalf("rejected reviews do not count: %+v", got.Rating)
	}

}

func TestModeration_RulesPageAndAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Kettle")
	e.person("admin@example.com", customers.RoleAdmin)
	mod := e.person("mod@example.com", customers.RoleModerator)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	a := newBrowser(t, base)
	a.signIn("admin@example.com")
	a.get("/admin/rules")
	form := url.Values{"blocked_en": {"casino online"}, "blocked_id": {"judi online\nSlot   Gacor"}, "watched_en": {"scam"},
		"watched_id": {"penipu"}, "max_links": {"1"}, "new_account_hold": {"0"}, "flag_threshold": {"0"}}
	if res := a.post("/admin/rules", form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Enter a number from 1 to 100.") {
		t.Fatalf("threshold 0: %d", res.StatusCode)
	}
	form.Set("flag_threshold", "2")
	if res := a.post("/admin/rules", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rules: %d", res.StatusCode)
	}
	if rules, _ := e.moderation.Rules(ctx); rules.MaxLinks != 1 || rules.Blocked["id"][1] != "slot gacor" {
		t.Fatalf("rules = %+v", rules)
	}

	secret, _, err := e.identity.CreateToken(ctx, mod, identity.NewToken{Name: "mod", Scopes: []string{"read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.reviews.Create(ctx, e.person("linker@example.com"), p.Slug, reviews.Input{Rating: 3, Body: "see https://a.example and https://b.example"})
	if err != nil || r.Status != content.StatusPending {
		t.Fatalf("two links over a limit of one: %v %v", r, err)
	}
	call := func(method, path, body string) response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		return newBrowser(t, base).do(req)
	}
	q := call("GET", "/api/v1/moderation/queue", "")
	if q.StatusCode != 200 || !strings.Contains(q.body, `"rule":"too_many_links"`) {
		t.Fatalf("API queue: %d %s", q.StatusCode, q.body)
	}
	d := call("POST", "/api/v1/moderation/decisions", `[{"refs":["review:`+r.ID.Hex()+`"],"action":"approve"}]`)
	if d.StatusCode != 200 || !strings.Contains(d.body, `"after":"published"`) {
		t.Fatalf("API decision: %d %s", d.StatusCode, d.body)
	}
	if bad := call("POST", "/api/v1/moderation/decisions", `{"refs":[],"action":"nuke"}`); bad.StatusCode != 422 {
		t.Fatalf("bad decision: %d %s", bad.StatusCode, bad.body)
	}
	if f := call("POST", "/api/v1/flags", `{"ref":"review:`+r.ID.Hex()+`","reason":"spam"}`); f.StatusCode != 201 {
		t.Fatalf("API flag: %d %s", f.StatusCode, f.body)
	}
	if f := call("POST", "/api/v1/flags", `{"ref":"review:`+r.ID.Hex()+`","reason":"spam"}`); f.StatusCode != 200 || !strings.Contains(f.body, `"counted":false`) {
		t.Fatalf("API flag twice: %d %s", f.StatusCode, f.body)
	}
	cust := newBrowser(t, base)
	e.person("c@example.com")
	cust.signIn("c@example.com")
	if res := cust.get("/api/v1/moderation/queue"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer on the API queue: %d", res.StatusCode)
	}
}

// Roles are a hierarchy: a moderator acts on customers, not on staff; staff and admins answer
// to admins. A suspension takes every staff power, through pages and personal tokens alike,
// until it is lifted.
func TestRoles_HierarchyAndSuspensionTakeEveryPower(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := e.person("admin@example.com", customers.RoleAdmin)
	mod := e.person("mod@example.com", customers.RoleModerator)
	other := e.person("mod2@example.com", customers.RoleModerator)
	ani := e.person("ani@example.com")
	for _, target := range []*customers.Customer{admin, other} {
		if err := e.moderation.Suspend(ctx, mod, target.ID, "coup", nil); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("a moderator suspending %s: %v", target.Email, err)
		}
	}
	if err := e.moderation.Suspend(ctx, mod, ani.ID, "spam", nil); err != nil {
		t.Fatalf("a moderator suspending a customer: %v", err)
	}

	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asMod := e.apiAs(base, mod) // a personal token, made while a moderator
	if res := asMod("GET", "/api/v1/moderation/queue", ""); res.StatusCode != 200 {
		t.Fatalf("the queue by token: %d", res.StatusCode)
	}
	page := newBrowser(t, base)
	page.signIn("mod@example.com")
	if res := page.get("/moderation"); res.StatusCode != 200 {
		t.Fatalf("the queue page: %d", res.StatusCode)
	}

	// An admin suspends the moderator: the token and the session lose every staff power.
	if err := e.moderation.Suspend(ctx, admin, mod.ID, "abuse of powers", nil); err != nil {
		t.Fatal(err)
	}
	refused := func(status int) bool { return status == http.StatusForbidden || status == http.StatusUnauthorized }
	if res := asMod("GET", "/api/v1/moderation/queue", ""); !refused(res.StatusCode) {
		t.Fatalf("a suspended moderator's token: %d", res.StatusCode)
	}
	if res := asMod("POST", "/api/v1/moderation/decisions", `{"refs":[],"action":"approve"}`); !refused(res.StatusCode) {
		t.Fatalf("a suspended moderator deciding: %d", res.StatusCode)
	}
	if res := page.get("/moderation"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a suspended moderator's queue page: %d", res.StatusCode)
	}
	suspended, _ := e.customers.Get(ctx, mod.ID)
	if err := e.moderation.Reinstate(ctx, suspended, ani.ID); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a suspended moderator reinstating: %v", err)
	}
	if err := e.moderation.Reinstate(ctx, admin, mod.ID); err != nil {
		t.Fatal(err)
	}
	if res := asMod("GET", "/api/v1/moderation/queue", ""); res.StatusCode != 200 {
		t.Fatalf("reinstated, the token works again: %d", res.StatusCode)
	}
}
