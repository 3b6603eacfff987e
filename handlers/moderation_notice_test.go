package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/moderation"
)

// An author whose content a moderator hides is told why, in the portal and by email, once;
// an approval tells nobody.
func TestModeration_TheAuthorIsToldWhy(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	ctx := context.Background()
	mod := e.person("mod@example.com", customers.RoleModerator)
	author := e.person("dewi@example.com")
	if err := e.customers.SetLocale(ctx, author.ID, "id"); err != nil {
		t.Fatal(err)
	}
	p := e.product("Kopi Gayo")
	r := e.review(author, p, 1, "Beli di tokoku-murah.example saja, lebih murah dan asli!")
	other := e.review(e.person("eko@example.com"), p, 5, "Harum dan segar, cocok untuk pagi hari.")
	for range 2 { // a repeated decision tells once
		if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{"review:" + r.ID.Hex()},
			Action: moderation.ActionReject, Reason: "Iklan toko lain"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{"review:" + other.ID.Hex()}, Action: moderation.ActionApprove}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"dewi@example.com"}, "password": {"correct horse battery"}})
	page := b.get("/notifications")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Moderator menyembunyikan") || !strings.Contains(page.body, "Iklan toko lain") ||
		strings.Count(page.body, "Iklan toko lain") != 1 {
		t.Fatalf("notifications: %d\n%s", page.StatusCode, page.body)
	}
	m, _ := e.email("dewi@example.com", "/profile")
	if !strings.Contains(m.Text, "Alasannya: Iklan toko lain") || !strings.Contains(m.Text, "tokoku-murah.example") {
		t.Fatalf("the email does not say what and why:\n%s", m.Text)
	}
	list, _, err := e.outbox.List(ctx, [12]byte{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range list {
		if msg.To == "eko@example.com" {
			t.Fatalf("an approval emailed its author: %q", msg.Subject)
		}
	}
}
