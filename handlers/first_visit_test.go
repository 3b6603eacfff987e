package handlers_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/moderation"
)

// A member's profile lists everything they wrote — threads, replies, ideas and reviews —
// and what a moderator hid stays there for them, with the reason; their public page
// shows only what is published.
func TestProfile_ContributionsOfEveryKindWithTheirStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	help := e.category("Help", false)
	dewi := e.person("dewi@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator)
	th, err := e.community.CreateThread(ctx, dewi, community.ThreadInput{Category: help.Slug, Title: "Grinder settings for V60", Body: "Which setting do you use?"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.community.CreateThread(ctx, e.person("eko@example.com"), community.ThreadInput{Category: help.Slug, Title: "Rice cooker lid", Body: "Mine leaks steam."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Reply(ctx, dewi, content.Ref{Kind: content.KindThread, ID: other.ID}, community.PostInput{Body: "Try a new seal."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.CreateIdea(ctx, dewi, community.IdeaInput{Title: "Refill packs for the coffee", Body: "Less plastic please."}); err != nil {
		t.Fatal(err)
	}
	e.review(dewi, e.product("Kopi Gayo"), 4, "Harum.")
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{"thread:" + th.ID.Hex()}, Action: moderation.ActionReject, Reason: "Please post in the coffee forum"}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, base)
	b.signIn("dewi@example.com")
	page := b.get("/profile?lang=en")
	for _, want := range []string{"Grinder settings for V60", "Rice cooker lid", "Refill packs for the coffee", "Kopi Gayo",
		"hidden by a moderator", "The moderator’s reason: Please post in the coffee forum"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the profile lacks %q", want)
		}
	}
	// The hidden thread itself: its author reads it with the reason, others learn it was
	// removed (410), not that it never existed.
	if own := b.get(th.URL()); own.StatusCode != http.StatusOK || !strings.Contains(own.body, "Please post in the coffee forum") {
		t.Fatalf("the author's hidden thread: %d", own.StatusCode)
	}
	if gone := newBrowser(t, base).get(th.URL() + "?lang=en"); gone.StatusCode != http.StatusGone || !strings.Contains(gone.body, "Removed by moderators") {
		t.Fatalf("a reader of the hidden thread: %d\n%s", gone.StatusCode, gone.body)
	}
	public := newBrowser(t, base).get("/members/" + dewi.ID.Hex())
	if public.StatusCode != http.StatusOK || strings.Contains(public.body, "Grinder settings for V60") || !strings.Contains(public.body, "Refill packs") {
		t.Fatalf("the public page shows only what is published: %d", public.StatusCode)
	}
}

// A visitor sees Vote, Like, Helpful and Reply like a member does; each asks them to sign
// in and brings them back to where they were.
func TestVisitors_SeeTheActionsAndAreAskedToSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	help := e.category("Help", false)
	ayu := e.person("ayu@example.com")
	idea, err := e.community.CreateIdea(ctx, ayu, community.IdeaInput{Title: "Refill packs", Body: "Less plastic."})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Grinder", Body: "Which setting?"})
	if err != nil {
		t.Fatal(err)
	}
	kopi := e.product("Kopi Gayo")
	r := e.review(ayu, kopi, 5, "Harum.")
	visitor := newBrowser(t, base)
	for page, link := range map[string]string{
		idea.URL() + "?lang=en":               `href="/signin?next=` + strings.ReplaceAll(idea.URL(), "/", "%2f") + `"`,
		th.URL() + "?lang=en":                 `href="/signin?next=` + strings.ReplaceAll(th.URL(), "/", "%2f") + `%23post-`,
		"/products/" + kopi.Slug + "?lang=en": `href="/signin?next=/products/` + kopi.Slug + `%23review-` + r.ID.Hex() + `"`,
	} {
		body := visitor.get(page).body
		if !strings.Contains(strings.ToLower(body), strings.ToLower(link)) {
			t.Errorf("%s: no sign-in link %s", page, link)
		}
	}
	if body := visitor.get("/ideas?lang=en").body; !strings.Contains(body, ">Vote</a>") {
		t.Error("the ideas list has no Vote for a visitor")
	}
	res := visitor.post("/signin", url.Values{"email": {"ayu@example.com"}, "password": {"correct horse battery"}, "next": {idea.URL()}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != idea.URL() {
		t.Fatalf("back after signing in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// Whoever reported something sees that they did, on the page, instead of the form.
func TestFlags_TheReporterSeesTheyReported(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	kopi := e.product("Kopi Gayo")
	r := e.review(e.person("ayu@example.com"), kopi, 1, "Beli di toko saya saja.")
	e.person("budi@example.com")
	e.person("eko@example.com")
	budi := newBrowser(t, base)
	budi.signIn("budi@example.com")
	page := "/products/" + kopi.Slug + "?lang=en"
	budi.get(page)
	if res := budi.post("/flags", url.Values{"ref": {"review:" + r.ID.Hex()}, "reason": {"spam"}, "back": {"/products/" + kopi.Slug}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("flag: %d", res.StatusCode)
	}
	if body := budi.get(page).body; !strings.Contains(body, "You reported this") || strings.Contains(body, `value="review:`+r.ID.Hex()+`"`) {
		t.Fatal("the reporter does not see that they reported it")
	}
	eko := newBrowser(t, base)
	eko.signIn("eko@example.com")
	if body := eko.get(page).body; strings.Contains(body, "You reported this") || !strings.Contains(body, `value="review:`+r.ID.Hex()+`"`) {
		t.Fatal("another member sees someone else's report")
	}
}

// An average is shown as it is: 4.5 is four stars and a half, not five.
func TestStars_PartialForAnAverage(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	kopi := e.product("Kopi Gayo")
	e.review(e.person("a@example.com"), kopi, 4, "Enak.")
	e.review(e.person("b@example.com"), kopi, 5, "Enak sekali.")
	body := newBrowser(t, base).get("/products/" + kopi.Slug + "?lang=en").body
	if !strings.Contains(body, `aria-label="4.5 out of 5 stars"><span class="off">★★★★★</span><span class="on f45">★★★★★</span>`) {
		t.Fatalf("the average's stars:\n%s", body)
	}
}

// A forum row shows who started it (with an avatar), who replied last and how long ago;
// staff are marked where they write.
func TestForums_RowsShowTheLastReplyAndStaff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	help := e.category("Help", false)
	ayu := e.person("ayu@example.com")
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Grinder settings", Body: "Which one?"})
	if err != nil {
		t.Fatal(err)
	}
	staff := e.person("daniel@example.com", customers.RoleProduct)
	if _, err := e.community.Reply(ctx, staff, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Setting 12 for V60."}); err != nil {
		t.Fatal(err)
	}
	list := newBrowser(t, base).get("/forums?lang=en").body
	if !strings.Contains(list, `<span class="avatar initials" aria-hidden="true">A</span>`) || !strings.Contains(list, "last reply by daniel, just now") {
		t.Fatalf("the forum row:\n%s", list)
	}
	if id := newBrowser(t, base).get("/forums?lang=id").body; !strings.Contains(id, "balasan terakhir oleh daniel, baru saja") {
		t.Fatal("the forum row in Indonesian")
	}
	if page := newBrowser(t, base).get(th.URL() + "?lang=en").body; strings.Count(page, `<span class="badge staff">Staff</span>`) != 1 {
		t.Fatal("the staff reply is not marked, or the member's post is")
	}
}

// Rejecting a thread says what happens to the replies in it, and the notifications that
// lead into it say it was removed, not that it never existed.
func TestModeration_RejectingAThreadSaysWhatHappensToReplies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	help := e.category("Help", false)
	ayu, eko, budi := e.person("ayu@example.com"), e.person("eko@example.com"), e.person("budi@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator)
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Cheap copies here", Body: "Visit my shop."})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.community.Reply(ctx, eko, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "This looks like spam."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Agreed.", QuoteOf: reply.ID.Hex()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.moderation.Flag(ctx, eko, moderation.FlagInput{Ref: "thread:" + th.ID.Hex(), Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	if q := m.get("/moderation/?lang=en"); !strings.Contains(q.body, "Rejecting hides the thread and every reply in it from readers") {
		t.Fatalf("the queue does not say what rejecting a thread does:\n%s", q.body)
	}
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{"thread:" + th.ID.Hex()}, Action: moderation.ActionReject, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn("eko@example.com")
	list := b.get("/notifications?lang=en")
	link := regexp.MustCompile(`href="(/notifications/[0-9a-f]+)"`).FindStringSubmatch(list.body)
	if link == nil {
		t.Fatalf("eko has no notification:\n%s", list.body)
	}
	res := b.get(link[1])
	for res.StatusCode == http.StatusSeeOther || res.StatusCode == http.StatusFound {
		res = b.get(res.Header.Get("Location"))
	}
	if res.StatusCode != http.StatusGone || !strings.Contains(res.body, "Removed by moderators") {
		t.Fatalf("eko's notification leads to %d:\n%s", res.StatusCode, res.body)
	}
}

// A testimonial quoted from a review shows the review's stars.
func TestTestimonials_FromAReviewShowItsStars(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	sari := e.person("sari@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator)
	e.quoted(e.review(sari, e.product("Kopi Gayo"), 4, "Harum dan segar."), sari, mod)
	if body := newBrowser(t, base).get("/testimonials?lang=en").body; !strings.Contains(body, `aria-label="4 out of 5 stars"`) {
		t.Fatalf("the testimonial's stars:\n%s", body)
	}
}

// Product staff import a JSON Lines file from the products page, and see what each line did.
func TestAdminProducts_ImportAFile(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("product@example.com", customers.RoleProduct)
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	b.get("/admin/products?lang=en")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", b.csrf())
	part, _ := w.CreateFormFile("file", "catalogue.jsonl")
	part.Write([]byte("{\"name\":\"Teh Melati\",\"category\":\"Teh / Tea\"}\n{\"name\":\"\"}\n"))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/products/import", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res := b.do(req)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "<td>1</td><td>teh-melati</td><td>created") || !strings.Contains(res.body, "not imported:") {
		t.Fatalf("import a file: %d\n%s", res.StatusCode, res.body)
	}
	if _, err := e.reviews.Product(context.Background(), "teh-melati"); err != nil {
		t.Fatal("the product was not created")
	}
	if res := b.post("/admin/products/import", nil); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Choose a JSON Lines file") {
		t.Fatalf("no file: %d", res.StatusCode)
	}
}

// The queue says who flagged an item, and takes a moderator to where it is read.
func TestModerationQueue_WhoFlaggedAndInContext(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	help := e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Grinder", Body: "Which setting?"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.community.Reply(ctx, ayu, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Buy from my shop."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.moderation.Flag(ctx, budi, moderation.FlagInput{Ref: "post:" + reply.ID.Hex(), Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	q := m.get("/moderation/?lang=en")
	if !strings.Contains(q.body, "by budi") || !strings.Contains(q.body, `href="/moderation/open/post:`+reply.ID.Hex()+`"`) {
		t.Fatalf("the queue:\n%s", q.body)
	}
	res := m.get("/moderation/open/post:" + reply.ID.Hex())
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != th.URL()+"#post-"+reply.ID.Hex() {
		t.Fatalf("in context: %d %q", res.StatusCode, loc)
	}
	if res := newBrowser(t, base).get("/moderation/open/post:" + reply.ID.Hex()); res.StatusCode == http.StatusSeeOther && strings.Contains(res.Header.Get("Location"), "#post-") {
		t.Fatal("a visitor is shown the way")
	}
}

// A forum category has a name (and description) in each language; readers see theirs.
func TestCategories_NamesInBothLanguages(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("admin@example.com", customers.RoleAdmin)
	b := newBrowser(t, base)
	b.signIn("admin@example.com")
	b.get("/admin/categories?lang=en")
	bad := b.post("/admin/categories", url.Values{"name": {"Coffee corner"}, "name_id": {strings.Repeat("k", 61)}})
	if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "at most 60") {
		t.Fatalf("a name too long: %d", bad.StatusCode)
	}
	if res := b.post("/admin/categories", url.Values{"name": {"Coffee corner"}, "name_id": {"Pojok Kopi"}, "description": {"Recipes and chat."},
		"description_id": {"Resep dan obrolan."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, res.body)
	}
	visitor := newBrowser(t, base)
	if en := visitor.get("/forums/coffee-corner?lang=en").body; !strings.Contains(en, "<h1>Coffee corner</h1>") || !strings.Contains(en, "Recipes and chat.") {
		t.Fatalf("in English:\n%s", en)
	}
	if id := visitor.get("/forums/coffee-corner?lang=id").body; !strings.Contains(id, "<h1>Pojok Kopi</h1>") || !strings.Contains(id, "Resep dan obrolan.") {
		t.Fatalf("in Indonesian:\n%s", id)
	}
}

// A review asked for as a testimonial shows its author exactly what would be shown, and the
// words asking say so: stars, name, picture (or initials) and product.
func TestTestimonials_TheAskShowsWhatWouldBeShown(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	sari := e.person("sari@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator)
	r := e.review(sari, e.product("Kopi Gayo"), 4, "Harum dan segar.")
	if _, err := e.reviews.PromoteReview(context.Background(), mod, r.ID); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(sari.Email)
	page := b.get("/profile?lang=en").body
	if !strings.Contains(page, "your star rating, your display name, your profile picture (or initials) and the product") {
		t.Error("the ask does not say what would be shown")
	}
	preview := page[strings.Index(page, `class="card testimonial preview"`):]
	for _, want := range []string{`aria-label="4 out of 5 stars"`, "Harum dan segar.", "<strong>" + sari.DisplayName + "</strong>", "Kopi Gayo"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
}

// The idea page's breadcrumb is where the idea lives (ideas, then its product), and the
// roadmap is reached from the idea's state when it is on it.
func TestIdeas_TrueBreadcrumb(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	ctx := context.Background()
	p := e.product("Kopi Gayo")
	idea, err := e.community.CreateIdea(ctx, e.person("ayu@example.com"), community.IdeaInput{Title: "Kemasan isi ulang", Body: "Lebih hemat.", ProductID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	crumbs := func() string {
		page := newBrowser(t, base).get(idea.URL() + "?lang=en").body
		start := strings.Index(page, `<nav class="crumbs"`)
		return page[start : start+strings.Index(page[start:], "</nav>")]
	}
	if c := crumbs(); !strings.Contains(c, `href="/ideas"`) || !strings.Contains(c, `href="/ideas?product=`+p.Slug+`">Kopi Gayo</a>`) || strings.Contains(c, "/roadmap") {
		t.Errorf("an open idea's crumbs: %s", c)
	}
	if _, err := e.community.SetState(ctx, e.person("pm@example.com", customers.RoleProduct), idea.ID, community.StatusInput{Status: community.StatePlanned}); err != nil {
		t.Fatal(err)
	}
	if page := newBrowser(t, base).get(idea.URL() + "?lang=en").body; !strings.Contains(page, `href="/roadmap#col-planned"`) {
		t.Error("a planned idea does not lead to the roadmap")
	}
}

// A product's name and description can be given in both languages; each reader sees
// theirs, and the words of either find it.
func TestProducts_NamesInBothLanguages(t *testing.T) {
	e := newEnv(t)
	e.person("pm@example.com", customers.RoleProduct)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	pm := newBrowser(t, base)
	pm.signIn("pm@example.com")
	pm.get("/admin/products")
	res := pm.post("/admin/products", url.Values{"name": {"Rice Cooker RC-2"}, "name_id": {"Penanak Nasi RC-2"},
		"description": {"A two litre rice cooker."}, "description_id": {"Penanak nasi dua liter."}, "category": {"Kitchen"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, res.body)
	}
	reader := newBrowser(t, base)
	en, id := reader.get("/products/rice-cooker-rc-2?lang=en").body, reader.get("/products/rice-cooker-rc-2?lang=id").body
	if !strings.Contains(en, "<h1>Rice Cooker RC-2</h1>") || !strings.Contains(en, "A two litre rice cooker.") {
		t.Error("the English page does not show the English name and description")
	}
	if !strings.Contains(id, "<h1>Penanak Nasi RC-2</h1>") || !strings.Contains(id, "Penanak nasi dua liter.") || !strings.Contains(id, "<title>Penanak Nasi RC-2") {
		t.Error("the Indonesian page does not show the Indonesian name and description")
	}
	if page := pm.get("/admin/products/rice-cooker-rc-2").body; !strings.Contains(page, `value="Penanak Nasi RC-2"`) {
		t.Error("the edit form does not show the Indonesian name")
	}
	e.sync()
	if page := reader.get("/search?lang=id&q=penanak+nasi").body; !strings.Contains(page, "/products/rice-cooker-rc-2") || !strings.Contains(page, "Penanak Nasi RC-2") {
		t.Errorf("the Indonesian name does not find the product:\n%s", page)
	}
}
