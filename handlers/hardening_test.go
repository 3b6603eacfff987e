package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
)

// Empty lists are [] in JSON, never null; what a signed-in caller gets is marked private.
func TestAPI_EmptyListsAndPrivateAnswers(t *testing.T) {
	e := newEnv(t)
	ani := e.person("ani@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	anon := newBrowser(t, base)
	for _, path := range []string{"/api/v1/threads", "/api/v1/ideas", "/api/v1/categories", "/api/v1/products"} {
		res := anon.get(path)
		if res.StatusCode != 200 || strings.Contains(res.body, "null") {
			t.Fatalf("%s on an empty portal: %d %s", path, res.StatusCode, res.body)
		}
	}
	asAni := e.apiAs(base, ani)
	res := asAni("GET", "/api/v1/notifications", "")
	if res.StatusCode != 200 || strings.Contains(res.body, "null") {
		t.Fatalf("no notifications: %d %s", res.StatusCode, res.body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("a personal answer's Cache-Control: %q", cc)
	}
	if cc := asAni("GET", "/api/v1/me", "").Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("/me Cache-Control: %q", cc)
	}
}

// A thread or idea asked for under another slug is sent to its own address.
func TestPages_RedirectToTheCanonicalSlug(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.category("Help", false)
	ani := e.person("ani@example.com")
	th, err := e.community.CreateThread(ctx, ani, community.ThreadInput{Category: "help", Title: "Router keeps rebooting", Body: "Every hour."})
	if err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, ani, community.IdeaInput{Title: "Dark mode please", Body: "At night."})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	for canonical, wrong := range map[string]string{
		th.URL():   "/threads/buy-cheap-followers-" + th.ID.Hex() + "?after=x",
		idea.URL(): "/ideas/" + idea.ID.Hex(),
	} {
		res := b.get(wrong)
		want := canonical
		if i := strings.Index(wrong, "?"); i >= 0 {
			want += wrong[i:]
		}
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Fatalf("%s: %d → %q, want %q", wrong, res.StatusCode, res.Header.Get("Location"), want)
		}
		if res := b.get(canonical); res.StatusCode != 200 {
			t.Fatalf("%s: %d", canonical, res.StatusCode)
		}
	}
}

// Only staff who may see email addresses may search by them: a moderator's search finds
// names, never an address one prefix at a time.
func TestCustomersSearch_EmailsOnlyForThoseWhoSeeThem(t *testing.T) {
	e := newEnv(t)
	e.person("mod@example.com", customers.RoleModerator)
	e.person("product@example.com", customers.RoleProduct)
	secret := e.person("s3cret.owner@example.com")
	if err := e.customers.UpdateProfile(context.Background(), secret.ID, customers.Profile{DisplayName: "Ani"}); err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	mod, product := newBrowser(t, base), newBrowser(t, base)
	mod.signIn("mod@example.com")
	product.signIn("product@example.com")
	if res := mod.get("/staff/customers/?q=s3cret"); res.StatusCode != 200 || strings.Contains(res.body, secret.ID.Hex()) {
		t.Fatalf("a moderator found a customer by email prefix: %d", res.StatusCode)
	}
	if res := mod.get("/staff/customers/?q=ani"); !strings.Contains(res.body, secret.ID.Hex()) {
		t.Fatal("a moderator cannot find a customer by name")
	}
	if res := product.get("/staff/customers/?q=s3cret"); !strings.Contains(res.body, secret.ID.Hex()) {
		t.Fatal("product staff cannot find a customer by email")
	}
}

// A list a client sends is capped: a thousand decisions in one call is refused, whole.
func TestAPI_DecisionListsAreCapped(t *testing.T) {
	e := newEnv(t)
	mod := e.person("mod@example.com", customers.RoleModerator)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asMod := e.apiAs(base, mod)
	one := `{"action":"approve","refs":["review:` + bson.NewObjectID().Hex() + `"]}`
	many := "[" + strings.TrimSuffix(strings.Repeat(one+",", 1000), ",") + "]"
	res := asMod("POST", "/api/v1/moderation/decisions", many)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, `"decisions"`) {
		t.Fatalf("1000 decisions: %d %s", res.StatusCode, res.body)
	}
	if res := asMod("POST", "/api/v1/moderation/decisions", "[]"); res.StatusCode != 200 || !strings.Contains(res.body, `"results":[]`) {
		t.Fatalf("no decisions: %d %s", res.StatusCode, res.body)
	}
}

