package main

import (
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/internal/browsertest"
)

// Product staff read the demo's story on the insights page, in both languages: the
// earbuds' delivery complaints rising, the coffee loved for its taste.
func TestBrowser_InsightsTellTheDemoStory(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)
	signInAs(b, r.URL, "product@guyub.example")
	// The search sync feeds insights a batch at a time within seconds: wait for the whole
	// demo (its newest feedback, last month's crushed boxes, makes the emerging phrase).
	deadline := time.Now().Add(45 * time.Second)
	for {
		b.Open(r.URL + "/insights?lang=en")
		main := b.Text("main")
		if strings.Contains(main, "Top themes") && (strings.Contains(main, "kotak penyok") || strings.Contains(main, "box crushed")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("insights never had all the demo's feedback (the crushed boxes of the last month are not an emerging phrase):\n%s", main)
		}
		time.Sleep(time.Second)
	}
	main := b.Text("main")
	for _, want := range []string{"Delivery", "Taste and scent", "What drives ratings", "Emerging phrases", "Products compared", "Suara Wireless Earbuds"} {
		if !strings.Contains(main, want) {
			t.Errorf("the insights page lacks %q", want)
		}
	}
	b.Screenshots("insights-en")

	// One product: the earbuds, in Indonesian.
	b.Open(r.URL + "/insights?lang=id&product=suara-wireless-earbuds&days=180")
	main = b.Text("main")
	if !strings.Contains(main, "Pengiriman") || !strings.Contains(main, "▲") {
		t.Errorf("the earbuds' delivery complaints are not shown rising:\n%s", main)
	}
	b.Screenshots("insights-earbuds-id")
	b.Open(r.URL + "/staff/kpis?lang=id&product=kopi-gayo-arabika")
	b.Screenshots("kpis-kopi-id")
}
