// Package searchtest is the contract every search.Index must keep. The same tests run
// against Bleve always and against Meilisearch when MEILISEARCH_URL is set.
package searchtest

import (
	"context"
	"strings"
	"testing"

	"github.com/guyub/guyub/search"
)

// Corpus is the documents every contract test searches.
var Corpus = []search.Document{
	{ID: "review-1", Kind: "review", Title: "Great review of the grinder", Body: "The burrs are sharp and the grind is even.", Product: "grinder", Category: "Kitchen", Rating: 5, Status: "published", Visibility: "public", Lang: "en", CreatedAt: 100},
	{ID: "review-2", Kind: "review", Title: "Pelayanan pelanggan cepat", Body: "Pelayanan pelanggan sangat ramah dan cepat membalas.", Product: "kopi-gayo", Category: "Coffee", Rating: 4, Status: "published", Visibility: "public", Lang: "id", CreatedAt: 200},
	{ID: "review-3", Kind: "review", Title: "Broken after a week", Body: "The lid is broken. <script>alert(1)</script>", Product: "grinder", Category: "Kitchen", Rating: 1, Status: "published", Visibility: "public", Lang: "en", CreatedAt: 300},
	{ID: "testimonial-1", Kind: "testimonial", Title: "Ayu on kopi", Body: "Kopi terbaik yang pernah saya minum.", Product: "kopi-gayo", Category: "Coffee", Status: "published", Visibility: "public", Lang: "id", CreatedAt: 400},
	{ID: "review-4", Kind: "review", Title: "Waiting for a moderator", Body: "Held review about the grinder.", Product: "grinder", Rating: 2, Status: "pending", Visibility: "public", Lang: "en", CreatedAt: 500},
	{ID: "review-5", Kind: "review", Title: "Coffee delivery was slow", Body: "Shipping took two weeks.", Product: "kopi-gayo", Category: "Coffee", Rating: 3, Status: "published", Visibility: "public", Lang: "en", CreatedAt: 600},
}

