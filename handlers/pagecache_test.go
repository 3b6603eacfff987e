package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/store/storetest"
)

// A visitor's page is rendered once and then served from the cache until a write changes
// something it shows; writes elsewhere leave it alone.
func TestPageCache_KeepsAnonymousPagesUntilAWriteChangesThem(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pc := handlers.NewPageCache(time.Hour, 8<<20)
	pc.SetRerenderInterval(0)
	pc.SetRefreshWait(time.Minute) // a visitor after a write waits for the new rendering
	storetest.Watch(t, pc.Monitor())
	e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	mod := e.person("mod@example.com", "moderator")
	thread := func(title string) *community.Thread {
		t.Helper()
		th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: title, Body: "Every hour, since Monday."})
		if err != nil {
			t.Fatal(err)
		}
		return th
	}
	router, kopi := thread("Router keeps rebooting"), thread("Kopi Gayo brewing tips")
	p := e.product("Kopi Gayo Arabika")
	review := e.review(ayu, p, 5, "Harum dan lembut.")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: pc}))

	visitor := newBrowser(t, base)
	visit := func(path, want string) string {
		t.Helper()
		res := visitor.get(path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		if got := res.Header.Get("X-Cache"); got != want {
			t.Fatalf("GET %s: X-Cache %q, want %q", path, got, want)
		}
		return res.body
	}
	for _, path := range []string{router.URL(), kopi.URL(), "/forums", "/products/" + p.Slug, "/api/v1/threads"} {
		visit(path, "miss")
		visit(path, "hit")
	}

	// A reply to one thread: its page and the lists change, the other thread's page does not.
	reply, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: router.ID}, community.PostInput{Body: "Update the firmware first."})
	if err != nil {
		t.Fatal(err)
	}
	if body := visit(router.URL(), "miss"); !strings.Contains(body, "Update the firmware first.") {
		t.Fatal("the re-rendered thread lacks the reply")
	}
	visit(router.URL(), "hit")
	visit(kopi.URL(), "hit")
	visit("/forums", "miss")
	visit("/api/v1/threads", "miss")
	visit("/products/"+p.Slug, "hit")

	// A like changes the reply's count; a moderator hiding the reply takes it off the page.
	if _, err := e.community.Like(ctx, ayu, reply.ID, true); err != nil {
		t.Fatal(err)
	}
	visit(router.URL(), "miss")
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{content.Ref{Kind: content.KindPost, ID: reply.ID}.String()},
		Action: moderation.ActionReject, Reason: "off topic"}); err != nil {
		t.Fatal(err)
	}
	if body := visit(router.URL(), "miss"); strings.Contains(body, "Update the firmware first.") {
		t.Fatal("a hidden reply is still shown")
	}
	visit(kopi.URL(), "hit")

	// A helpful vote on a review changes the product page.
	visit("/products/"+p.Slug, "hit")
	if _, err := e.reviews.Vote(ctx, budi, review.ID, true); err != nil {
		t.Fatal(err)
	}
	visit("/products/"+p.Slug, "miss")

	// Signed in, every page is the member's own: never from the cache, never kept.
	member := newBrowser(t, base)
	member.signIn("budi@example.com")
	if res := member.get(kopi.URL()); res.Header.Get("X-Cache") != "" || !strings.Contains(res.body, "Kopi Gayo brewing tips") {
		t.Fatalf("a member was served a cached page: X-Cache %q", res.Header.Get("X-Cache"))
	}
	visit(kopi.URL(), "hit")
}

