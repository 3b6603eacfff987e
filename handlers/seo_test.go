package handlers_test

import (
	"context"
	"encoding/json"
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
		`<meta name="description" content="Vinegar or citric acid?">`, `<link rel="alternate" hreflang="id" href="https://portal.example` + open.URL() + `?lang=id">`, `"@type":"DiscussionForumPosting"`, `"headline":"Descaling the kettle"`} {
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

// A member downloads everything the portal keeps about them: their record, reviews,
// threads, replies, votes, survey answers, points and sign-ins, and no secret and nobody
// else's data.
func TestProfileExport_EverythingOfTheMemberAndNoSecrets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	p := e.product("Kopi Gayo")
	e.review(ayu, p, 5, "Ayu's review of the coffee.")
	e.review(budi, p, 2, "Budi's review, not Ayu's.")
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Ayu asks", Body: "Ayu's question."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Budi answers."}); err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, budi, community.IdeaInput{Title: "Budi's idea", Body: "Something."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Vote(ctx, ayu, idea.ID, true); err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(ayu.Email)
	res := b.get("/profile/export")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	var archive struct {
		MemberID    string                       `json:"member_id"`
		Collections map[string][]json.RawMessage `json:"collections"`
	}
	if err := json.Unmarshal([]byte(res.body), &archive); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, res.body)
	}
	for _, c := range []string{"customers", "reviews", "threads", "posts", "idea_votes", "sessions", "points", "badges_held"} {
		if len(archive.Collections[c]) == 0 {
			t.Errorf("the archive has nothing from %s", c)
		}
	}
	for _, secret := range []string{"password_hash", `"hash"`, "Budi's review", "Budi answers"} {
		if strings.Contains(res.body, secret) {
			for name, docs := range archive.Collections {
				for _, d := range docs {
					if strings.Contains(string(d), secret) {
						t.Errorf("the archive holds %s in %s: %.200s", secret, name, d)
					}
				}
			}
		}
	}
	if !strings.Contains(res.body, "Ayu's review of the coffee.") || !strings.Contains(res.body, "Ayu's question.") || archive.MemberID != ayu.ID.Hex() {
		t.Error("the archive lacks Ayu's own writing")
	}
	if res := newBrowser(t, base).get("/profile/export"); res.StatusCode == 200 {
		t.Error("a signed-out visitor downloaded an archive")
	}
}
