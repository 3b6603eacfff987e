package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

// older makes a member's account as old as days, as if they had joined then.
func (e *env) older(c *customers.Customer, days int) *customers.Customer {
	e.t.Helper()
	if err := e.customers.Backdate(context.Background(), c.ID, time.Now().AddDate(0, 0, -days)); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.customers.Get(context.Background(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// A review earns points and a badge, shown on the profile and beside the name; the
// programme's page explains it; a reward is redeemed and its code shown to the redeemer.
func TestLoyalty_EarnSeeAndRedeem(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	sari := e.older(e.person("sari@example.com"), 30)
	kopi := e.product("Kopi Gayo")
	e.review(sari, kopi, 5, "Harum sekali.")
	b := newBrowser(t, base)
	b.signIn(sari.Email)
	profile := b.get("/profile?lang=en").body
	if !strings.Contains(profile, `<p class="big">10</p>`) || !strings.Contains(profile, "First review") || !strings.Contains(profile, "+10") {
		t.Fatalf("the profile's points:\n%s", profile)
	}
	if n := b.get("/notifications?lang=en").body; !strings.Contains(n, "You earned the badge “First review”") {
		t.Errorf("no notification of the badge:\n%s", n)
	}
	if page := b.get("/loyalty?lang=id").body; !strings.Contains(page, "Ulasan diterbitkan") || !strings.Contains(page, "Pemimpin") || !strings.Contains(page, "Ulasan pertama") {
		t.Errorf("the programme's page in Indonesian:\n%s", page)
	}
	if page := newBrowser(t, base).get("/badges/first_review?lang=en").body; !strings.Contains(page, "sari") {
		t.Errorf("the badge's holders:\n%s", page)
	}

	// An admin makes a coupon reward with a file of codes.
	admin := e.person("admin@example.com", customers.RoleAdmin)
	a := newBrowser(t, base)
	a.signIn(admin.Email)
	a.get("/admin/loyalty/")
	settings := url.Values{"young_days": {"3"}, "same_actor_cap": {"5"}, "daily_cap": {"20"}}
	for _, cause := range loyalty.Causes {
		settings.Set("points_"+cause, "4")
	}
	settings.Set("points_review", "-5")
	if res := a.post("/admin/loyalty/settings", settings); res.StatusCode != 422 || !strings.Contains(res.body, "Give 0 to 1000 points.") {
		t.Errorf("a negative price: %d", res.StatusCode)
	}
	settings.Set("points_review", "x")
	if res := a.post("/admin/loyalty/settings", settings); res.StatusCode != 422 || !strings.Contains(res.body, "Enter a whole number.") {
		t.Errorf("not a number: %d", res.StatusCode)
	}
	settings.Set("points_review", "12")
	if res := a.post("/admin/loyalty/settings", settings); res.StatusCode != http.StatusSeeOther {
		t.Errorf("good settings: %d", res.StatusCode)
	}
	if st, _ := e.loyalty.Settings(ctx); st.Points[content.CauseReview] != 12 || st.Points[content.CauseLike] != 4 {
		t.Errorf("saved settings: %+v", st)
	}
	res := a.postFiles("/admin/loyalty/rewards", url.Values{"name": {"10% off"}, "name_id": {"Diskon 10%"}, "cost": {"8"}, "kind": {"coupon"}},
		upload{"codes", "codes.txt", []byte("KOPI-1\nKOPI-2\n")})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create reward: %d\n%s", res.StatusCode, res.body)
	}
	rewards, _ := e.loyalty.Rewards(ctx, true)
	if len(rewards) != 1 {
		t.Fatalf("rewards: %v", rewards)
	}
	r := rewards[0]
	page := b.get("/loyalty?lang=id").body
	if !strings.Contains(page, "Diskon 10%") || !strings.Contains(page, "sisa 2") {
		t.Fatalf("the reward on the page:\n%s", page)
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatal("no redeem form")
	}
	form := url.Values{"key": {key[1]}}
	first := b.post("/rewards/"+r.ID.Hex()+"/redeem", form)
	again := b.post("/rewards/"+r.ID.Hex()+"/redeem", form) // a double click
	if first.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("redeem: %d %q, again %q", first.StatusCode, first.Header.Get("Location"), again.Header.Get("Location"))
	}
	shown := b.get(first.Header.Get("Location") + "?lang=en").body
	if !regexp.MustCompile(`<strong>KOPI-[12]</strong>`).MatchString(shown) {
		t.Errorf("the code is not shown:\n%s", shown)
	}
	if got, _ := e.customers.Get(ctx, sari.ID); got.Loyalty.Points != 2 {
		t.Errorf("balance after redeeming: %d, want 2", got.Loyalty.Points)
	}
	if other := e.apiAs(base, admin)("GET", "/api/v1/members/"+sari.ID.Hex()+"/badges", ""); other.StatusCode != 200 ||
		!strings.Contains(other.body, `"badge":"first_review"`) || !strings.Contains(other.body, `"points":2`) {
		t.Errorf("API badges: %d %s", other.StatusCode, other.body)
	}
	// The API redeems with the request's Idempotency-Key: once, however often it is sent.
	e.review(sari, e.product("Teh"), 5, "Wangi melati, pas untuk sore hari.")
	redeem := func(key string) response {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/rewards/"+r.ID.Hex()+"/redeem", nil)
		req.Header.Set("X-CSRF-Token", b.csrf())
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return b.do(req)
	}
	if res := redeem(""); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("API redeem without a key: %d %s", res.StatusCode, res.body)
	}
	viaAPI, again2 := redeem("shop-order-77"), redeem("shop-order-77")
	if viaAPI.StatusCode != http.StatusCreated || !regexp.MustCompile(`"code":"KOPI-[12]"`).MatchString(viaAPI.body) || again2.body != viaAPI.body {
		t.Errorf("API redeem: %d %s, again %s", viaAPI.StatusCode, viaAPI.body, again2.body)
	}
	// Nobody else sees the code.
	c := newBrowser(t, base)
	c.signIn(e.person("curious@example.com").Email)
	if res := c.get(first.Header.Get("Location")); res.StatusCode != 404 {
		t.Errorf("another member reads the redemption: %d", res.StatusCode)
	}

	// A manual badge, with its reason in the audit log.
	a.get("/admin/loyalty/")
	if res := a.post("/admin/loyalty/badges", url.Values{"email": {sari.Email}, "badge": {"community_hero"}, "reason": {""}}); res.StatusCode != 422 {
		t.Errorf("a badge without a reason: %d", res.StatusCode)
	}
	if res := a.post("/admin/loyalty/badges", url.Values{"email": {sari.Email}, "badge": {"community_hero"}, "reason": {"Helped at the launch"}, "do": {"award"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("award: %d", res.StatusCode)
	}
	if log := a.get("/moderation/log?lang=en").body; !strings.Contains(log, "community_hero: Helped at the launch") {
		t.Errorf("the audit log lacks the badge:\n%s", log)
	}
}

// Levels change what moderation does: a regular's post with links is published, a new
// account's is held; a regular's flag counts double.
func TestLoyalty_LevelsChangeModeration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	rules, _ := e.moderation.Rules(ctx)
	rules.MaxLinks = 1
	if err := e.moderation.SaveRules(ctx, e.person("rules@example.com", customers.RoleAdmin).ID, rules); err != nil {
		t.Fatal(err)
	}
	regular := e.older(e.person("regular@example.com"), 30)
	for i := range 10 { // 100 points
		e.loyalty.Reward(ctx, content.Reward{Member: regular.ID, Cause: content.CauseReview, Ref: fmt.Sprint("old", i)}, true)
	}
	if got, _ := e.customers.Get(ctx, regular.ID); got.Loyalty.Level != 2 {
		t.Fatalf("level %d, want 2", got.Loyalty.Level)
	}
	links := "See https://a.example and https://b.example"
	th, err := e.community.CreateThread(ctx, regular, community.ThreadInput{Category: help.Slug, Title: "Two guides", Body: links})
	if err != nil || th.Status != content.StatusPublished {
		t.Fatalf("a regular's links: %v %v", th, err)
	}
	newbie := e.person("newbie@example.com")
	th2, err := e.community.CreateThread(ctx, newbie, community.ThreadInput{Category: help.Slug, Title: "Two guides too", Body: links + " here"})
	if err != nil || th2.Status != content.StatusPending {
		t.Fatalf("a new account's links: %v %v", th2, err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	// The regular's name carries their level where they post.
	if page := newBrowser(t, base).get(th.URL() + "?lang=en").body; !strings.Contains(page, `class="level level-2"`) || !strings.Contains(page, ">Regular</a>") {
		t.Errorf("no level beside the name:\n%s", page)
	}
	if res := e.apiAs(base, e.person("pm@example.com", customers.RoleProduct))("GET", "/api/v1/leaderboard?period=all", ""); res.StatusCode != 200 || !strings.Contains(res.body, `"name":"regular"`) {
		t.Errorf("API leaderboard: %d %s", res.StatusCode, res.body)
	}
	// The customers list sorts and filters by level; the record shows points and level.
	pm := newBrowser(t, base)
	pm.signIn("pm@example.com")
	list := pm.get("/staff/customers/?sort=level&lang=en").body
	if i, j := strings.Index(list, ">regular</a>"), strings.Index(list, ">newbie</a>"); i < 0 || j < 0 || i > j {
		t.Errorf("by level: regular at %d, newbie at %d", i, j)
	}
	if only := pm.get("/staff/customers/?level=2&lang=en").body; !strings.Contains(only, ">regular</a>") || strings.Contains(only, ">newbie</a>") {
		t.Error("the level filter")
	}
	if rec := pm.get("/staff/customers/" + regular.ID.Hex() + "?lang=en").body; !strings.Contains(rec, "<strong>100</strong> Points") || !strings.Contains(rec, "Level: Regular") {
		t.Errorf("the record's loyalty:\n%s", rec)
	}
	res := newBrowser(t, base).get("/leaderboard?period=all&lang=en")
	if !strings.Contains(res.body, "regular") || strings.Contains(res.body, "rules@example") {
		t.Errorf("leaderboard page:\n%s", res.body)
	}
}

// Points follow what earned them: a reply hidden by a moderator loses its answer's and its
// likes' points, and its author's standing drops; shown again, the points come back.
func TestLoyalty_HiddenContentTakesItsPointsBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	ayu, budi, dewi := e.older(e.person("ayu@example.com"), 30), e.older(e.person("budi@example.com"), 30), e.older(e.person("dewi@example.com"), 30)
	mod := e.person("mod@example.com", customers.RoleModerator)
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Kettle scale", Body: "How do I descale it?"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Vinegar and water, an hour."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Accept(ctx, ayu, th.ID, reply.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Like(ctx, dewi, reply.ID, true); err != nil {
		t.Fatal(err)
	}
	points := func() int {
		c, _ := e.customers.Get(ctx, budi.ID)
		return c.Loyalty.Points
	}
	if p := points(); p != 16 {
		t.Fatalf("an accepted, liked answer: %d points, want 16", p)
	}
	decide := func(action moderation.Action) {
		if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Action: action, Refs: []string{"post:" + reply.ID.Hex()}, Reason: "Off topic"}); err != nil {
			t.Fatal(err)
		}
	}
	decide(moderation.ActionReject)
	if p := points(); p != 0 {
		t.Fatalf("after hiding the reply: %d points, want 0", p)
	}
	if c, _ := e.customers.Get(ctx, budi.ID); c.Loyalty.StrikeAt == nil {
		t.Error("the rejection left no mark on the author's standing")
	}
	decide(moderation.ActionApprove)
	if p := points(); p != 16 {
		t.Fatalf("shown again: %d points, want 16", p)
	}
}

// A helpful vote earns the review's author points; turned to "not helpful", they go.
func TestLoyalty_VoteWithdrawn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sari, budi := e.older(e.person("sari@example.com"), 30), e.older(e.person("budi@example.com"), 30)
	r := e.review(sari, e.product("Teh"), 4, "Segar.")
	points := func() int {
		c, _ := e.customers.Get(ctx, sari.ID)
		return c.Loyalty.Points
	}
	if _, err := e.reviews.Vote(ctx, budi, r.ID, true); err != nil {
		t.Fatal(err)
	}
	if p := points(); p != 12 {
		t.Fatalf("a review and a helpful vote: %d, want 12", p)
	}
	if _, err := e.reviews.Vote(ctx, budi, r.ID, false); err != nil {
		t.Fatal(err)
	}
	if p := points(); p != 10 {
		t.Fatalf("the vote turned: %d, want 10", p)
	}
	// A helpful vote again, then the review hidden: its votes' points go with it.
	if _, err := e.reviews.Vote(ctx, budi, r.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reviews.SetStatus(ctx, r.ID, content.StatusHidden, "Off topic"); err != nil {
		t.Fatal(err)
	}
	if p := points(); p != 0 {
		t.Fatalf("the review hidden: %d, want 0", p)
	}
	if _, err := e.reviews.SetStatus(ctx, r.ID, content.StatusPublished, ""); err != nil {
		t.Fatal(err)
	}
	if p := points(); p != 12 {
		t.Fatalf("shown again: %d, want 12", p)
	}
}

// The customers list leaves staff out unless asked, and sorts by score both ways and by
// last activity, a page at a time.
func TestCustomersList_StaffLeftOutAndMoreOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pm := e.person("pm@example.com", customers.RoleProduct)
	var people []*customers.Customer
	for i := range 30 {
		c := e.person(fmt.Sprintf("c%02d@example.com", i))
		// A score as the signals would leave it, written straight to the record.
		if _, err := e.db.Collection("customers").UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$set": bson.M{"satisfaction.score": i * 3}}); err != nil {
			t.Fatal(err)
		}
		people = append(people, c)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(pm.Email)
	if page := b.get("/staff/customers/?q=pm&lang=en").body; strings.Contains(page, ">pm</a>") {
		t.Error("a staff account in the customers list")
	}
	if page := b.get("/staff/customers/?staff=1&q=pm&lang=en").body; !strings.Contains(page, ">pm</a>") {
		t.Error("staff accounts are not listed when asked for")
	}
	// Lowest score first, over two pages, each once.
	first := b.get("/staff/customers/?sort=score_asc&lang=en").body
	if i, j := strings.Index(first, ">c00</a>"), strings.Index(first, ">c01</a>"); i < 0 || j < 0 || i > j {
		t.Fatalf("lowest first: c00 at %d, c01 at %d", i, j)
	}
	next := regexp.MustCompile(`href="(/staff/customers/\?[^"]*after=[^"]*)"`).FindStringSubmatch(first)
	if next == nil {
		t.Fatal("no next page")
	}
	second := b.get(strings.ReplaceAll(next[1], "&amp;", "&")).body
	if !strings.Contains(second, ">c29</a>") || strings.Contains(second, ">c00</a>") {
		t.Errorf("the second page, lowest first:\n%s", second)
	}
	if page := b.get("/staff/customers/?sort=active&lang=en").body; !strings.Contains(page, "Last active") || !strings.Contains(page, `<abbr title="Registered; no contribution`) {
		t.Error("the last active column or the stage's explanation")
	}
	if len(people) != 30 {
		t.Fatal(len(people))
	}
}

