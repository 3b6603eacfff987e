package insights_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newService(t testing.TB) *insights.Service {
	t.Helper()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db, append(customers.Indexes, insights.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	s, err := insights.NewService(db, cust, cust)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func daysAgo(n int) int64 { return time.Now().Add(-time.Duration(n)*24*time.Hour - time.Hour).Unix() }

// A hand-computed data set: what the report says can be counted on fingers.
func TestReport_HandComputed(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	docs := []search.Document{
		{ID: "review-1", Kind: "review", Source: "reviews", Product: "kopi", Rating: 1, OwnText: "Pengiriman lambat sekali, kecewa.", CreatedAt: daysAgo(10)},
		{ID: "review-2", Kind: "review", Source: "reviews", Product: "kopi", Rating: 2, OwnText: "Pengiriman terlambat dan paketnya penyok, kecewa berat.", CreatedAt: daysAgo(5)},
		{ID: "review-3", Kind: "review", Source: "reviews", Product: "kopi", Rating: 5, OwnText: "Rasanya enak, aromanya harum.", CreatedAt: daysAgo(40)},
		{ID: "review-4", Kind: "review", Source: "reviews", Product: "kopi", Rating: 5, OwnText: "Enak sekali, mantap!", CreatedAt: daysAgo(70)},
		{ID: "review-5", Kind: "review", Source: "reviews", Product: "teh", Rating: 4, OwnText: "Harganya murah dan rasanya segar.", CreatedAt: daysAgo(20)},
		{ID: "feedback-1", Kind: "feedback", Source: "surveys", Survey: "nps", Answer: 3, Touchpoint: "purchase", Body: "Pengiriman lama sekali, kecewa.", CreatedAt: daysAgo(3)},
		{ID: "feedback-2", Kind: "feedback", Source: "surveys", Survey: "nps", Answer: 10, Touchpoint: "support", Body: "Pelayanan ramah sekali, terima kasih.", CreatedAt: daysAgo(50)},
		{ID: "post-1", Kind: "post", Source: "forums", Body: "Great community, thanks for all the help!", CreatedAt: daysAgo(15)},
		{ID: "review-old", Kind: "review", Source: "reviews", Product: "kopi", Rating: 1, OwnText: "Jelek sekali.", CreatedAt: daysAgo(200)},
	}
	if err := s.Upsert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, insights.Filter{Days: 90})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total() != 8 || r.Positive != 5 || r.Negative != 3 {
		t.Fatalf("counts: %+v, want 8: 5 positive, 3 negative", r.Counts)
	}
	if got := r.Rating.Value(); math.Abs(got-17.0/5) > 1e-9 || r.NPS.Value() != 0 || r.NPS.N() != 2 {
		t.Fatalf("rating %.3f (want 3.4), NPS %.1f of %d (want 0 of 2)", got, r.NPS.Value(), r.NPS.N())
	}
	weeks := 0
	for _, b := range r.Buckets {
		weeks += b.Total()
	}
	if r.Granularity != "week" || weeks != 8 || len(r.Buckets) < 13 || len(r.Buckets) > 14 {
		t.Fatalf("%d %s buckets holding %d", len(r.Buckets), r.Granularity, weeks)
	}
	delivery := theme(r.Themes, "delivery")
	if delivery == nil || delivery.Total() != 3 || delivery.Negative != 3 || r.Themes[0].Key != "delivery" {
		t.Fatalf("delivery: %+v (first theme %s)", delivery, r.Themes[0].Key)
	}
	// Delivery is mentioned by the 1★ and 2★ reviews, not the 5, 5 and 4★ ones; by the
	// detractor's comment, not the promoter's.
	if got := delivery.RatingGap(); math.Abs(got-(1.5-14.0/3)) > 1e-9 || delivery.NPSWith.Value() != -100 || delivery.NPSWithout.Value() != 100 {
		t.Fatalf("delivery's drivers: rating gap %.3f, NPS %.0f vs %.0f", got, delivery.NPSWith.Value(), delivery.NPSWithout.Value())
	}
	if r.Drivers[0].Key != "delivery" {
		t.Fatalf("the theme that pulls ratings down most: %s", r.Drivers[0].Key)
	}
	if len(delivery.Quotes) != 3 || delivery.Quotes[0].Sentiment != insights.Negative || delivery.Quotes[0].Text == "" {
		t.Fatalf("delivery's quotes: %+v", delivery.Quotes)
	}
	// Rising: all three in the second half of the period.
	if delivery.Earlier != 0 || delivery.Trend() <= 0 {
		t.Fatalf("delivery's trend: %.1f → %.1f", delivery.Earlier, delivery.Later)
	}
	if len(r.Products) != 2 || r.Products[0].Slug != "kopi" || r.Products[0].Total() != 4 || r.Products[0].TopTheme != "delivery" {
		t.Fatalf("products: %+v", r.Products)
	}

	for name, c := range map[string]struct {
		f    insights.Filter
		want int
	}{
		"one product":      {insights.Filter{Products: []string{"teh"}}, 1},
		"two products":     {insights.Filter{Products: []string{"teh", "kopi"}}, 5},
		"surveys":          {insights.Filter{Source: "surveys"}, 2},
		"a touchpoint":     {insights.Filter{Touchpoint: "support"}, 1},
		"English":          {insights.Filter{Lang: "en"}, 1},
		"a year":           {insights.Filter{Days: 365}, 9},
		"the last 30 days": {insights.Filter{Days: 30}, 5},
	} {
		got, err := s.Report(ctx, c.f)
		if err != nil || got.Total() != c.want {
			t.Errorf("%s: %d (%v), want %d", name, got.Total(), err, c.want)
		}
	}
	if _, err := s.Report(ctx, insights.Filter{Days: 7, Source: "tweets"}); err == nil {
		t.Fatal("a bad filter was accepted")
	}
}

// A phrase that appears only lately stands out; one heard all along does not.
func TestReport_EmergingPhrases(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	var docs []search.Document
	add := func(id, text string, ago int) {
		docs = append(docs, search.Document{ID: id, Kind: "post", Source: "forums", Body: text, CreatedAt: daysAgo(ago)})
	}
	for i, ago := range []int{2, 9, 16, 25} {
		add("post-new"+string(rune('a'+i)), "Tutup botol bocor waktu dikirim.", ago)
	}
	for i, ago := range []int{5, 40, 60, 80, 100} {
		add("post-old"+string(rune('a'+i)), "Rasanya enak, kopi pilihan.", ago)
	}
	if err := s.Upsert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, insights.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Emerging) == 0 || r.Emerging[0].Text != "botol bocor" && r.Emerging[0].Text != "tutup botol" || r.Emerging[0].Recent != 4 {
		t.Fatalf("emerging: %+v", r.Emerging)
	}
	for _, p := range r.Emerging {
		if p.Text == "rasanya enak" || p.Text == "kopi pilihan" {
			t.Fatalf("a phrase heard all along is emerging: %+v", p)
		}
	}
}

