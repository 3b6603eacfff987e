package insights_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/search"
)

var shortTexts = []string{
	"Barangnya bagus banget, pengiriman cepat, makasih seller!",
	"Stopped working after two days. Total waste of money.",
	"kecewa bgt, barang rusak pas sampai",
	"Great value for money, tastes delicious 😍",
	"Pengiriman lambat dan kemasannya penyok",
	"Not bad at all for the price.",
}

// Texts analysed per second on one core: run with -cpu 1.
func BenchmarkAnalyse(b *testing.B) {
	a := analyser(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Analyse(shortTexts[i%len(shortTexts)], "")
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// What reading the shipped model adds to start-up.
func BenchmarkReadModel(b *testing.B) {
	raw, err := os.ReadFile("model.gob.gz")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := insights.ReadModel(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

// The insights report over 50,000 pieces of feedback in a year: go test -bench Report -run X ./insights
func BenchmarkReport(b *testing.B) {
	s, n := seededService(b, 50_000)
	report := func(b *testing.B, f insights.Filter, cached bool) {
		for b.Loop() {
			if !cached {
				s.ForgetReports()
			}
			if _, err := s.Report(context.Background(), f); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, days := range []int{90, 365} {
		b.Run(fmt.Sprintf("%d items, %d days", n, days), func(b *testing.B) { report(b, insights.Filter{Days: days}, false) })
	}
	b.Run("one product, 90 days", func(b *testing.B) { report(b, insights.Filter{Days: 90, Products: []string{"product-3"}}, false) })
	b.Run("90 days, made in the last 5 minutes", func(b *testing.B) { report(b, insights.Filter{Days: 90}, true) })
}

// seededService is a service holding n pieces of feedback spread over a year, from eight
// products, written through Upsert as the search sync writes them.
func seededService(b *testing.B, n int) (*insights.Service, int) {
	b.Helper()
	s := newService(b)
	texts := append(shortTexts, "Harganya mahal tapi kualitasnya bagus.", "The box was crushed and the delivery was late.",
		"Customer service answered within an hour, very helpful.", "Rasanya pahit dan aromanya kurang.")
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	for done := 0; done < n; {
		batch := make([]search.Document, 0, 500)
		for range min(500, n-done) {
			doc := search.Document{ID: fmt.Sprintf("review-%024x", done), Kind: "review", Source: "reviews",
				Product: fmt.Sprintf("product-%d", r.IntN(8)), Rating: 1 + r.IntN(5), OwnText: texts[r.IntN(len(texts))],
				CreatedAt: now.Add(-time.Duration(r.IntN(365*24)) * time.Hour).Unix()}
			batch = append(batch, doc)
			done++
		}
		if err := s.Upsert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return s, n
}