// The staff home shows what waits — the queue, testimonials, items to send — detractors
// active this week and the month's KPIs; a moderator's header counts the queue.
func TestStaffHome_WhatWaits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Kopi")
	held, err := e.reviews.Create(ctx, e.person("angry@example.com"), p.Slug, reviews.Input{Rating: 1, Body: "A scam, really."})
	if err != nil || held.Status != content.StatusPending {
		t.Fatalf("a held review: %v %v", held, err)
	}
	sad := e.person("sad@example.com")
	if _, err := e.db.Collection("customers").UpdateOne(ctx, bson.M{"_id": sad.ID}, bson.M{"$set": bson.M{
		"satisfaction.nps_category": "detractor", "satisfaction.band": "at_risk", "last_active_at": time.Now()}}); err != nil {
		t.Fatal(err)
	}
	admin := e.person("boss@example.com", customers.RoleAdmin)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(admin.Email)
	page := b.get("/staff?lang=en").body
	for _, want := range []string{`<p class="big">1</p><p class="muted small">items waiting</p>`, "Detractors active this week", ">sad</a>",
		`<span class="count" aria-label="items waiting">1</span>`, "last 30 days"} {
		if !strings.Contains(page, want) {
			t.Errorf("the staff home lacks %s", want)
		}
	}
	if res := newBrowser(t, base).get("/staff"); res.StatusCode == 200 {
		t.Error("a visitor sees the staff home")
	}
}

