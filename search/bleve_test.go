package search_test

import (
	"context"
	"strings"
	"testing"

	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/search/searchtest"
)

func TestBleve_Contract(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		idx, err := search.OpenBleve(t.TempDir() + "/index")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		return idx
	})
}

// An index made with an older mapping is made anew when opened (Bleve cannot change a
// mapping), and says so, so that the server fills it from the database.
func TestOpenBleve_RebuildsAnOlderSchema(t *testing.T) {
	dir := t.TempDir() + "/search"
	b, err := search.OpenBleve(dir)
	if err != nil || !b.Created() {
		t.Fatalf("first open: %v, created %v", err, b != nil && b.Created())
	}
	if err := b.Upsert(context.Background(), search.Document{ID: "review-1", Kind: "review", Title: "x", Status: "published", Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b, err = search.OpenBleve(dir); err != nil || b.Created() {
		t.Fatalf("same schema: %v, created %v", err, b.Created())
	}
	if n, _ := b.Count(); n != 1 {
		t.Fatalf("documents kept: %d", n)
	}
	b.SetSchemaForTest("1")
	b.Close()
	if b, err = search.OpenBleve(dir); err != nil || !b.Created() {
		t.Fatalf("older schema: %v, created %v", err, b.Created())
	}
	defer b.Close()
	if n, _ := b.Count(); n != 0 {
		t.Errorf("the rebuilt index holds %d documents", n)
	}
}

// AnyWord finds what a text is like: documents sharing its telling words, not every word,
// and not those sharing only the small words every text has.
func TestBleve_AnyWordFindsAlikeIdeas(t *testing.T) {
	ctx := context.Background()
	idx, err := search.OpenBleve(t.TempDir() + "/index")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	for id, title := range map[string]string{"idea-1": "Dark mode for the mobile app", "idea-2": "A better lid seal for the rice cooker",
		"idea-3": "Steam basket for the rice cooker", "review-4": "The lid seal is leaking"} {
		kind, _, _ := strings.Cut(id, "-")
		if err := idx.Upsert(ctx, search.Document{ID: id, Kind: kind, Title: title, Status: "published", Visibility: "public"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := idx.Search(ctx, search.Query{Text: "Lid seal wore out. Cooks rice well, but the lid seal started leaking steam", Kind: "idea", AnyWord: true, NoFacets: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range res.Hits {
		got = append(got, h.ID)
	}
	if strings.Join(got, ",") != "idea-2,idea-3" {
		t.Fatalf("ideas like the complaint: %v, want idea-2 then idea-3", got)
	}
	// Only small words: nothing is alike, rather than everything.
	if res, _ := idx.Search(ctx, search.Query{Text: "and the but", Kind: "idea", AnyWord: true, NoFacets: true}); len(res.Hits) != 0 {
		t.Fatalf("small words found %d", len(res.Hits))
	}
	// All the words, as a search asks, find none of them.
	if res, _ := idx.Search(ctx, search.Query{Text: "Lid seal wore out. Cooks rice well", Kind: "idea", NoFacets: true}); res.Total != 0 {
		t.Fatalf("a search for every word found %d", res.Total)
	}
}
