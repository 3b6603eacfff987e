package handlers_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/handlers"
)

// wellFormed reports whether body is XML a parser reads to the end.
func wellFormed(t *testing.T, body string) bool {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			t.Logf("not well-formed: %v", err)
			return false
		}
	}
}

// Search engines get robots.txt, a sitemap index and sitemaps of what anyone may read;
// feed readers get Atom feeds; pages carry canonical links, Open Graph tags and, on a
// thread, its JSON-LD.
func TestSEO_SitemapsFeedsAndPageTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	ayu := e.person("ayu@example.com")
	open, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Descaling the kettle", Body: "Vinegar or citric acid?"})
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.community.CreateThread(ctx, e.person("spam@example.com"), community.ThreadInput{Category: help.Slug, Title: "Cheap scam offers", Body: "This is a scam."})
	if err != nil || held.Status != content.StatusPending {
		t.Fatalf("a held thread: %v %v", held, err)
	}
	idea, err := e.community.CreateIdea(ctx, ayu, community.IdeaInput{Title: "Refill pouches", Body: "Less plastic."})
	if err != nil {
		t.Fatal(err)
	}
	p := e.product("Kopi Gayo")
	e.review(e.person("budi@example.com"), p, 5, "Harum <b>sekali</b>.")
	base := listen(t, e.app(handlers.Config{BaseURL: "https://portal.example"}, handlers.Deps{}))
	b := newBrowser(t, base)

	robots := b.get("/robots.txt").body
	if !strings.Contains(robots, "Sitemap: https://portal.example/sitemap.xml") || !strings.Contains(robots, "Disallow: /admin/") {
		t.Errorf("robots.txt:\n%s", robots)
	}
	index := b.get("/sitemap.xml")
	if index.StatusCode != 200 || !wellFormed(t, index.body) || !strings.Contains(index.body, "https://portal.example/sitemaps/products.xml") {
		t.Fatalf("sitemap index: %d\n%s", index.StatusCode, index.body)
	}
	month := open.ID.Timestamp().UTC().Format("2006-01")
	threads := b.get("/sitemaps/threads-" + month + ".xml").body
	if !wellFormed(t, threads) || !strings.Contains(threads, "https://portal.example"+open.URL()) || strings.Contains(threads, held.URL()) {
		t.Errorf("threads sitemap (the held thread must be left out):\n%s", threads)
	}
	if ideas := b.get("/sitemaps/ideas-" + month + ".xml").body; !wellFormed(t, ideas) || !strings.Contains(ideas, idea.URL()) {
		t.Errorf("ideas sitemap:\n%s", ideas)
	}
	if products := b.get("/sitemaps/products.xml").body; !wellFormed(t, products) || !strings.Contains(products, "/products/"+p.Slug) {
		t.Errorf("products sitemap:\n%s", products)
	}
	if res := b.get("/sitemaps/users-2026-01.xml"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a sitemap of nothing: %d", res.StatusCode)
	}

	for path, want := range map[string]string{"/feeds/threads.atom": "Descaling the kettle", "/feeds/ideas.atom": "Refill pouches",
		"/products/" + p.Slug + "/reviews.atom": "Harum sekali."} {
		res := b.get(path)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/atom+xml") || !wellFormed(t, res.body) ||
			!strings.Contains(res.body, want) || strings.Contains(res.body, "Cheap scam") {
			t.Errorf("%s: %d %s\n%s", path, res.StatusCode, res.Header.Get("Content-Type"), res.body)
		}
	}

	page := b.get(open.URL() + "?lang=en").body
	for _, want := range []string{`<link rel="canonical" href="https://portal.example` + open.URL() + `">`, `<meta property="og:title" content="Descaling the kettle">`,
		`<meta name="description" content="Vinegar or citric acid?">`, `"@type":"DiscussionForumPosting"`, `"headline":"Descaling the kettle"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the thread page lacks %s", want)
		}
	}
	if forums := b.get("/forums").body; !strings.Contains(forums, `<link rel="alternate" type="application/atom+xml" href="/feeds/threads.atom">`) {
		t.Error("the forums do not name their feed")
	}
	// Once an answer is accepted, the thread is a question with its answer.
	reply, err := e.community.Reply(ctx, e.person("dewi@example.com"), content.Ref{Kind: content.KindThread, ID: open.ID}, community.PostInput{Body: "Citric acid, it smells less."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Accept(ctx, ayu, open.ID, reply.ID); err != nil {
		t.Fatal(err)
	}
	if page := b.get(open.URL() + "?lang=en").body; !strings.Contains(page, `"@type":"QAPage"`) || !strings.Contains(page, `"acceptedAnswer"`) {
		t.Errorf("a solved thread's JSON-LD:\n%s", page)
	}
}
