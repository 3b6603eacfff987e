package handlers_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/webhooks"
)

// An admin registers an endpoint through the pages, copies its secret (shown once), and the
// receiver gets what members do — a review, a report — signed with it; the log shows each.
func TestWebhooks_RegisteredOnThePagesAndDelivered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.person("admin@example.com", customers.RoleAdmin)
	e.person("product@example.com", customers.RoleProduct)
	ayu := e.person("ayu@example.com")
	budi := e.older(e.person("budi@example.com"), 30)
	kopi := e.product("Kopi")
	var mu sync.Mutex
	var got []webhooks.Event
	var headers []http.Header
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev webhooks.Event
		json.Unmarshal(body, &ev)
		mu.Lock()
		got, headers, bodies = append(got, ev), append(headers, r.Header.Clone()), append(bodies, body)
		mu.Unlock()
	}))
	defer recv.Close()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	p := newBrowser(t, base)
	p.signIn("product@example.com")
	if res := p.get("/admin/webhooks/"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("product staff on webhooks: %d", res.StatusCode)
	}
	b := newBrowser(t, base)
	b.signIn("admin@example.com")
	bad := b.post("/admin/webhooks/?lang=en", url.Values{"url": {"ftp://crm.example.com"}})
	if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "starting with https://") || !strings.Contains(bad.body, "Choose at least one event.") {
		t.Fatalf("a bad endpoint: %d\n%s", bad.StatusCode, bad.body)
	}
	res := b.post("/admin/webhooks/", url.Values{"url": {recv.URL + "/hook"}, "description": {"CRM"},
		"events": {webhooks.ReviewCreated, webhooks.FlagRaised}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, res.body)
	}
	page := b.get(res.Header.Get("Location") + "?lang=en")
	// html/template writes "+" as "&#43;": the secret as the admin sees it.
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(html.UnescapeString(page.body))
	if secret == "" || !strings.Contains(page.body, "shown once") {
		t.Fatalf("the secret is shown after creating:\n%s", page.body)
	}
	if again := b.get(res.Header.Get("Location")); strings.Contains(html.UnescapeString(again.body), secret) {
		t.Fatal("the secret is shown twice")
	}

	rev := e.review(ayu, kopi, 4, "Wangi dan segar")
	if r := newBrowserSignedIn(t, base, budi.Email).post("/flags", url.Values{"ref": {"review:" + rev.ID.Hex()}, "reason": {"spam"}}); r.StatusCode >= 400 {
		t.Fatalf("flag: %d", r.StatusCode)
	}
	e.sync()
	if err := e.webhooks.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("received %d events: %+v", len(got), got)
	}
	types := got[0].Type + "," + got[1].Type
	if !strings.Contains(types, webhooks.ReviewCreated) || !strings.Contains(types, webhooks.FlagRaised) {
		t.Fatalf("events: %s", types)
	}
	for i, h := range headers {
		if want := webhooks.Sign(secret, h.Get("webhook-id"), h.Get("webhook-timestamp"), bodies[i]); h.Get("webhook-signature") != want {
			t.Errorf("delivery %d signature %q, want %q", i, h.Get("webhook-signature"), want)
		}
	}
	for _, ev := range got {
		if ev.Type == webhooks.ReviewCreated && (ev.Data["id"] != rev.ID.Hex() || ev.Data["rating"] != float64(4) ||
			!strings.HasPrefix(ev.Data["url"].(string), "http://portal.example/products/kopi")) {
			t.Errorf("review payload: %+v", ev.Data)
		}
	}
	log := b.get(res.Header.Get("Location") + "?lang=id")
	if !strings.Contains(log.body, "review.created") || !strings.Contains(log.body, "Terkirim") {
		t.Fatalf("the log in Indonesian:\n%s", log.body)
	}
}

func newBrowserSignedIn(t *testing.T, base, email string) *browser {
	b := newBrowser(t, base)
	b.signIn(email)
	return b
}
