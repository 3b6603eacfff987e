package insights_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/guyub/guyub/insights"
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
