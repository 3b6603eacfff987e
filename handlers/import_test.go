package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/search"
)

// A community moves in through the API: customers, purchases, reviews, threads with replies,
// ideas with votes. Dates are kept, counts and search follow, a bad line is reported with
// its number while the others go in, and importing it all again changes nothing.
func TestImports_TwiceChangesNothingBadLinesReported(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.person("admin@example.com", customers.RoleAdmin)
	e.person("product@example.com", customers.RoleProduct)
	e.product("Kopi Gayo")
	e.category("Help", false)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	files := map[string]string{
		"customers": `{"external_id": "c1", "email": "Sari@Old.example", "name": "Sari Dewi", "locale": "id", "created_at": "2023-02-01T08:00:00Z"}
{"external_id": "c2", "email": "tom@old.example", "name": "Tom Baker", "created_at": "2023-03-01T08:00:00Z"}
{"external_id": "c3", "email": "not-an-address", "name": "Nobody"}
{"external_id": "c4", "email": "x@old.example", "nmae": "typo"}`,
		"purchases": `{"email": "sari@old.example", "product": "kopi-gayo", "order_id": "OLD-1", "at": "2023-04-01T10:00:00Z", "amount": 120000}`,
		"reviews": `{"external_id": "r1", "email": "sari@old.example", "product": "kopi-gayo", "rating": 4, "title": "Harum", "body": "Wangi dan segar sekali.", "created_at": "2023-05-01T10:00:00Z", "verified": true}
{"external_id": "r2", "email": "ghost@old.example", "product": "kopi-gayo", "rating": 5, "body": "Who am I?"}`,
		"threads": `{"external_id": "t1", "email": "tom@old.example", "category": "help", "title": "Grinder for a moka pot?", "body": "Which setting?", "created_at": "2023-06-01T10:00:00Z", "replies": [{"external_id": "p1", "email": "sari@old.example", "body": "Setting 8.", "created_at": "2023-06-02T10:00:00Z"}, {"external_id": "p2", "email": "tom@old.example", "body": "Thanks!", "created_at": "2023-06-03T10:00:00Z"}]}`,
		"ideas":   `{"external_id": "i1", "email": "sari@old.example", "title": "Refill pouches", "body": "Less plastic.", "product": "kopi-gayo", "created_at": "2023-07-01T10:00:00Z", "votes": [{"email": "tom@old.example", "at": "2023-07-02T10:00:00Z"}]}`,
	}
	api := e.apiAs(base, admin)
	type answer struct {
		Results []struct {
			Line   int               `json:"line"`
			Status string            `json:"status"`
			Errors map[string]string `json:"errors"`
		} `json:"results"`
		Created, Unchanged, Errors int
	}
	run := func(kind string) answer {
		t.Helper()
		res := api(http.MethodPost, "/api/v1/imports/"+kind, files[kind])
		if res.StatusCode != 200 {
			t.Fatalf("import %s: %d %s", kind, res.StatusCode, res.body)
		}
		var a answer
		json.Unmarshal([]byte(res.body), &a)
		return a
	}
	first := map[string]answer{}
	for _, kind := range []string{"customers", "purchases", "reviews", "threads", "ideas"} {
		first[kind] = run(kind)
	}
	if a := first["customers"]; a.Created != 2 || a.Errors != 2 || a.Results[2].Line != 3 || a.Results[2].Errors["email"] == "" || a.Results[3].Errors["line"] == "" {
		t.Fatalf("customers: %+v", a)
	}
	if a := first["reviews"]; a.Created != 1 || a.Errors != 1 || !strings.Contains(a.Results[1].Errors["email"], "import the customers first") {
		t.Fatalf("reviews: %+v", a)
	}
	for _, kind := range []string{"purchases", "threads", "ideas"} {
		if a := first[kind]; a.Created != 1 || a.Errors != 0 {
			t.Fatalf("%s: %+v", kind, a)
		}
	}
	// Dates kept; the review is verified and counted in the product's rating; the thread has
	// its two replies; the idea its two votes (the author's and Tom's).
	sari, _ := e.customers.FindByEmail(ctx, "sari@old.example")
	if !sari.CreatedAt.Equal(time.Date(2023, 2, 1, 8, 0, 0, 0, time.UTC)) || sari.Counters.Reviews != 1 || len(sari.Purchases) != 1 {
		t.Fatalf("Sari: joined %v, %d reviews, %d purchases", sari.CreatedAt, sari.Counters.Reviews, len(sari.Purchases))
	}
	p, _ := e.reviews.Product(ctx, "kopi-gayo")
	r, _ := e.reviews.ReviewBy(ctx, sari.ID, p.ID)
	if p.Rating.Count != 1 || r == nil || !r.Verified || r.Status != "published" || !r.CreatedAt.Equal(time.Date(2023, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("product %+v, review %+v", p.Rating, r)
	}
	page, err := e.community.Threads(ctx, threadsInHelp(e, t))
	if err != nil || len(page.Threads) != 1 || page.Threads[0].ReplyCount != 2 || !page.Threads[0].CreatedAt.Equal(time.Date(2023, 6, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("threads: %+v %v", page, err)
	}
	ideas, _ := e.db.Collection("ideas").CountDocuments(ctx, bson.M{"title": "Refill pouches", "vote_count": 2})
	if ideas != 1 {
		t.Fatal("the idea does not have its two votes")
	}
	e.sync()
	if res, _ := e.search.Search(ctx, search.Query{Text: "moka", Kind: "thread"}); res.Total != 1 {
		t.Fatalf("search finds the imported thread: %d", res.Total)
	}
	// Again: nothing changes.
	counts := func() string {
		var out []string
		for _, c := range []string{"customers", "reviews", "threads", "posts", "ideas", "idea_votes", "purchases"} {
			n, _ := e.db.Collection(c).CountDocuments(ctx, bson.M{})
			out = append(out, c+"="+strings.Repeat("|", int(n)))
		}
		return strings.Join(out, " ")
	}
	before := counts()
	for _, kind := range []string{"customers", "purchases", "reviews", "threads", "ideas"} {
		if a := run(kind); a.Created != 0 {
			t.Errorf("%s imported again created %d", kind, a.Created)
		}
	}
	if after := counts(); after != before {
		t.Fatalf("a second import changed the database:\n%s\n%s", before, after)
	}
	// Only admins import.
	prod, _ := e.customers.FindByEmail(ctx, "product@example.com")
	if res := e.apiAs(base, prod)(http.MethodPost, "/api/v1/imports/customers", files["customers"]); res.StatusCode != http.StatusForbidden {
		t.Fatalf("product staff import: %d", res.StatusCode)
	}
	if res := api(http.MethodPost, "/api/v1/imports/orders", "{}"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown kind: %d %s", res.StatusCode, res.body)
	}
}

func threadsInHelp(e *env, t *testing.T) community.ThreadQuery {
	t.Helper()
	c, err := e.community.Category(context.Background(), "help")
	if err != nil {
		t.Fatal(err)
	}
	return community.ThreadQuery{CategoryID: c.ID, Limit: 10}
}

// BenchmarkImportReviews measures the import rate of reviews (rows a second) on the
// embedded default, each through the review's own write path: 1,000 members, 100 products.
//
//	go test ./handlers -run '^$' -bench ImportReviews -benchtime 5000x
func BenchmarkImportReviews(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	imp := importer.New(e.db, e.customers, e.reviews, e.community)
	var people, lines strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&people, `{"external_id": "c%d", "email": "m%d@old.example", "name": "Member %d"}`+"\n", i, i, i)
	}
	for i := range 100 {
		e.product(fmt.Sprintf("Product %03d", i))
	}
	describe := func(err error) map[string]string { return map[string]string{"line": err.Error()} }
	if err := imp.Import(ctx, "customers", strings.NewReader(people.String()), describe, func(importer.Result) {}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		fmt.Fprintf(&lines, `{"external_id": "r%d", "email": "m%d@old.example", "product": "product-%03d", "rating": %d, "title": "Review %d", "body": "Imported words, number %d.", "created_at": "2024-01-01T10:00:00Z"}`+"\n",
			i, i%1000, (i/1000)%100, 1+i%5, i, i)
	}
	b.ResetTimer()
	errors := 0
	if err := imp.Import(ctx, "reviews", strings.NewReader(lines.String()), describe, func(r importer.Result) {
		if r.Status == "error" {
			errors++
		}
	}); err != nil {
		b.Fatal(err)
	}
	if errors > 0 {
		b.Fatalf("%d lines refused", errors)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
