package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/reviews"
)

func TestSearchPage_HighlightsFacetsAndWhoSeesWhat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Kopi Gayo")
	q := e.product("Rice Cooker")
	e.review(e.person("a@example.com"), p, 5, "Pelayanan pelanggan ramah, kopi harum.")
	e.review(e.person("b@example.com"), q, 2, "The `<b>lid</b>` broke after a week.") // shown, literally
	held, err := e.reviews.Create(ctx, e.person("c@example.com"), p.Slug, reviews.Input{Rating: 1, Body: "Penjualnya penipu kopi palsu"})
	if err != nil || held.Status != reviews.StatusPending {
		t.Fatalf("held review: %v %v", held, err)
	}
	e.person("mod@example.com", customers.RoleModerator)
	if _, err := e.syncer.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	anon := newBrowser(t, base)

	res := anon.get("/search?q=pelayanan")
	if res.StatusCode != 200 || !strings.Contains(res.body, "<mark>Pelayanan</mark>") || !strings.Contains(res.body, "1 result") {
		t.Fatalf("search page: %d\n%s", res.StatusCode, res.body)
	}
	res = anon.get("/search?q=broke")
	if strings.Contains(res.body, "<b>lid</b>") || !strings.Contains(res.body, "&lt;b&gt;lid&lt;/b&gt;") {
		t.Fatal("snippets are escaped")
	}
	res = anon.get("/search?q=kopi")
	if strings.Contains(res.body, "palsu") {
		t.Fatal("the public does not find a held review")
	}
	if !strings.Contains(res.body, `href="/search?product=kopi-gayo&amp;q=kopi"`) {
		t.Fatalf("facets link to filtered searches:\n%s", res.body)
	}
	mod := newBrowser(t, base)
	mod.signIn("mod@example.com")
	if res := mod.get("/search?q=kopi&status=pending"); !strings.Contains(res.body, "palsu") {
		t.Fatal("a moderator can search held content")
	}
	if res := anon.get("/search?q=kopi&status=pending"); strings.Contains(res.body, "palsu") {
		t.Fatal("the public cannot ask for held content")
	}

	var api struct {
		Total  int
		Facets map[string]map[string]int
		Hits   []struct {
			ID, URL   string
			TitleHTML string `json:"title_html"`
		}
	}
	raw := anon.get("/api/v1/search?q=coffee")
	if err := json.Unmarshal([]byte(raw.body), &api); err != nil || api.Total != 2 || api.Facets["kind"]["product"] != 1 ||
		api.Facets["kind"]["review"] != 1 {
		t.Fatalf("API search for the English synonym of kopi: %s", raw.body)
	}
	// Products are found by name, as their own kind, and shown by name wherever their slug is.
	for _, text := range []string{"gayo", "rice cooker", "Kopi Gayo"} {
		res := anon.get("/search?lang=en&q=" + url.QueryEscape(text))
		if !strings.Contains(res.body, `<span class="badge">Product</span>`) {
			t.Fatalf("searching %q finds no product:\n%s", text, res.body)
		}
	}
	res = anon.get("/search?lang=en&q=kopi")
	if !strings.Contains(res.body, ">Kopi Gayo</a> <span class=\"muted\">") || strings.Contains(res.body, ">kopi-gayo</a>") ||
		!strings.Contains(res.body, "about Kopi Gayo") {
		t.Fatalf("product names in the facet and on review hits:\n%s", res.body)
	}
	all := anon.get("/search?lang=en&q=")
	if five, two := strings.Index(all.body, "5 stars"), strings.Index(all.body, "2 stars"); five < 0 || two < 0 || five > two {
		t.Fatalf("stars from 5 down: %d %d\n%s", five, two, all.body)
	}
	sugg := anon.get("/search/suggest?q=pelay")
	if !strings.Contains(sugg.body, `"kind":"review"`) {
		t.Fatalf("suggestions as you type: %s", sugg.body)
	}
	if res := anon.get("/search?q=" + strings.Repeat("x", 1000) + "&page=-3&sort=evil"); res.StatusCode != http.StatusOK {
		t.Fatalf("odd input is normalised, not an error: %d", res.StatusCode)
	}
}

// Replies found by a search do not repeat their thread's title as theirs: each shows what
// it says, and where.
func TestSearchPage_RepliesShowTheirWordsNotTheThreadTitle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	help := e.category("Help", false)
	ayu := e.person("ayu@example.com")
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Grinder too coarse", Body: "My grinder grinds too coarse for espresso."})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"Adjust the grinder ring one notch.", "Clean the grinder burrs first.", "My grinder did the same."} {
		if _, err := e.community.Reply(ctx, e.person(fmt.Sprintf("r%d@example.com", len(body))), content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	e.sync()
	page := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{}))).get("/search?lang=en&q=grinder")
	if n := strings.Count(page.body, "<mark>Grinder</mark> too coarse</a></h2>"); n != 1 {
		t.Fatalf("the thread's title as a heading %d times, want once:\n%s", n, page.body)
	}
	if !strings.Contains(page.body, "Reply in “<mark>Grinder</mark> too coarse”") || !strings.Contains(page.body, "burrs first") {
		t.Fatalf("replies show their words and where they are:\n%s", page.body)
	}
}

// Forums and product categories are separate facets, each by name: a thread's forum in the
// reader's language, a product's category as entered.
func TestSearchPage_ForumsAndProductCategoriesApart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.person("admin@example.com", customers.RoleAdmin)
	forum, err := e.community.SaveCategory(ctx, admin, bson.ObjectID{}, community.CategoryInput{Name: "Coffee corner", NameID: "Pojok kopi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.CreateThread(ctx, e.person("ayu@example.com"), community.ThreadInput{Category: forum.Slug, Title: "Arabica brewing", Body: "How do you brew arabica?"}); err != nil {
		t.Fatal(err)
	}
	p, err := e.reviews.CreateProduct(ctx, reviews.ProductInput{Slug: "gayo-arabica", Name: "Gayo Arabica", Description: "Arabica beans.", Category: "Kopi / Coffee"})
	if err != nil {
		t.Fatal(err)
	}
	e.review(e.person("budi@example.com"), p, 5, "Great arabica.")
	e.sync()
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	page := b.get("/search?lang=id&q=arabica").body
	forums := section(page, "Forum")
	categories := section(page, "Kategori produk")
	if !strings.Contains(forums, "Pojok kopi") || strings.Contains(forums, "Kopi / Coffee") || strings.Contains(forums, forum.Slug+"<") {
		t.Errorf("the forum facet: %s", forums)
	}
	if !strings.Contains(categories, "Kopi / Coffee") || strings.Contains(categories, "Pojok kopi") {
		t.Errorf("the product category facet: %s", categories)
	}
	filtered := b.get("/search?lang=en&q=arabica&forum=" + forum.Slug).body
	if !strings.Contains(filtered, "Arabica brewing") && !strings.Contains(filtered, "<mark>Arabica</mark> brewing") || strings.Contains(filtered, "Great arabica") {
		t.Errorf("filtered by forum:\n%s", filtered)
	}
}

// section is the part of a search page under a facet's heading.
func section(page, heading string) string {
	i := strings.Index(page, "<h2>"+heading+"</h2>")
	if i < 0 {
		return ""
	}
	rest := page[i+len(heading)+9:]
	if j := strings.Index(rest, "<h2>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
