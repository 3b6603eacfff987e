package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/search"
)

// Each call the pages had and the API lacked: its role guard, a 422 with a message per field,
// and what it does.
func TestAPI_CompleteWithGuardsAnd422s(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	mod := e.person("mod@example.com", customers.RoleModerator)
	ayu := e.older(e.person("ayu@example.com"), 30)
	budi := e.older(e.person("budi@example.com"), 30)
	e.product("Kopi")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asStaff, asMod, asAyu, asBudi := e.apiAs(base, staff), e.apiAs(base, mod), e.apiAs(base, ayu), e.apiAs(base, budi)
	expect := func(res response, status int, contains ...string) map[string]any {
		t.Helper()
		if res.StatusCode != status {
			t.Fatalf("%d, want %d: %s", res.StatusCode, status, res.body)
		}
		for _, s := range contains {
			if !strings.Contains(res.body, s) {
				t.Fatalf("the answer lacks %q: %s", s, res.body)
			}
		}
		var m map[string]any
		json.Unmarshal([]byte(res.body), &m)
		return m
	}

	// Surveys.
	expect(asAyu(http.MethodPost, "/api/v1/surveys", `{"kind": "nps"}`), http.StatusForbidden)
	expect(asStaff(http.MethodPost, "/api/v1/surveys", `{"kind": "sms", "touchpoint": ""}`), http.StatusUnprocessableEntity, `"kind"`)
	sv := expect(asStaff(http.MethodPost, "/api/v1/surveys", `{"kind": "nps", "touchpoint": "community", "question_en": "How likely?", "question_id": "Seberapa mungkin?", "active": true}`), http.StatusCreated)
	id := sv["id"].(string)
	expect(asStaff(http.MethodPatch, "/api/v1/surveys/"+id, `{"kind": "nps", "touchpoint": "community", "question_en": "How likely now?", "question_id": "Seberapa mungkin?", "active": true}`), http.StatusOK, "How likely now?")
	expect(asStaff(http.MethodGet, "/api/v1/surveys", ""), http.StatusOK, "How likely now?", "answers_30d")
	expect(asStaff(http.MethodGet, "/api/v1/surveys/"+id+"/results?days=0", ""), http.StatusUnprocessableEntity, `"days"`)
	expect(asStaff(http.MethodGet, "/api/v1/surveys/"+id+"/results?days=90", ""), http.StatusOK, `"answers":0`)

	// Testimonials: a member submits, a moderator decides.
	expect(asAyu(http.MethodPost, "/api/v1/testimonials", `{"quote": "Guyub helped me choose.", "consent": false}`), http.StatusUnprocessableEntity, `"consent"`)
	tm := expect(asAyu(http.MethodPost, "/api/v1/testimonials", `{"quote": "Guyub helped me choose.", "consent": true}`), http.StatusCreated)
	expect(asAyu(http.MethodGet, "/api/v1/testimonials/pending", ""), http.StatusForbidden)
	expect(asMod(http.MethodGet, "/api/v1/testimonials/pending", ""), http.StatusOK, "Guyub helped me choose.")
	expect(asAyu(http.MethodPost, "/api/v1/testimonials/"+tm["id"].(string)+"/decision", `{"decision": "approve"}`), http.StatusForbidden)
	expect(asMod(http.MethodPost, "/api/v1/testimonials/"+tm["id"].(string)+"/decision", `{"decision": "approve"}`), http.StatusOK, `"approved"`)

	// Products.
	expect(asAyu(http.MethodPatch, "/api/v1/products/kopi", `{"slug": "kopi", "name": "Kopi", "description": "x"}`), http.StatusForbidden)
	expect(asStaff(http.MethodPatch, "/api/v1/products/kopi", `{"slug": "kopi", "name": "", "description": "x"}`), http.StatusUnprocessableEntity, `"name"`)
	expect(asStaff(http.MethodPatch, "/api/v1/products/kopi", `{"slug": "kopi", "name": "Kopi Gayo", "description": "Arabika."}`), http.StatusOK, "Kopi Gayo")

	// Idea comments, post edits and deletions.
	idea, _ := e.community.CreateIdea(ctx, budi, community.IdeaInput{Title: "Refill pouches", Body: "Less plastic."})
	expect(asAyu(http.MethodPost, "/api/v1/ideas/"+idea.ID.Hex()+"/comments", `{"body": ""}`), http.StatusUnprocessableEntity, `"body"`)
	post := expect(asAyu(http.MethodPost, "/api/v1/ideas/"+idea.ID.Hex()+"/comments", `{"body": "Yes please."}`), http.StatusCreated)
	pid := post["id"].(string)
	expect(asBudi(http.MethodPatch, "/api/v1/posts/"+pid, `{"body": "Hijacked"}`), http.StatusForbidden)
	expect(asAyu(http.MethodPatch, "/api/v1/posts/"+pid, `{"body": "Yes please, in paper."}`), http.StatusOK, "in paper")
	expect(asBudi(http.MethodDelete, "/api/v1/posts/"+pid, ""), http.StatusForbidden)
	expect(asAyu(http.MethodDelete, "/api/v1/posts/"+pid, ""), http.StatusNoContent)

	// Notification preferences.
	expect(asAyu(http.MethodGet, "/api/v1/me/notification-preferences", ""), http.StatusOK, `"reply":"instant"`)
	expect(asAyu(http.MethodPatch, "/api/v1/me/notification-preferences", `{"email": {"reply": "hourly"}}`), http.StatusUnprocessableEntity, `email.reply`)
	expect(asAyu(http.MethodPatch, "/api/v1/me/notification-preferences", `{"email": {"reply": "daily"}}`), http.StatusOK, `"reply":"daily"`)

	// A customer's timeline and look-up by address.
	expect(asAyu(http.MethodGet, "/api/v1/customers/"+ayu.ID.Hex()+"/timeline", ""), http.StatusForbidden)
	expect(asMod(http.MethodGet, "/api/v1/customers/"+ayu.ID.Hex()+"/timeline", ""), http.StatusOK, `"timeline"`, "Refill pouches", "community.post")
	expect(asMod(http.MethodGet, "/api/v1/customers?email=ayu@example.com", ""), http.StatusForbidden)
	found := expect(asStaff(http.MethodGet, "/api/v1/customers?email=AYU@example.com", ""), http.StatusOK, ayu.ID.Hex())
	if list := found["customers"].([]any); len(list) != 1 {
		t.Fatalf("look-up by address: %v", found)
	}
	expect(asStaff(http.MethodGet, "/api/v1/customers?email=nobody@example.com", ""), http.StatusOK, `"customers":[]`)

	// An idea; a review's helpful votes and the company's reply.
	expect(asBudi(http.MethodGet, "/api/v1/ideas/"+idea.ID.Hex(), ""), http.StatusOK, "Refill pouches")
	expect(asBudi(http.MethodGet, "/api/v1/ideas/"+bson.NewObjectID().Hex(), ""), http.StatusNotFound)
	r := e.review(ayu, e.product("Teh"), 4, "Harum, tapi kemasannya mudah sobek.")
	expect(asBudi(http.MethodPost, "/api/v1/reviews/"+r.ID.Hex()+"/helpful", `{}`), http.StatusBadRequest)
	expect(asBudi(http.MethodPost, "/api/v1/reviews/"+r.ID.Hex()+"/helpful", `{"helpful": true}`), http.StatusOK, `"helpful_yes":1`)
	expect(asBudi(http.MethodPost, "/api/v1/reviews/"+r.ID.Hex()+"/reply", `{"body": "Thanks"}`), http.StatusForbidden)
	expect(asStaff(http.MethodPost, "/api/v1/reviews/"+r.ID.Hex()+"/reply", `{"body": ""}`), http.StatusUnprocessableEntity, `"body"`)
	expect(asStaff(http.MethodPost, "/api/v1/reviews/"+r.ID.Hex()+"/reply", `{"body": "Terima kasih, kemasan baru segera hadir."}`), http.StatusOK, "kemasan baru")
}

