package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/reviews"
)

func (e *env) product(name string) *reviews.Product {
	e.t.Helper()
	p, err := e.reviews.CreateProduct(context.Background(), reviews.ProductInput{Name: name, Description: "Nice."})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) review(author *customers.Customer, p *reviews.Product, rating int, body string) *reviews.Review {
	e.t.Helper()
	r, err := e.reviews.Create(context.Background(), author, p.Slug, reviews.Input{Rating: rating, Title: "T", Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

var jsonLD = regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`)

func TestProductPage_SummaryJSONLDAndReviews(t *testing.T) {
	e := newEnv(t)
	p := e.product("Kopi Gayo")
	e.review(e.person("ayu@example.com"), p, 5, "Mantap </script><script>alert(1)</script>")
	e.review(e.person("budi@example.com"), p, 3, "Lumayan")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	res := b.get("/products/" + p.Slug + "?lang=id")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, want := range []string{"<strong>4.0</strong>", "2 ulasan", `aria-label="4 dari 5 bintang"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("product page lacks %q", want)
		}
	}
	if strings.Contains(res.body, "<script>alert(1)") {
		t.Fatal("review text must not be able to inject script")
	}
	m := jsonLD.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no JSON-LD")
	}
	var ld struct {
		Type            string `json:"@type"`
		Name            string `json:"name"`
		AggregateRating struct {
			RatingValue string `json:"ratingValue"`
			ReviewCount int    `json:"reviewCount"`
		} `json:"aggregateRating"`
		Review []struct {
			Author struct{ Name string } `json:"author"`
		} `json:"review"`
	}
	if err := json.Unmarshal([]byte(m[1]), &ld); err != nil {
		t.Fatalf("JSON-LD does not parse: %v\n%s", err, m[1])
	}
	if ld.Type != "Product" || ld.Name != "Kopi Gayo" || ld.AggregateRating.RatingValue != "4.0" || ld.AggregateRating.ReviewCount != 2 || len(ld.Review) != 2 {
		t.Fatalf("JSON-LD = %+v", ld)
	}
	// Filtering by stars and sorting by lowest are plain links and selects.
	if res := b.get("/products/" + p.Slug + "?stars=3"); strings.Contains(res.body, "Mantap") || !strings.Contains(res.body, "Lumayan") {
		t.Fatal("filter by 3 stars should show only the 3-star review")
	}
}