// Text that could not be stored as written — invalid UTF-8, NUL, control characters — is
// refused with the field named, from forms, JSON bodies and query strings alike, and
// nothing is stored. Ordinary text (Indonesian, emoji, new lines, tabs) passes.
func TestInput_BrokenTextIsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.category("Help", false)
	ani := e.person("ani@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("ani@example.com")
	asAni := e.apiAs(base, ani)

	for _, body := range []string{"Halo\x00dunia", "bad \xff\xfe bytes", "bell\x07"} {
		res := b.post("/forums/new", url.Values{"category": {"help"}, "title": {"Router keeps rebooting"}, "body": {body}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("form body %q: %d", body, res.StatusCode)
		}
	}
	for body, field := range map[string]string{
		`{"category":"help","title":"Router","body":"Halo\u0000dunia"}`:       "body",
		`{"category":"help","title":"Router \u001b[31m","body":"Halo dunia"}`: "title",
		"{\"category\":\"help\",\"title\":\"Router\",\"body\":\"bad \xff\"}":  "body",
		`{"category":"help","tags":["ok","x\u0000"],"title":"T","body":"B"}`:  "tags",
	} {
		res := asAni("POST", "/api/v1/threads", body)
		var got struct {
			Error struct{ Fields map[string]string }
		}
		if err := json.Unmarshal([]byte(res.body), &got); err != nil || res.StatusCode != http.StatusUnprocessableEntity || got.Error.Fields[field] == "" {
			t.Fatalf("JSON %q: %d %s (want the field %q named)", body, res.StatusCode, res.body, field)
		}
	}
	if res := b.get("/search?q=%00router"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a NUL in a query: %d", res.StatusCode)
	}
	if page, err := e.community.Threads(ctx, community.ThreadQuery{}); err != nil || len(page.Threads) != 0 {
		t.Fatalf("something was stored: %v %v", page, err)
	}

	ok := "Modemnya mati tiap jam 🙁\n\tSudah dicoba reset."
	if res := b.post("/forums/new", url.Values{"category": {"help"}, "title": {"Router mati terus"}, "body": {ok}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ordinary text: %d %s", res.StatusCode, res.body)
	}
	if res := asAni("POST", "/api/v1/threads", `{"category":"help","title":"Router \"lagi\"","body":"Tab\there \u00e9 \ud83d\ude42"}`); res.StatusCode != http.StatusCreated {
		t.Fatalf("ordinary JSON: %d %s", res.StatusCode, res.body)
	}
}

// Ten wrong passwords from one address stop that address only: the owner's browser, which
// signed in before, still gets in from elsewhere, at once.
func TestSignIn_GuessingElsewhereDoesNotLockTheOwnerOut(t *testing.T) {
	e := newEnv(t)
	e.person("owner@example.com")
	base := listen(t, e.app(handlers.Config{TrustedProxies: []string{"127.0.0.0/8"}}, handlers.Deps{}))
	owner := newBrowser(t, base)
	owner.signIn("owner@example.com")
	if !strings.Contains(owner.last.Header.Get("Set-Cookie")+strings.Join(owner.last.Header.Values("Set-Cookie"), ";"), "guyub_device=") {
		t.Fatalf("no known-device cookie after signing in: %v", owner.last.Header.Values("Set-Cookie"))
	}
	owner.post("/signout", nil)
	attacker := newBrowser(t, base)
	for range 11 {
		form := url.Values{"email": {"owner@example.com"}, "password": {"guess"}, "_csrf": {attacker.csrf()}}
		req, _ := http.NewRequest(http.MethodPost, base+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113.9") // elsewhere
		attacker.do(req)
	}
	if attacker.last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the guessing browser: %d", attacker.last.StatusCode)
	}
	owner.signIn("owner@example.com")
}

// Sign-ups are limited per address: each costs a 64 MiB hash, and a flood would cost the
// server its memory and the community its peace.
func TestSignUp_LimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	signUp := func(i int) response {
		b := newBrowser(t, base)
		return b.post("/signup", url.Values{"email": {fmt.Sprintf("new%d@example.com", i)}, "display_name": {"New"}, "password": {"correct horse battery"}})
	}
	for i := range 10 {
		if res := signUp(i); res.StatusCode != http.StatusOK {
			t.Fatalf("sign-up %d: %d", i+1, res.StatusCode)
		}
	}
	res := signUp(10)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(res.body, "Too many new accounts") {
		t.Fatalf("11th sign-up from one address: %d", res.StatusCode)
	}
	if _, err := e.customers.FindByEmail(context.Background(), "new10@example.com"); err == nil {
		t.Fatal("the refused sign-up made an account")
	}
}

// Text in a raw HTML block is never shown, so it is never indexed or described either:
// search and the product's structured data carry the text the page shows.
func TestMarkdown_HiddenTextReachesNeitherSearchNorJSONLD(t *testing.T) {
	e := newEnv(t)
	p := e.product("Kopi Gayo")
	e.review(e.person("a@example.com"), p, 5, "<div hidden>\nzzspamword cheap-pills.example\n</div>\n\nKopi enak, harum.")
	if _, err := e.syncer.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	if res := b.get("/search?q=zzspamword"); strings.Contains(res.body, p.Slug+"#review") {
		t.Fatal("search found text the page does not show")
	}
	if res := b.get("/search?q=harum"); !strings.Contains(res.body, "<mark>harum</mark>") {
		t.Fatal("search does not find the text the page shows")
	}
	page := b.get("/products/" + p.Slug)
	ld := jsonLD.FindStringSubmatch(page.body)
	if ld == nil || strings.Contains(ld[1], "zzspamword") || !strings.Contains(ld[1], "Kopi enak, harum.") {
		t.Fatalf("JSON-LD: %v", ld)
	}
}

// An API write retried with the same Idempotency-Key gets the first answer and is stored
// once; the key with another request is refused; without a key each write counts.
func TestAPI_IdempotencyKeysMakeRetriesSafe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.category("Help", false)
	pm := e.person("pm@example.com", customers.RoleProduct)
	secret, _, err := e.identity.CreateToken(ctx, pm, identity.NewToken{Name: "crm", Scopes: []string{"read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	send := func(key, body string) response {
		req, _ := http.NewRequest("POST", base+"/api/v1/threads", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return newBrowser(t, base).do(req)
	}
	thread := `{"category":"help","title":"Router keeps rebooting","body":"Every hour."}`
	first := send("retry-1", thread)
	again := send("retry-1", thread)
	if first.StatusCode != http.StatusCreated || again.StatusCode != first.StatusCode || again.body != first.body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retry: %d %s, then %d %s", first.StatusCode, first.body, again.StatusCode, again.body)
	}
	if res := send("retry-1", `{"category":"help","title":"Another","body":"x"}`); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Idempotency-Key") {
		t.Fatalf("a key reused for another request: %d %s", res.StatusCode, res.body)
	}
	bad := `{"category":"help","title":"","body":""}`
	if a, b := send("retry-2", bad), send("retry-2", bad); a.StatusCode != 422 || b.StatusCode != 422 || a.body != b.body {
		t.Fatalf("a refused write, retried: %d, %d", a.StatusCode, b.StatusCode)
	}
	if res := send(strings.Repeat("k", 300), thread); res.StatusCode != 422 {
		t.Fatalf("a 300-character key: %d", res.StatusCode)
	}
	if res := send("", `{"category":"help","title":"Printer offline","body":"Since Monday."}`); res.StatusCode != http.StatusCreated {
		t.Fatalf("a write without a key: %d %s", res.StatusCode, res.body)
	}
	page, err := e.community.Threads(ctx, community.ThreadQuery{})
	if err != nil || len(page.Threads) != 2 {
		t.Fatalf("threads stored: %d %v (want the keyed one once, the unkeyed one)", len(page.Threads), err)
	}
}