// A shop posts a review for its signed-in customer with a token that may act on their behalf:
// the review is the customer's, the audit log says who wrote it for them; without the scope,
// or for a member of staff, it is refused.
func TestAPI_ActAsACustomer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	shop := e.person("shop@example.com", customers.RoleProduct)
	mod := e.person("mod@example.com", customers.RoleModerator)
	ayu := e.person("ayu@example.com")
	e.product("Kopi")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	token := func(who *customers.Customer, scopes ...string) string {
		secret, _, err := e.identity.CreateToken(ctx, who, identity.NewToken{Name: "shop", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	if _, _, err := e.identity.CreateToken(ctx, mod, identity.NewToken{Name: "x", Scopes: []string{"act_as"}}); err == nil {
		t.Fatal("a moderator's token may act on behalf of customers")
	}
	post := func(secret, as, body string) response {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/products/kopi/reviews", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Act-As", as)
		return newBrowser(t, base).do(req)
	}
	review := `{"rating": 5, "title": "Mantap", "body": "Kopinya wangi sekali, pasti beli lagi."}`
	if res := post(token(shop, "read", "write"), ayu.ID.Hex(), review); res.StatusCode != http.StatusForbidden {
		t.Fatalf("without act_as: %d", res.StatusCode)
	}
	secret := token(shop, "read", "write", "act_as")
	if res := post(secret, mod.ID.Hex(), review); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("acting as staff: %d %s", res.StatusCode, res.body)
	}
	res := post(secret, ayu.ID.Hex(), review)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("acting as Ayu: %d %s", res.StatusCode, res.body)
	}
	var r struct {
		AuthorID string `json:"author_id"`
	}
	json.Unmarshal([]byte(res.body), &r)
	if r.AuthorID != ayu.ID.Hex() {
		t.Fatalf("the review is by %s, not Ayu", r.AuthorID)
	}
	log, _ := e.moderation.Log(ctx, moderation.LogQuery{Limit: 20})
	audited := false
	for _, entry := range log {
		if entry.Action == moderation.ActionActAs && entry.Actor == shop.ID && entry.TargetAuthor == ayu.ID {
			audited = true
		}
	}
	if !audited {
		t.Fatalf("the audit log does not say the shop wrote for Ayu: %+v", log)
	}
}

