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

// sentence draws words as text does: a few common, most rare (Zipf), from the real words
// above followed by 20,000 made-up ones.
func sentence(r *rand.Rand, z *rand.Zipf, n int) string {
	w := make([]string, n)
	for i := range w {
		k := int(z.Uint64())
		if k < len(vocabulary) {
			w[i] = vocabulary[k]
		} else {
			w[i] = fmt.Sprintf("kata%d", k)
		}
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
	z := rand.NewZipf(r, 1.07, 2, uint64(len(vocabulary)+20000))
	kinds := []string{"review", "thread", "post", "idea", "testimonial", "feedback"}
	const total, batch = 100_000, 1000
	started := time.Now()
	for i := 0; i < total; i += batch {
		docs := make([]search.Document, batch)
		for j := range docs {
			n := i + j
			docs[j] = search.Document{ID: fmt.Sprintf("doc-%d", n), Kind: kinds[n%len(kinds)], Title: sentence(r, z, 5), Body: sentence(r, z, 40),
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
		{Text: "kata"}, // the start of 20,000 made-up words, as you type
	}
	for _, mode := range []struct {
		name     string
		noFacets bool
	}{{"page-with-facets", false}, {"as-you-type", true}} {
		b.Run(mode.name, func(b *testing.B) {
			var took []time.Duration
			i := 0
			asked := queries
			if mode.noFacets { // as the search box's suggestions ask: five titles by relevance, for typed words
				asked = nil
				for _, q := range queries {
					if q.Text != "" {
						q.PerPage, q.Page, q.Sort, q.NoFacets = 5, 1, search.SortRelevance, true
						asked = append(asked, q)
					}
				}
			}
			for b.Loop() {
				q := asked[i%len(asked)]
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
		})
	}
}