func theme(list []insights.ThemeStat, key string) *insights.ThemeStat {
	for i := range list {
		if list[i].Key == key {
			return &list[i]
		}
	}
	return nil
}

// A CSAT answer (1–5) weighs in a theme's drivers as a review's stars do.
func TestReport_CSATAnswersAreRatingsForDrivers(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	err := s.Upsert(ctx, []search.Document{
		{ID: "feedback-1", Kind: "feedback", Source: "surveys", Survey: "csat", Answer: 1, Body: "Pengiriman terlambat dua minggu.", CreatedAt: daysAgo(3)},
		{ID: "review-1", Kind: "review", Source: "reviews", Rating: 5, OwnText: "Rasanya enak sekali.", CreatedAt: daysAgo(4)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, insights.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	d := theme(r.Drivers, "delivery")
	if d == nil || d.RatingWith.N != 1 || d.RatingWith.Value() != 1 || d.RatingWithout.Value() != 5 || r.Rating.N != 1 {
		t.Fatalf("drivers: %+v, reviews' rating %+v", r.Drivers, r.Rating)
	}
}

// An export reads page after page by key: every item once, oldest first, whatever the size.
func TestExport_EveryItemOncePageByPage(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	const n = 1203 // more than two pages, with items sharing a second
	var docs []search.Document
	at := time.Now().Add(-48 * time.Hour).Unix()
	for i := range n {
		docs = append(docs, search.Document{ID: fmt.Sprintf("post-%06d", i), Kind: "post", Source: "forums", Body: "Bagus sekali.", CreatedAt: at + int64(i/7)})
	}
	for i := 0; i < n; i += 500 {
		if err := s.Upsert(ctx, docs[i:min(i+500, n)]); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var last time.Time
	pages := 0
	err := s.Export(ctx, insights.Filter{Days: 30}, func(page []*insights.Item) error {
		pages++
		for _, it := range page {
			if seen[it.ID] || it.CreatedAt.Before(last) || it.Sentiment == "" {
				t.Fatalf("%s out of order, twice or unread", it.ID)
			}
			seen[it.ID], last = true, it.CreatedAt
		}
		return nil
	})
	if err != nil || len(seen) != n || pages != 3 {
		t.Fatalf("exported %d of %d in %d pages (%v)", len(seen), n, pages, err)
	}
}
