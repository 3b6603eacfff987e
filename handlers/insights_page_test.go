package handlers_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
)

// The insights page, its API and its exports read the same feedback; customers and
// moderators may not see them.
func TestInsights_PageAPIAndExport(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("product@example.com", customers.RoleProduct)
	e.person("mod@example.com", customers.RoleModerator)
	kopi := e.product("Kopi Gayo")
	e.review(e.person("a@example.com"), kopi, 1, "Pengiriman lambat sekali, kecewa.")
	e.review(e.person("b@example.com"), kopi, 5, "Rasanya enak, aromanya harum!")
	e.review(e.person("c@example.com"), kopi, 2, "=HYPERLINK(\"http://evil.example\") pengiriman terlambat, paket penyok")
	e.sync()

	staff := newBrowser(t, base)
	staff.signIn("product@example.com")
	page := staff.get("/insights?lang=en")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Top themes") || !strings.Contains(page.body, "Delivery") ||
		!strings.Contains(page.body, "Pengiriman lambat sekali") || !strings.Contains(page.body, "Kopi Gayo") {
		t.Fatalf("the insights page: %d\n%s", page.StatusCode, page.body)
	}
	if !strings.Contains(page.body, "Only 3 pieces of feedback") {
		t.Fatal("thin data is not said to be thin")
	}
	id := staff.get("/insights?lang=id&days=30&product=" + kopi.Slug)
	if id.StatusCode != http.StatusOK || !strings.Contains(id.body, "Tema teratas") || !strings.Contains(id.body, "Pengiriman") || !strings.Contains(id.body, "2,7 ★") {
		t.Fatalf("in Indonesian, one product: %d\n%s", id.StatusCode, id.body)
	}
	if empty := staff.get("/insights?lang=en&source=ideas"); !strings.Contains(empty.body, "No feedback here yet") || strings.Contains(empty.body, "NPS 0") {
		t.Fatalf("no feedback: %s", empty.body)
	}
	for _, q := range []string{"days=7&source=tweets", "days=abc", "stage=bogus", "band=happy", "touchpoint=moon", "language=fr",
		"product=" + strings.Repeat("a", 300)} {
		if bad := staff.get("/insights?" + q); bad.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("a bad filter %q: %d", q, bad.StatusCode)
		}
	}

	// The API: the same figures as JSON.
	call := e.apiAs(base, mustFind(t, e, "product@example.com"))
	res := call("GET", "/api/v1/insights/sentiment?days=30", "")
	var sent struct {
		Total, Positive, Negative int
		Rating                    *float64
		NPS                       *float64
		Buckets                   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(res.body), &sent); err != nil || res.StatusCode != 200 || sent.Total != 3 || sent.Negative != 2 ||
		sent.Rating == nil || *sent.Rating != 2.67 || sent.NPS != nil || len(sent.Buckets) < 4 {
		t.Fatalf("sentiment API: %d %s", res.StatusCode, res.body)
	}
	res = call("GET", "/api/v1/insights/themes?product="+kopi.Slug, "")
	var th struct {
		Themes []struct {
			Key      string
			Count    int
			Negative int
			Quotes   []struct{ Text, URL string }
		}
	}
	if err := json.Unmarshal([]byte(res.body), &th); err != nil || len(th.Themes) == 0 || th.Themes[0].Key != "delivery" || th.Themes[0].Count != 2 ||
		len(th.Themes[0].Quotes) != 2 || !strings.HasPrefix(th.Themes[0].Quotes[0].URL, "/products/kopi-gayo#review-") {
		t.Fatalf("themes API: %d %s", res.StatusCode, res.body)
	}

	// Exports: every item, CSV that no spreadsheet runs, and JSON Lines.
	csvRes := staff.get("/insights/export.csv?days=30")
	rows, err := csv.NewReader(strings.NewReader(csvRes.body)).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "id" || csvRes.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %v\n%s", err, csvRes.body)
	}
	negatives := 0
	for _, row := range rows[1:] {
		if text := row[len(row)-1]; strings.HasPrefix(text, "=") {
			t.Fatalf("a formula in the export: %q", text)
		}
		if strings.HasPrefix(row[7], "-0.") {
			negatives++ // a negative score stays a number
		}
	}
	if negatives != 2 {
		t.Fatalf("negative scores in the CSV: %d of 2\n%s", negatives, csvRes.body)
	}
	lines := strings.Split(strings.TrimSpace(staff.get("/insights/export.jsonl").body), "\n")
	var first map[string]any
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &first) != nil || first["sentiment"] == nil || first["themes"] == nil {
		t.Fatalf("JSON Lines: %q", lines)
	}
	if res := call("GET", "/api/v1/insights/export?format=jsonl", ""); res.StatusCode != 200 || strings.Count(res.body, "\n") != 3 {
		t.Fatalf("API export: %d %s", res.StatusCode, res.body)
	}

	// Nobody else.
	mod := newBrowser(t, base)
	mod.signIn("mod@example.com")
	if res := mod.get("/insights"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator: %d", res.StatusCode)
	}
	if res := newBrowser(t, base).get("/insights/export.csv"); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Fatalf("a visitor's export: %d", res.StatusCode)
	}
}
