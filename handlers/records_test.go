package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
)

func TestCustomerRecord_ScoreStageAndWhoSeesWhat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.product("Kopi")
	buyer := e.person("buyer@example.com")
	if _, err := e.reviews.RecordPurchase(ctx, buyer.ID, customers.Purchase{ProductID: p.ID, OrderID: "SO-77", Amount: 99000}); err != nil {
		t.Fatal(err)
	}
	e.review(buyer, p, 5, "Mantap sekali")
	e.person("mod@example.com", customers.RoleModerator)
	e.person("product@example.com", customers.RoleProduct)
	e.person("cust@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	got, _ := e.customers.Get(ctx, buyer.ID)
	if got.Satisfaction.Score != 100 || got.Stage != customers.StageExpansion {
		t.Fatalf("a 5-star review from a buyer: score %d stage %s", got.Satisfaction.Score, got.Stage)
	}
	for who, want := range map[string]int{"cust@example.com": http.StatusForbidden, "mod@example.com": 200, "product@example.com": 200} {
		b := newBrowser(t, base)
		b.signIn(who)
		res := b.get("/staff/customers/" + buyer.ID.Hex() + "?lang=en")
		if res.StatusCode != want {
			t.Fatalf("%s: %d, want %d", who, res.StatusCode, want)
		}
		if want != 200 {
			continue
		}
		for _, s := range []string{"Expansion", ">100 <", "satisfied", `href="/products/kopi#review-`} {
			if !strings.Contains(res.body, s) {
				t.Errorf("%s: the record lacks %q", who, s)
			}
		}
		sees := strings.Contains(res.body, "buyer@example.com") || strings.Contains(res.body, "SO-77")
		if sees != (who == "product@example.com") {
			t.Errorf("%s sees email and purchases: %v", who, sees)
		}
	}
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	list := b.get("/staff/customers/?stage=expansion&lang=en")
	if !strings.Contains(list.body, "buyer") || strings.Contains(list.body, ">cust<") {
		t.Fatalf("filter by stage:\n%s", list.body)
	}
}
