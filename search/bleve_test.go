package search_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/search/searchtest"
)

func TestBleve_Contract(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index { return tempBleve(t) })
}

// tempBleve is an empty index on disk, closed when the test ends.
func tempBleve(t *testing.T) *search.Bleve {
	t.Helper()
	idx, err := search.OpenBleve(t.TempDir() + "/index")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

// hitIDs are the IDs of a page's hits, in order.
func hitIDs(res *search.Results) []string {
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	return ids
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
	idx := tempBleve(t)
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
	if got := hitIDs(res); strings.Join(got, ",") != "idea-2,idea-3" {
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

// Search as you type: the last word is also the start of a longer word — of two or three
// letters in a title, of four or more in a title or body, with its synonyms — and only what
// the public may see is suggested, whichever way the start is looked up.
func TestBleve_AsYouType(t *testing.T) {
	ctx := context.Background()
	idx := tempBleve(t)
	long := strings.Repeat("panjang", 4) // 28 letters: longer than any start indexed
	docs := []search.Document{
		{ID: "review-1", Kind: "review", Title: "Kopi Gayo", Body: "Pelayanannya ramah sekali.", Rating: 5},
		{ID: "review-2", Kind: "review", Title: "Grinder", Body: "Great coffee grinder, the burrs stay sharp.", Rating: 4},
		{ID: "thread-1", Kind: "thread", Title: "Kalibrasi mesin " + long + "kata", Body: "Bagaimana caranya?"},
		{ID: "review-3", Kind: "review", Title: "Kopi palsu " + long + "kata", Body: "Pelayanan buruk", Rating: 1, Status: "pending"},
		{ID: "idea-1", Kind: "idea", Title: "Dark mode", Body: "Please."},
	}
	for i := range docs {
		if docs[i].Status == "" {
			docs[i].Status = "published"
		}
		docs[i].Visibility, docs[i].CreatedAt = "public", int64(100+i)
	}
	if err := idx.Upsert(ctx, docs...); err != nil {
		t.Fatal(err)
	}
	typed := func(text string, statuses ...string) []string {
		t.Helper()
		res, err := idx.Search(ctx, search.Query{Text: text, PerPage: 5, NoFacets: true, Statuses: statuses})
		if err != nil {
			t.Fatal(err)
		}
		got := hitIDs(res)
		slices.Sort(got)
		return got
	}
	for text, want := range map[string]string{
		"ka":             "thread-1",          // a title's start
		"pe":             "",                  // two letters: not a body's start
		"pelay":          "review-1",          // a body's start; the held review-3 is not suggested
		"kopi":           "review-1,review-2", // its synonym coffee starts with nothing typed
		"coff":           "review-1,review-2", // coffee's start, and kopi is coffee
		"grinder sha":    "",                  // three letters: titles only
		"grinder shar":   "review-2",
		"kop":            "review-1",                          // titles only: review-3 is held
		"mesin " + long:  "thread-1",                          // longer than any start: the dictionary
		long + "ka":      "thread-1",                          // the same, without review-3's
		"dark mo":        "idea-1",                            // several words
		"pelayanan bu":   "",                                  // "buruk" is only in the held review
		"pelayanan buru": "",                                  // idem, in the body
		"reveiw":         "",                                  // nothing is near it
		"grindr":         "review-2",                          // a typo in the word being typed
		"ramah sek":      "",                                  // short start in a body
		"ramah seka":     "review-1",                          // the body's "sekali"
		"gayo kop":       "review-1",                          // the title's "Kopi"
		"kalibrasi":      "thread-1",                          // a whole word
		"":               "idea-1,review-1,review-2,thread-1", // nothing typed: everything public
	} {
		if got := strings.Join(typed(text), ","); got != want {
			t.Errorf("%q suggests %q, want %q", text, got, want)
		}
	}
	// Staff who ask for held content find its starts too.
	if got := strings.Join(typed("pelay", "pending"), ","); got != "review-3" {
		t.Errorf("staff typing 'pelay' among held reviews: %q", got)
	}
	if got := strings.Join(typed(long+"ka", "published", "pending"), ","); got != "review-3,thread-1" {
		t.Errorf("staff typing a long start: %q", got)
	}
}

// Sorted by rating, documents without one come after every rated one; sorted by date, the
// newest comes first however far apart the dates are.
func TestBleve_SortsByKeywords(t *testing.T) {
	ctx := context.Background()
	idx := tempBleve(t)
	docs := []search.Document{
		{ID: "thread-1", Kind: "thread", Title: "Kopi", CreatedAt: 9},
		{ID: "review-1", Kind: "review", Title: "Kopi", Rating: 2, CreatedAt: 1_900_000_000},
		{ID: "review-2", Kind: "review", Title: "Kopi", Rating: 5, CreatedAt: 100},
		{ID: "idea-1", Kind: "idea", Title: "Kopi", CreatedAt: 1_000_000_000},
		{ID: "review-3", Kind: "review", Title: "Kopi", Rating: 3, CreatedAt: 0},
	}
	for i := range docs {
		docs[i].Status, docs[i].Visibility = "published", "public"
	}
	if err := idx.Upsert(ctx, docs...); err != nil {
		t.Fatal(err)
	}
	for sort, want := range map[string]string{
		search.SortRating: "review-2,review-3,review-1,",
		search.SortNewest: "review-1,idea-1,review-2,thread-1,review-3",
	} {
		res, err := idx.Search(ctx, search.Query{Text: "kopi", Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		if got := hitIDs(res); !strings.HasPrefix(strings.Join(got, ","), want) || len(got) != 5 {
			t.Errorf("sorted by %s: %v, want %s…", sort, got, want)
		}
	}
}