// An archived product keeps its page and reviews, leaves the catalogue, search and sitemap,
// and takes no new review; brought back, it is as before.
func TestProducts_ArchivedAndBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	p := e.product("Kopi Lama")
	e.review(ayu, p, 4, "Masih enak")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	api := e.apiAs(base, staff)
	archive := func(on bool) {
		t.Helper()
		body := `{"slug": "kopi-lama", "name": "Kopi Lama", "description": "Nice.", "archived": ` + map[bool]string{true: "true", false: "false"}[on] + `}`
		if res := api(http.MethodPatch, "/api/v1/products/kopi-lama", body); res.StatusCode != 200 || !strings.Contains(res.body, `"archived":`+map[bool]string{true: "true", false: "false"}[on]) {
			t.Fatalf("archive %v: %d %s", on, res.StatusCode, res.body)
		}
		e.sync()
	}
	archive(true)
	anon := newBrowser(t, base)
	if list := anon.get("/products?lang=en"); strings.Contains(list.body, "Kopi Lama") {
		t.Fatal("an archived product is in the catalogue")
	}
	if sm := anon.get("/sitemaps/products.xml"); strings.Contains(sm.body, "kopi-lama") {
		t.Fatal("an archived product is in the sitemap")
	}
	if page := anon.get("/products/kopi-lama?lang=en"); page.StatusCode != 200 || !strings.Contains(page.body, "No longer sold") || !strings.Contains(page.body, "Masih enak") {
		t.Fatalf("the archived product's page: %d", page.StatusCode)
	}
	if res, _ := e.search.Search(ctx, search.Query{Text: "Kopi Lama", Kind: "product"}); res.Total != 0 {
		t.Fatalf("search finds the archived product: %d", res.Total)
	}
	rb := newBrowserSignedIn(t, base, budi.Email)
	if res := rb.post("/products/kopi-lama/reviews?lang=en", url.Values{"rating": {"5"}, "body": {"Masih ada?"}}); res.StatusCode != http.StatusConflict && res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a review of an archived product: %d", res.StatusCode)
	}
	archive(false)
	if list := anon.get("/products?lang=en"); !strings.Contains(list.body, "Kopi Lama") {
		t.Fatal("the product is not back in the catalogue")
	}
	if res, _ := e.search.Search(ctx, search.Query{Text: "Kopi Lama", Kind: "product"}); res.Total != 1 {
		t.Fatalf("search does not find it again: %d", res.Total)
	}
}