// A signed-in member's home suggests from their own history, saying why: a product they
// bought and have not reviewed, a new reply to their thread, an unanswered question in a
// forum they take part in, an idea about their product — and nothing of anyone else's.
func TestHome_ForYou(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	ayu, budi, dewi := e.person("ayu@example.com"), e.person("budi@example.com"), e.person("dewi@example.com")
	kopi, teh := e.product("Kopi Gayo"), e.product("Teh Melati")
	if _, err := e.reviews.RecordPurchase(ctx, ayu.ID, customers.Purchase{ProductID: kopi.ID, OrderID: "A-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reviews.RecordPurchase(ctx, budi.ID, customers.Purchase{ProductID: teh.ID, OrderID: "B-1"}); err != nil {
		t.Fatal(err)
	}
	mine, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Ayu's grinder question", Body: "Which setting?"})
	if err != nil {
		t.Fatal(err)
	}
	answer, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: mine.ID}, community.PostInput{Body: "Setting 12."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.CreateThread(ctx, dewi, community.ThreadInput{Category: help.Slug, Title: "Dewi's kettle question", Body: "Why does it click?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.CreateIdea(ctx, dewi, community.IdeaInput{Title: "Kopi refill pouches", Body: "Less plastic.", ProductID: kopi.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.CreateIdea(ctx, dewi, community.IdeaInput{Title: "Teh in tins", Body: "Keeps fresh.", ProductID: teh.ID}); err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(ayu.Email)
	page := b.get("/?lang=en").body
	start := strings.Index(page, `id="for-you"`)
	if start < 0 {
		t.Fatalf("no For you:\n%s", page)
	}
	section := page[start : start+strings.Index(page[start:], "</section>")]
	for _, want := range []string{"Review Kopi Gayo", "because you bought it on", "Ayu&#39;s grinder question", "new since you last looked",
		"Dewi&#39;s kettle question", "in Help, where you take part", "Kopi refill pouches", "an idea about Kopi Gayo"} {
		if !strings.Contains(section, want) {
			t.Errorf("For you lacks %q:\n%s", want, section)
		}
	}
	for _, other := range []string{"Teh Melati", "Teh in tins"} {
		if strings.Contains(section, other) {
			t.Errorf("For you shows %q, which is Budi's", other)
		}
	}
	if anon := newBrowser(t, base).get("/?lang=en").body; strings.Contains(anon, `id="for-you"`) {
		t.Error("a visitor sees For you")
	}
	// Budi's answer was accepted in Help: its unanswered questions are his to answer, and
	// Ayu's thread, answered, is among the lively ones there.
	if _, err := e.community.Accept(ctx, ayu, mine.ID, answer.ID); err != nil {
		t.Fatal(err)
	}
	bb := newBrowser(t, base)
	bb.signIn(budi.Email)
	page = bb.get("/?lang=en").body
	start = strings.Index(page, `id="for-you"`)
	section = page[start : start+strings.Index(page[start:], "</section>")]
	for _, want := range []string{"Dewi&#39;s kettle question", "in Help, where your answers were accepted", "Ayu&#39;s grinder question", "lively in Help"} {
		if !strings.Contains(section, want) {
			t.Errorf("Budi's For you lacks %q:\n%s", want, section)
		}
	}
}