func TestReviewForm_ValidationDuplicateAndEdit(t *testing.T) {
	e := newEnv(t)
	p := e.product("Rice Cooker")
	e.person("c@example.com")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	b.signIn("c@example.com")
	b.get("/products/" + p.Slug)
	res := b.post("/products/"+p.Slug+"/reviews", url.Values{"rating": {"0"}, "body": {""}, "title": {"Kept"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Choose a rating from 1 to 5 stars.") ||
		!strings.Contains(res.body, "Please write a few words") || !strings.Contains(res.body, `value="Kept"`) {
		t.Fatalf("invalid review: %d", res.StatusCode)
	}
	res = b.post("/products/"+p.Slug+"/reviews", url.Values{"rating": {"4"}, "body": {"Fluffy rice every time."}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "#review-") {
		t.Fatalf("publish: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := b.get("/products/" + p.Slug)
	if !strings.Contains(page.body, "<strong>4.0</strong>") || !strings.Contains(page.body, "Fluffy rice every time.") || !strings.Contains(page.body, "Edit your review") {
		t.Fatal("the product page should show the review, the new average and a link to edit it")
	}
	res = b.post("/products/"+p.Slug+"/reviews", url.Values{"rating": {"1"}, "body": {"again"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(res.body, "already reviewed this product") {
		t.Fatalf("a second review: %d", res.StatusCode)
	}
	mine, _ := e.reviews.ReviewBy(context.Background(), mustFind(t, e, "c@example.com").ID, p.ID)
	b.get("/reviews/" + mine.ID.Hex() + "/edit")
	if res := b.post("/reviews/"+mine.ID.Hex()+"/edit", url.Values{"rating": {"2"}, "body": {"The pot scratched."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	if got, _ := e.reviews.Product(context.Background(), p.Slug); got.Rating.Sum != 2 || got.Rating.Count != 1 {
		t.Fatalf("summary after edit = %+v", got.Rating)
	}
	other := newBrowser(t, b.base)
	e.person("d@example.com")
	other.signIn("d@example.com")
	if res := other.get("/reviews/" + mine.ID.Hex() + "/edit"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("someone else's edit page: %d", res.StatusCode)
	}
}

func mustFind(t *testing.T, e *env, email string) *customers.Customer {
	t.Helper()
	c, err := e.customers.FindByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHelpfulAndBrandReplyFromThePage(t *testing.T) {
	e := newEnv(t)
	p := e.product("Lamp")
	author := e.person("author@example.com")
	r := e.review(author, p, 2, "Flickers.")
	e.person("voter@example.com")
	e.person("product@example.com", customers.RoleProduct)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	voter := newBrowser(t, base)
	voter.signIn("voter@example.com")
	voter.get("/products/" + p.Slug)
	if res := voter.post("/reviews/"+r.ID.Hex()+"/helpful", url.Values{"helpful": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("vote: %d", res.StatusCode)
	}
	if page := voter.get("/products/" + p.Slug); !strings.Contains(page.body, "1 found this helpful") || !strings.Contains(page.body, `value="yes" class="secondary small" aria-pressed="true"`) {
		t.Fatal("the page should count the vote and show it as pressed")
	}
	self := newBrowser(t, base)
	self.signIn("author@example.com")
	self.get("/products/" + p.Slug)
	if res := self.post("/reviews/"+r.ID.Hex()+"/helpful", url.Values{"helpful": {"yes"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("voting on one's own review: %d", res.StatusCode)
	}
	if res := self.post("/reviews/"+r.ID.Hex()+"/reply", url.Values{"body": {"I am the company"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer replying as the company: %d", res.StatusCode)
	}
	staff := newBrowser(t, base)
	staff.signIn("product@example.com")
	staff.get("/products/" + p.Slug)
	if res := staff.post("/reviews/"+r.ID.Hex()+"/reply", url.Values{"body": {"We are sending a new bulb."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("brand reply: %d", res.StatusCode)
	}
	if page := voter.get("/products/" + p.Slug); !strings.Contains(page.body, "Response from Guyub") || !strings.Contains(page.body, "We are sending a new bulb.") {
		t.Fatal("the reply should show under the review with the company's name")
	}
}

func TestTestimonials_ConsentFromProfileWidgetAndAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Tote")
	fan := e.person("fan@example.com")
	r := e.review(fan, p, 5, "I carry it every day.")
	e.person("mod@example.com", customers.RoleModerator)
	pending, err := e.reviews.SubmitTestimonial(ctx, e.person("new@example.com"), reviews.TestimonialInput{Quote: "Still waiting for a moderator.", Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	m.get("/products/" + p.Slug)
	if res := m.post("/reviews/"+r.ID.Hex()+"/promote", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("promote: %d", res.StatusCode)
	}
	widget := func() string { return newBrowser(t, base).get("/embed/testimonials?limit=5").body }
	if w := widget(); strings.Contains(w, "every day") || strings.Contains(w, "Still waiting") {
		t.Fatal("nothing unconsented or unapproved is in the widget")
	}

	f := newBrowser(t, base)
	f.signIn("fan@example.com")
	prof := f.get("/profile")
	if !strings.Contains(prof.body, "May we feature your review?") {
		t.Fatal("the author should be asked on the profile")
	}
	tms, _ := e.reviews.TestimonialsBy(ctx, fan.ID)
	if res := f.post("/testimonials/"+tms[0].ID.Hex()+"/consent", url.Values{"answer": {"allow"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d", res.StatusCode)
	}
	res := newBrowser(t, base).get("/embed/testimonials?limit=5")
	if !strings.Contains(res.body, "I carry it every day.") || strings.Contains(res.body, "Still waiting") {
		t.Fatalf("the widget shows only approved testimonials:\n%s", res.body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") || res.Header.Get("X-Frame-Options") != "" {
		t.Fatalf("the widget must be frameable: CSP %q, XFO %q", csp, res.Header.Get("X-Frame-Options"))
	}
	if res := newBrowser(t, base).get("/"); res.Header.Get("X-Frame-Options") == "" {
		t.Fatal("other pages stay unframeable")
	}
	var api struct {
		Testimonials []struct{ Quote, Author string }
	}
	apiRes := newBrowser(t, base).get("/api/v1/testimonials?product=" + p.Slug)
	if err := json.Unmarshal([]byte(apiRes.body), &api); err != nil || len(api.Testimonials) != 1 || api.Testimonials[0].Author != "fan" {
		t.Fatalf("API testimonials = %s", apiRes.body)
	}

	m.get("/admin/testimonials")
	if res := m.post("/admin/testimonials/"+pending.ID.Hex()+"/decision", url.Values{"decision": {"reject"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reject without reason: %d", res.StatusCode)
	}
	if res := m.post("/admin/testimonials/"+pending.ID.Hex()+"/decision", url.Values{"decision": {"feature"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("feature: %d", res.StatusCode)
	}
	if w := widget(); strings.Index(w, "Still waiting") > strings.Index(w, "every day") {
		t.Fatal("featured testimonials come first")
	}
	if log := m.get("/moderation/log?lang=en"); !strings.Contains(log.body, "Testimonial") || !strings.Contains(log.body, "approved") {
		t.Fatal("testimonial decisions are in the audit log")
	}
}

func TestAPI_ProductsReviewsPurchasesImport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("crm@example.com", customers.RoleProduct)
	buyer := e.person("buyer@example.com")
	secret, _, err := e.identity.CreateToken(ctx, staff, identity.NewToken{Name: "crm", Scopes: []string{"read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	call := func(method, path, contentType, body string) response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return newBrowser(t, base).do(req)
	}
	if res := call("POST", "/api/v1/products", "application/json", `{"name":"Kopi Toraja"}`); res.StatusCode != 201 || !strings.Contains(res.body, `"slug":"kopi-toraja"`) {
		t.Fatalf("create product: %d %s", res.StatusCode, res.body)
	}
	if res := call("POST", "/api/v1/products", "application/json", `{"name":"Kopi Toraja"}`); res.StatusCode != 422 || !strings.Contains(res.body, `"slug":"Another product already has this URL name."`) {
		t.Fatalf("duplicate slug: %d %s", res.StatusCode, res.body)
	}
	if res := call("POST", "/api/v1/products", "application/json", `{"name":`); res.StatusCode != 400 {
		t.Fatalf("broken JSON: %d %s", res.StatusCode, res.body)
	}
	res := call("POST", "/api/v1/products/import", "application/x-ndjson", "{\"name\":\"Teh Melati\"}\n{\"name\":\"\"}\n")
	if res.StatusCode != 200 || !strings.Contains(res.body, `"status":"created"`) || !strings.Contains(res.body, `"status":"error"`) {
		t.Fatalf("import: %d %s", res.StatusCode, res.body)
	}
	purchase := `{"product":"kopi-toraja","order_id":"SO-1","amount":120000}`
	if res := call("POST", "/api/v1/customers/"+buyer.ID.Hex()+"/purchases", "application/json", purchase); res.StatusCode != 201 {
		t.Fatalf("purchase: %d %s", res.StatusCode, res.body)
	}
	if res := call("POST", "/api/v1/customers/"+buyer.ID.Hex()+"/purchases", "application/json", purchase); res.StatusCode != 200 || !strings.Contains(res.body, `"recorded":false`) {
		t.Fatalf("the same purchase again: %d %s", res.StatusCode, res.body)
	}
	if res := call("POST", "/api/v1/customers/"+buyer.ID.Hex()+"/purchases", "application/json", `{"product":"nope"}`); res.StatusCode != 422 {
		t.Fatalf("unknown product: %d %s", res.StatusCode, res.body)
	}

	// The buyer writes through the API from the browser session (CSRF header), verified.
	b := newBrowser(t, base)
	b.signIn("buyer@example.com")
	token := b.csrf()
	post := func(path, body string) response {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", token)
		return b.do(req)
	}
	res = post("/api/v1/products/kopi-toraja/reviews", `{"rating":5,"body":"Earthy and bold."}`)
	if res.StatusCode != 201 || !strings.Contains(res.body, `"verified_purchase":true`) {
		t.Fatalf("API review: %d %s", res.StatusCode, res.body)
	}
	res = post("/api/v1/products/kopi-toraja/reviews", `{"rating":4,"body":"again"}`)
	if res.StatusCode != 409 || !strings.Contains(res.body, `"link":"/reviews/`) {
		t.Fatalf("second API review: %d %s", res.StatusCode, res.body)
	}
	if res := post("/api/v1/products/kopi-toraja/reviews", `{"rating":9,"body":""}`); res.StatusCode != 422 || !strings.Contains(res.body, `"rating":"Choose a rating`) {
		t.Fatalf("invalid API review: %d %s", res.StatusCode, res.body)
	}
	list := call("GET", "/api/v1/products/kopi-toraja/reviews", "", "")
	if list.StatusCode != 200 || !strings.Contains(list.body, `"author":"buyer"`) || !strings.Contains(list.body, `"count":1`) {
		t.Fatalf("API reviews: %d %s", list.StatusCode, list.body)
	}
	products := call("GET", "/api/v1/products?limit=1", "", "")
	if !strings.Contains(products.body, `"next":"kopi-toraja"`) {
		t.Fatalf("API products page: %s", products.body)
	}
}

// BenchmarkProductPage renders a product page of 10 reviews out of 200, with authors and
// votes loaded in batches, on the embedded FerretDB.
func BenchmarkProductPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	p, err := e.reviews.CreateProduct(ctx, reviews.ProductInput{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		c, err := e.customers.Create(ctx, customers.NewCustomer{Email: "b" + strconv.Itoa(i) + "@example.com", DisplayName: "B"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.reviews.Create(ctx, c, p.Slug, reviews.Input{Rating: 1 + i%5, Body: "Review number " + strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	app := e.app(handlers.Config{}, handlers.Deps{})
	for b.Loop() {
		res, err := app.Test(httptest.NewRequest(http.MethodGet, "/products/"+p.Slug, nil), -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res.StatusCode, err)
		}
	}
}
