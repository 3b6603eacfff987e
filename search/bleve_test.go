package search_test

import (
	"context"
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
