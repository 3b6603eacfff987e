package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/mail"
)

// Some days after a purchase its buyer is asked to review it, then reminded once; nobody
// who reviewed it, has no confirmed address or turned these off is asked; the product's
// admin page counts the requests and the reviews that followed.
func TestReviewRequests_AfterAPurchaseOnceAndAReminder(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	ctx := context.Background()
	p := e.product("Kopi Gayo")
	buyer, reviewer, unconfirmed := e.person("sari@example.com"), e.person("tono@example.com"), e.person("wati@example.com")
	staff := e.person("daniel@example.com", customers.RoleProduct)
	for _, c := range []*customers.Customer{buyer, reviewer, staff} {
		if _, err := e.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
			t.Fatal(err)
		}
	}
	e.review(reviewer, p, 5, "Harum dan segar, cocok untuk pagi hari.")
	bought := time.Now().Add(-15 * 24 * time.Hour)
	for _, c := range []*customers.Customer{buyer, reviewer, unconfirmed, staff} {
		for range 2 { // a retried call, and the same product in another order
			if _, err := e.reviews.RecordPurchase(ctx, c.ID, customers.Purchase{ProductID: p.ID, At: bought, OrderID: "A-" + c.ID.Hex()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sent := func(to string) []*mail.Message {
		t.Helper()
		if err := e.reviews.SendReviewRequests(ctx); err != nil {
			t.Fatal(err)
		}
		return e.emailsTo(to)
	}
	first := sent("sari@example.com")
	if len(first) != 1 || !strings.Contains(first[0].Subject, "How do you like Kopi Gayo") ||
		!strings.Contains(first[0].Text, "/products/kopi-gayo#write-heading") || first[0].Headers["List-Unsubscribe"] == "" {
		t.Fatalf("the review request: %+v", first)
	}
	// The link, followed signed out, leads through sign-in back to the review form.
	visitor := newBrowser(t, base)
	if page := visitor.get("/products/kopi-gayo"); !strings.Contains(page.body, `href="/signin?next=/products/kopi-gayo%23write-heading"`) {
		t.Fatalf("the product page asks a visitor to sign in and come back:\n%s", page.body)
	}
	res := visitor.post("/signin", url.Values{"email": {"sari@example.com"}, "password": {"correct horse battery"}, "next": {"/products/kopi-gayo#write-heading"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/products/kopi-gayo#write-heading" {
		t.Fatalf("after sign-in: %d %q", res.StatusCode, loc)
	}
	if page := visitor.get("/products/kopi-gayo"); !strings.Contains(page.body, `id="write-heading"`) || !strings.Contains(page.body, `name="rating"`) {
		t.Fatalf("signed in, the review form is there:\n%s", page.body)
	}
	if got := sent("tono@example.com"); len(got) != 0 {
		t.Fatal("asked someone who had reviewed the product")
	}
	if got := sent("wati@example.com"); len(got) != 0 {
		t.Fatal("asked an unconfirmed address")
	}
	if got := sent("daniel@example.com"); len(got) != 0 {
		t.Fatal("asked staff to review the company's product")
	}
	if got := sent("sari@example.com"); len(got) != 1 {
		t.Fatalf("asked again before the days passed: %d", len(got))
	}
	due := func() {
		if _, err := e.db.Collection("review_requests").UpdateMany(ctx, bson.M{}, bson.M{"$set": bson.M{"due_at": time.Now().Add(-time.Minute)}}); err != nil {
			t.Fatal(err)
		}
	}
	due()
	if got := sent("sari@example.com"); len(got) != 2 || !strings.Contains(got[0].Subject, "last reminder") {
		t.Fatalf("the reminder: %d", len(got))
	}
	due()
	if got := sent("sari@example.com"); len(got) != 2 {
		t.Fatalf("asked a third time: %d", len(got))
	}

	e.review(buyer, p, 4, "Enak, walau agak asam.")
	admin := newBrowser(t, base)
	e.person("admin@example.com", customers.RoleAdmin)
	admin.post("/signin", url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	page := admin.get("/admin/products/kopi-gayo")
	if page.StatusCode != 200 || !strings.Contains(page.body, "Customers asked by email: 1. Reviews that followed: 1.") {
		t.Fatalf("the product's admin page: %d\n%s", page.StatusCode, page.body)
	}
}