// A page that writes keep changing is rendered again in the background, at most once an
// interval; meanwhile visitors get the last rendering, never a wait for a render.
func TestPageCache_RendersAChangingPageInTheBackgroundAtMostOnceAnInterval(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pc := handlers.NewPageCache(time.Hour, 8<<20)
	pc.SetRerenderInterval(300 * time.Millisecond)
	storetest.Watch(t, pc.Monitor())
	e.category("Help", false)
	ayu := e.person("ayu@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: pc}))
	visitor := newBrowser(t, base)
	visit := func() (string, string) {
		t.Helper()
		res := visitor.get("/forums")
		return res.Header.Get("X-Cache"), res.body
	}
	if got, _ := visit(); got != "miss" {
		t.Fatalf("first visit: %s", got)
	}
	if _, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Router keeps rebooting", Body: "Every hour."}); err != nil {
		t.Fatal(err)
	}
	if got, body := visit(); got != "stale" || strings.Contains(body, "Router keeps rebooting") {
		t.Fatalf("within the interval after a change: %s, want the stale page", got)
	}
	time.Sleep(300 * time.Millisecond)
	// The first visit after the interval is still answered at once with the stale page; the
	// new one is rendered beside it and served from then on.
	if got, body := visit(); got != "stale" || strings.Contains(body, "Router keeps rebooting") {
		t.Fatalf("after the interval: %s, want the stale page while it is rendered again", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := visit()
		if got == "hit" && strings.Contains(body, "Router keeps rebooting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page was not rendered again: %s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// threadBehindCache is a thread by Ayu, and a visitor to a portal whose page cache renders a
// changed page again at once, the visitor waiting up to wait for it.
func threadBehindCache(t *testing.T, wait time.Duration) (*env, *community.Thread, *browser) {
	t.Helper()
	e := newEnv(t)
	pc := handlers.NewPageCache(time.Hour, 8<<20)
	pc.SetRerenderInterval(0)
	pc.SetRefreshWait(wait)
	storetest.Watch(t, pc.Monitor())
	e.category("Help", false)
	ayu := e.person("ayu@example.com")
	th, err := e.community.CreateThread(context.Background(), ayu, community.ThreadInput{Category: "help", Title: "Router keeps rebooting", Body: "Every hour."})
	if err != nil {
		t.Fatal(err)
	}
	return e, th, newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: pc})))
}

// A page keeps its ETag from the cache, in every encoding, and a browser that already holds it
// gets 304 Not Modified without the body.
func TestPageCache_AHitAnswersAConditionalRequest(t *testing.T) {
	_, th, visitor := threadBehindCache(t, 0)
	visit := func(encoding, ifNoneMatch string) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, visitor.base+th.URL(), nil)
		req.Header.Set("Accept-Encoding", encoding)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		return visitor.do(req)
	}
	miss := visit("gzip", "")
	etag := miss.Header.Get("ETag")
	if miss.Header.Get("X-Cache") != "miss" || etag == "" {
		t.Fatalf("first visit: X-Cache %q, ETag %q", miss.Header.Get("X-Cache"), etag)
	}
	for _, encoding := range []string{"gzip", "br", "identity"} {
		hit := visit(encoding, "")
		if hit.StatusCode != http.StatusOK || hit.Header.Get("X-Cache") != "hit" || hit.Header.Get("ETag") != etag || hit.body == "" {
			t.Fatalf("%s hit: %d, X-Cache %q, ETag %q (rendered with %q), %d bytes",
				encoding, hit.StatusCode, hit.Header.Get("X-Cache"), hit.Header.Get("ETag"), etag, len(hit.body))
		}
		for _, held := range []string{etag, "W/" + etag, `"0-0", ` + etag} {
			if res := visit(encoding, held); res.StatusCode != http.StatusNotModified || res.body != "" {
				t.Fatalf("%s, If-None-Match %s: %d with %d bytes, want 304 without a body", encoding, held, res.StatusCode, len(res.body))
			}
		}
	}
	if res := visit("gzip", `"0-0"`); res.StatusCode != http.StatusOK || res.body == "" {
		t.Fatalf("an old copy: %d with %d bytes, want the page", res.StatusCode, len(res.body))
	}
}

