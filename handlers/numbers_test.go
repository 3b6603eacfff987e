package handlers

import (
	"math"
	"testing"
)

// Numbers read the reader's way, by CLDR: grouped thousands, their decimal mark, a real
// minus sign, and a dash for a number that is not there.
func TestNumbers_TheReadersWay(t *testing.T) {
	for _, tc := range []struct {
		lang     string
		v        float64
		decimals int
		want     string
	}{
		{"en", 1234567.5, 1, "1,234,567.5"},
		{"id", 1234567.5, 1, "1.234.567,5"},
		{"en", -12.5, 1, "−12.5"},
		{"id", -12.5, 1, "−12,5"},
		{"id", 100, 1, "100,0"},
		{"id", 4.25, -1, "4,25"},
		{"en", 12345, 0, "12,345"},
		{"id", math.NaN(), 1, "—"},
	} {
		if got := formatNumber(tc.v, tc.decimals, tc.lang); got != tc.want {
			t.Errorf("formatNumber(%v, %d, %s) = %q, want %q", tc.v, tc.decimals, tc.lang, got, tc.want)
		}
	}
	en, id := &Page{Lang: "en"}, &Page{Lang: "id"}
	if en.Pct(12.5) != "12.5%" || id.Pct(100) != "100,0%" || id.Pct(-3.25) != "−3,2%" && id.Pct(-3.25) != "−3,3%" {
		t.Errorf("Pct: %q %q %q", en.Pct(12.5), id.Pct(100), id.Pct(-3.25))
	}
	if id.Int(12345) != "12.345" {
		t.Errorf("Int: %q", id.Int(12345))
	}
}
