package search_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/search"
)

var vocabulary = strings.Fields(`kopi coffee review ulasan pelayanan pelanggan service customer delivery pengiriman
cepat fast lambat slow harga price murah cheap mahal expensive kualitas quality rusak broken baterai battery garansi
warranty suara sound tas bag nasi rice enak tasty ramah friendly aroma grinder lid strap packaging kemasan refund
return barang produk product toko shop recommend rekomendasi mantap bagus good bad buruk`)

func sentence(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocabulary[r.IntN(len(vocabulary))]
	}
	return strings.Join(w, " ")
}

// BenchmarkSearch100k measures query latency on 100,000 generated documents in the
// embedded Bleve index on disk, and reports p50 and p99 over a mix of queries.
func BenchmarkSearch100k(b *testing.B) {
	ctx := context.Background()
	idx, err := search.OpenBleve(b.TempDir() + "/index")
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"review", "thread", "post", "idea", "testimonial", "feedback"}
	const total, batch = 100_000, 1000
	started := time.Now()
	for i := 0; i < total; i += batch {
		docs := make([]search.Document, batch)
		for j := range docs {
			n := i + j
			docs[j] = search.Document{ID: fmt.Sprintf("doc-%d", n), Kind: kinds[n%len(kinds)], Title: sentence(r, 5), Body: sentence(r, 40),
				Product: fmt.Sprintf("product-%d", n%200), Category: fmt.Sprintf("category-%d", n%20), Rating: 1 + n%5,
				Status: "published", Visibility: "public", Lang: []string{"en", "id"}[n%2], CreatedAt: int64(n)}
		}
		if err := idx.Upsert(ctx, docs...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("indexed %d documents in %s", total, time.Since(started).Round(time.Second))
	queries := []search.Query{
		{Text: "kopi"}, {Text: "pelayanan pelanggan"}, {Text: "reveiw"}, {Text: "coffee delivery"},
		{Text: "broken lid", Kind: "review"}, {Text: "baterai", Sort: search.SortNewest}, {Text: "mura"},
		{Product: "product-7"}, {Text: "service", Rating: 5, Lang: "id"}, {Text: "grinder aroma", Page: 3},
	}
	var took []time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		q := queries[i%len(queries)]
		i++
		t0 := time.Now()
		if _, err := idx.Search(ctx, q); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