func ids(r *search.Results) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func has(list []string, id string) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// Run runs the contract against a fresh index made by open.
func Run(t *testing.T, open func(t *testing.T) search.Index) {
	ctx := context.Background()
	idx := open(t)
	if err := idx.Upsert(ctx, Corpus...); err != nil {
		t.Fatal(err)
	}
	find := func(t *testing.T, q search.Query) *search.Results {
		t.Helper()
		r, err := idx.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("typo tolerance", func(t *testing.T) {
		if got := ids(find(t, search.Query{Text: "reveiw"})); !has(got, "review-1") {
			t.Fatalf("'reveiw' should find 'review': %v", got)
		}
	})
	t.Run("Indonesian text", func(t *testing.T) {
		if got := ids(find(t, search.Query{Text: "pelayanan"})); !has(got, "review-2") {
			t.Fatalf("'pelayanan' should find 'pelayanan pelanggan': %v", got)
		}
	})
	t.Run("synonyms across languages", func(t *testing.T) {
		if got := ids(find(t, search.Query{Text: "coffee"})); !has(got, "testimonial-1") || !has(got, "review-5") {
			t.Fatalf("'coffee' should find 'kopi' too: %v", got)
		}
		if got := ids(find(t, search.Query{Text: "rusak"})); !has(got, "review-3") {
			t.Fatalf("'rusak' should find 'broken': %v", got)
		}
	})
	t.Run("public sees published only", func(t *testing.T) {
		if got := ids(find(t, search.Query{Text: "grinder"})); has(got, "review-4") {
			t.Fatalf("a pending review is not public: %v", got)
		}
		if got := ids(find(t, search.Query{Text: "grinder", Statuses: []string{"pending"}})); len(got) != 1 || got[0] != "review-4" {
			t.Fatalf("staff filter by status: %v", got)
		}
	})
	t.Run("filters and facets", func(t *testing.T) {
		r := find(t, search.Query{})
		if r.Total != 5 || r.Facets["kind"]["review"] != 4 || r.Facets["kind"]["testimonial"] != 1 ||
			r.Facets["product"]["grinder"] != 2 || r.Facets["lang"]["id"] != 2 || r.Facets["rating"]["5"] != 1 || r.Facets["category"]["Coffee"] != 3 {
			t.Fatalf("facets = %+v (total %d)", r.Facets, r.Total)
		}
		if _, ok := r.Facets["rating"][""]; ok || len(r.Facets["rating"]) != 4 {
			t.Fatalf("a document without a rating adds no rating value: %+v", r.Facets["rating"])
		}
		for name, q := range map[string]search.Query{
			"kind":     {Kind: "testimonial"},
			"product":  {Product: "grinder"},
			"category": {Category: "Kitchen"},
			"rating":   {Rating: 4},
			"lang":     {Lang: "id"},
		} {
			got := find(t, q)
			want := map[string]int{"kind": 1, "product": 2, "category": 2, "rating": 1, "lang": 2}[name]
			if got.Total != want {
				t.Errorf("filter by %s: %d hits %v, want %d", name, got.Total, ids(got), want)
			}
		}
	})
	t.Run("forums are a facet apart from product categories", func(t *testing.T) {
		thread := search.Document{ID: "thread-1", Kind: "thread", Title: "Espresso settings", Body: "Which grind for espresso?",
			Forum: "help-center", Status: "published", Visibility: "public", Lang: "en", CreatedAt: 50}
		if err := idx.Upsert(ctx, thread); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = idx.Delete(ctx, thread.ID) }()
		r := find(t, search.Query{})
		if r.Facets["forum"]["help-center"] != 1 || len(r.Facets["forum"]) != 1 || r.Facets["category"]["help-center"] != 0 {
			t.Fatalf("facets = %+v", r.Facets)
		}
		if got := find(t, search.Query{Forum: "help-center"}); got.Total != 1 || got.Hits[0].Forum != "help-center" {
			t.Fatalf("filter by forum: %v", ids(got))
		}
	})
	t.Run("sort", func(t *testing.T) {
		if got := ids(find(t, search.Query{Sort: search.SortNewest})); got[0] != "review-5" || got[len(got)-1] != "review-1" {
			t.Fatalf("newest first: %v", got)
		}
		if got := ids(find(t, search.Query{Sort: search.SortRating, Kind: "review"})); got[0] != "review-1" || got[len(got)-1] != "review-3" {
			t.Fatalf("highest rating first: %v", got)
		}
	})
	t.Run("highlights are marked and escaped", func(t *testing.T) {
		r := find(t, search.Query{Text: "broken"})
		if len(r.Hits) == 0 {
			t.Fatal("no hit")
		}
		h := r.Hits[0]
		if !strings.Contains(string(h.TitleHTML), "<mark>Broken</mark>") || !strings.Contains(string(h.SnippetHTML), "<mark>broken</mark>") {
			t.Fatalf("highlights: %q / %q", h.TitleHTML, h.SnippetHTML)
		}
		if strings.Contains(string(h.SnippetHTML), "<script>") || !strings.Contains(string(h.SnippetHTML), "&lt;script&gt;") {
			t.Fatalf("the snippet must be escaped: %q", h.SnippetHTML)
		}
	})
	t.Run("pagination", func(t *testing.T) {
		p1 := find(t, search.Query{Sort: search.SortNewest, PerPage: 2, Page: 1})
		p2 := find(t, search.Query{Sort: search.SortNewest, PerPage: 2, Page: 2})
		p3 := find(t, search.Query{Sort: search.SortNewest, PerPage: 2, Page: 3})
		all := append(append(ids(p1), ids(p2)...), ids(p3)...)
		if p1.Pages != 3 || len(all) != 5 || strings.Join(all, ",") != "review-5,testimonial-1,review-3,review-2,review-1" {
			t.Fatalf("pages: %v (pages %d)", all, p1.Pages)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := idx.Delete(ctx, "review-3"); err != nil {
			t.Fatal(err)
		}
		if got := ids(find(t, search.Query{Text: "broken"})); has(got, "review-3") {
			t.Fatalf("deleted document still found: %v", got)
		}
	})
}
