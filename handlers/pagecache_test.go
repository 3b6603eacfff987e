package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
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

// A page that writes keep changing is rendered again at most once an interval; meanwhile
// visitors get the last rendering, not a queue behind renders.
func TestPageCache_RendersAChangingPageAtMostOnceAnInterval(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pc := handlers.NewPageCache(time.Hour, 8<<20)
	pc.SetRerenderInterval(300 * time.Millisecond)
	storetest.Watch(t, pc.Monitor())
	e.category("Help", false)
	ayu := e.person("ayu@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: pc}))
	visitor := newBrowser(t, base)
	xcache := func() string {
		t.Helper()
		return visitor.get("/forums").Header.Get("X-Cache")
	}
	if got := xcache(); got != "miss" {
		t.Fatalf("first visit: %s", got)
	}
	if _, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Router keeps rebooting", Body: "Every hour."}); err != nil {
		t.Fatal(err)
	}
	if got := xcache(); got != "stale" {
		t.Fatalf("within the interval after a change: %s, want stale", got)
	}
	time.Sleep(300 * time.Millisecond)
	res := visitor.get("/forums")
	if got := res.Header.Get("X-Cache"); got != "miss" || !strings.Contains(res.body, "Router keeps rebooting") {
		t.Fatalf("after the interval: %s", got)
	}
}