// A cached page whose content is gone is not served stale for ever: its background render
// finds it gone and drops it, and the next visitor gets the answer of the moment.
func TestPageCache_APageThatIsGoneIsDropped(t *testing.T) {
	ctx := context.Background()
	e, th, visitor := threadBehindCache(t, 0)
	mod := e.person("mod@example.com", "moderator")
	visitor.get(th.URL())
	if res := visitor.get(th.URL()); res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("second visit: X-Cache %q", res.Header.Get("X-Cache"))
	}
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{content.Ref{Kind: content.KindThread, ID: th.ID}.String()},
		Action: moderation.ActionReject, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := visitor.get(th.URL())
		if res.StatusCode == http.StatusGone { // rejected by a moderator
			break
		}
		if res.Header.Get("X-Cache") != "stale" || time.Now().After(deadline) {
			t.Fatalf("the hidden thread: %d, X-Cache %q", res.StatusCode, res.Header.Get("X-Cache"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A page that shows a member's name is not made stale by their counters, score or points
// moving (every contribution moves them), only by what it shows: name, avatar, level.
func TestPageCache_AnAuthorsPageWaitsOnlyForWhatItShowsOfThem(t *testing.T) {
	ctx := context.Background()
	e, th, visitor := threadBehindCache(t, time.Minute)
	ayu := th.AuthorID
	visit := func(want string) string {
		t.Helper()
		res := visitor.get(th.URL())
		if got := res.Header.Get("X-Cache"); got != want {
			t.Fatalf("X-Cache %q, want %q", got, want)
		}
		return res.body
	}
	visit("miss")
	visit("hit")
	if err := e.customers.Contributed(ctx, ayu, "posts", bson.ObjectID{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.customers.AddPoints(ctx, ayu, 25, true); err != nil {
		t.Fatal(err)
	}
	visit("hit")
	if err := e.customers.SetLevel(ctx, ayu, 2); err != nil {
		t.Fatal(err)
	}
	visit("miss")
	visit("hit")
	if err := e.customers.UpdateProfile(ctx, ayu, customers.Profile{DisplayName: "Ayu Lestari"}); err != nil {
		t.Fatal(err)
	}
	if body := visit("miss"); !strings.Contains(body, "Ayu Lestari") {
		t.Fatal("the new name is not on the page")
	}
}

// A write that names no document (a bulk update, a purge) may change any: every page that
// read from its collection is stale.
func TestPageCache_AWriteThatNamesNoDocumentStalesItsCollectionsPages(t *testing.T) {
	e, th, visitor := threadBehindCache(t, time.Minute)
	visitor.get(th.URL())
	if res := visitor.get(th.URL()); res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("second visit: X-Cache %q", res.Header.Get("X-Cache"))
	}
	if _, err := e.db.Collection("threads").UpdateMany(context.Background(), bson.M{"title": "Router keeps rebooting"},
		bson.M{"$set": bson.M{"title": "Router reboots hourly"}}); err != nil {
		t.Fatal(err)
	}
	if res := visitor.get(th.URL()); res.Header.Get("X-Cache") != "miss" || !strings.Contains(res.body, "Router reboots hourly") {
		t.Fatalf("after a bulk update: X-Cache %q", res.Header.Get("X-Cache"))
	}
}

// A page older than the cache's ttl (on MongoDB, what bounds other instances' writes) is not
// given to a visitor even while it is rendered again: it is rendered for them.
func TestPageCache_APagePastItsTTLIsRenderedForTheVisitor(t *testing.T) {
	e := newEnv(t)
	pc := handlers.NewPageCache(100*time.Millisecond, 8<<20)
	storetest.Watch(t, pc.Monitor())
	visitor := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: pc})))
	for _, want := range []string{"miss", "hit"} {
		if got := visitor.get("/forums").Header.Get("X-Cache"); got != want {
			t.Fatalf("X-Cache %q, want %q", got, want)
		}
	}
	time.Sleep(150 * time.Millisecond)
	if got := visitor.get("/forums").Header.Get("X-Cache"); got != "miss" {
		t.Fatalf("past the ttl: X-Cache %q, want miss", got)
	}
}

// BenchmarkCachedPage is an anonymous visitor's page served from the cache through every
// middleware, without a network: what a hit costs the portal itself.
func BenchmarkCachedPage(b *testing.B) {
	e := newEnv(b)
	pc := handlers.NewPageCache(time.Hour, 8<<20)
	storetest.Watch(b, pc.Monitor())
	e.category("Help", false)
	ayu := e.person("ayu@example.com")
	if _, err := e.community.CreateThread(context.Background(), ayu, community.ThreadInput{Category: "help", Title: "Router keeps rebooting", Body: "Every hour, since Monday."}); err != nil {
		b.Fatal(err)
	}
	handler := e.app(handlers.Config{}, handlers.Deps{Pages: pc}).Handler()
	visit := func() *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/forums")
		ctx.Request.Header.Set("Accept-Encoding", "br, gzip")
		ctx.Request.Header.Set("Accept-Language", "id,en;q=0.8")
		handler(&ctx)
		return &ctx
	}
	visit()
	if ctx := visit(); string(ctx.Response.Header.Peek("X-Cache")) != "hit" {
		b.Fatalf("X-Cache %q, want a hit", ctx.Response.Header.Peek("X-Cache"))
	}
	b.ReportAllocs()
	for b.Loop() {
		visit()
	}
}
