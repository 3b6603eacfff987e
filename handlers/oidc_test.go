package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
)

// oidcWorld is the portal with OpenID Connect sign-in against a real OIDC provider on
// 127.0.0.1 (discovery, authorization code, token, JWKS and userinfo endpoints).
type oidcWorld struct {
	*env
	provider *mockoidc.MockOIDC
	base     string
}

func newOIDCWorld(t *testing.T) *oidcWorld {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	e := newEnv(t)
	ln, base := loopback(t)
	providers, err := identity.ConfigureProviders(base, []identity.ProviderConfig{{
		Kind: "oidc", Key: m.ClientID, Secret: m.ClientSecret, Issuer: m.Issuer(), Label: "Acme SSO",
	}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, e.app(handlers.Config{}, handlers.Deps{Providers: providers}), ln)
	return &oidcWorld{env: e, provider: m, base: base}
}

// oidcUser is a mockoidc user whose userinfo carries "sub" and "name", as the OpenID
// Connect spec requires and real providers do (mockoidc's own leaves sub out).
type oidcUser struct {
	*mockoidc.MockUser
	Name string
}

func (u oidcUser) Userinfo(scope []string) ([]byte, error) {
	b, err := u.MockUser.Userinfo(scope)
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, err
	}
	claims["sub"] = u.Subject
	claims["email_verified"] = u.EmailVerified
	if u.Name != "" {
		claims["name"] = u.Name
	}
	return json.Marshal(claims)
}

func (w *oidcWorld) queue(user *mockoidc.MockUser) {
	w.provider.QueueUser(oidcUser{MockUser: user, Name: strings.ToUpper(user.PreferredUsername)})
}

// login runs the whole authorization-code flow in a fresh browser as user.
func (w *oidcWorld) login(t *testing.T, user *mockoidc.MockUser) *browser {
	t.Helper()
	w.queue(user)
	b := newBrowser(t, w.base).following()
	res := b.get("/auth/openid-connect")
	if res.StatusCode != 200 || res.Request.URL.Path != "/" {
		t.Fatalf("login ended at %s with %d\n%s", res.Request.URL, res.StatusCode, res.body)
	}
	return b
}

func (w *oidcWorld) count(t *testing.T) int64 {
	n, err := w.db.Collection("customers").CountDocuments(context.Background(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOIDC_FirstLoginCreatesSecondFindsTheSameCustomer(t *testing.T) {
	w := newOIDCWorld(t)
	user := &mockoidc.MockUser{Subject: "kc-1001", Email: "rina@acme.example", EmailVerified: true, PreferredUsername: "rina"}

	b := w.login(t, user)
	if !strings.Contains(b.last.body, "Welcome! Your account is ready.") || !strings.Contains(b.last.body, "RINA") {
		t.Fatalf("first login should land signed in and welcomed:\n%s", b.last.body)
	}
	c, err := w.customers.FindByIdentity(context.Background(), "openid-connect", "kc-1001")
	if err != nil || c.Email != "rina@acme.example" || !c.EmailVerified {
		t.Fatalf("customer = %+v, %v", c, err)
	}

	w.login(t, user)
	if n := w.count(t); n != 1 {
		t.Fatalf("%d customers after two logins, want 1", n)
	}
	sessions, _ := w.db.Collection("sessions").CountDocuments(context.Background(), map[string]any{"customer_id": c.ID})
	if sessions != 2 {
		t.Fatalf("%d sessions, want one per login", sessions)
	}
}

func TestOIDC_VerifiedEmailLinksToTheExistingAccount(t *testing.T) {
	w := newOIDCWorld(t)
	existing := w.person("dewi@acme.example")
	b := w.login(t, &mockoidc.MockUser{Subject: "kc-2002", Email: "Dewi@Acme.example", EmailVerified: true})
	res := b.get("/profile")
	if !strings.Contains(res.body, "dewi@acme.example") {
		t.Fatalf("should be signed in as the existing account:\n%s", res.body)
	}
	c, _ := w.customers.Get(context.Background(), existing.ID)
	if !c.HasIdentity("openid-connect") || w.count(t) != 1 {
		t.Fatalf("the login should link to the existing account: %+v (%d customers)", c.Identities, w.count(t))
	}
}

// Someone signs up first with another person's address and a password of their own. When
// the address's real owner signs in with a provider that vouches for it, they get the
// account and the squatter's password and sessions stop working.
func TestOIDC_VerifiedEmailTakesBackASquattedAccount(t *testing.T) {
	w := newOIDCWorld(t)
	squatter := newBrowser(t, w.base)
	squatter.post("/signup", url.Values{"email": {"hana@acme.example"}, "display_name": {"Hana"}, "password": {"squatter secret 1"}})
	squatter.post("/signin", url.Values{"email": {"hana@acme.example"}, "password": {"squatter secret 1"}}) // unconfirmed, but in
	if res := squatter.get("/profile"); res.StatusCode != 200 {
		t.Fatalf("squatter not signed in: %d", res.StatusCode)
	}

	owner := w.login(t, &mockoidc.MockUser{Subject: "kc-6006", Email: "hana@acme.example", EmailVerified: true})
	if !strings.Contains(owner.last.body, "password was removed") {
		t.Fatalf("the owner should be told the old password is gone:\n%s", owner.last.body)
	}
	if res := squatter.get("/profile"); res.StatusCode != http.StatusFound {
		t.Fatalf("the squatter's session should end: %d", res.StatusCode)
	}
	res := newBrowser(t, w.base).post("/signin", url.Values{"email": {"hana@acme.example"}, "password": {"squatter secret 1"}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the squatter's password should no longer work: %d", res.StatusCode)
	}
	c, _ := w.customers.FindByEmail(context.Background(), "hana@acme.example")
	if !c.EmailVerified || !c.HasIdentity("openid-connect") {
		t.Fatalf("account = %+v", c)
	}
	// A later verified login to an account whose email is proven keeps its password.
	if removed, _ := w.customers.EmailProven(context.Background(), c.ID); removed {
		t.Fatal("a proven email must not remove a password again")
	}
}

func TestOIDC_UnverifiedEmailDoesNotLink(t *testing.T) {
	w := newOIDCWorld(t)
	existing := w.person("eko@acme.example")
	w.login(t, &mockoidc.MockUser{Subject: "kc-3003", Email: "eko@acme.example", EmailVerified: false})
	if w.count(t) != 2 {
		t.Fatalf("an unverified email must make a new account, not take over another: %d customers", w.count(t))
	}
	c, _ := w.customers.Get(context.Background(), existing.ID)
	if c.HasIdentity("openid-connect") {
		t.Fatal("the existing account was linked on an unverified email")
	}
	newcomer, _ := w.customers.FindByIdentity(context.Background(), "openid-connect", "kc-3003")
	if newcomer.Email != "" {
		t.Fatalf("an unverified email is not stored: %q", newcomer.Email)
	}
}

func TestOIDC_LinkFromProfile(t *testing.T) {
	w := newOIDCWorld(t)
	fajar := w.person("fajar@example.com")
	b := newBrowser(t, w.base)
	b.signIn("fajar@example.com")
	if res := b.get("/profile"); !strings.Contains(res.body, "Link Acme SSO") {
		t.Fatalf("the profile should offer linking:\n%s", res.body)
	}
	w.queue(&mockoidc.MockUser{Subject: "kc-4004", Email: "f.other@acme.example", EmailVerified: true})
	b.following().get("/auth/openid-connect?link=1")
	if !strings.Contains(b.last.body, "Sign-in linked") {
		t.Fatalf("after linking:\n%s", b.last.body)
	}
	c, _ := w.customers.FindByIdentity(context.Background(), "openid-connect", "kc-4004")
	if c == nil || c.ID != fajar.ID {
		t.Fatal("the provider should be linked to the signed-in account")
	}
}

func TestOIDC_ForgedOrReusedStateIsRejected(t *testing.T) {
	w := newOIDCWorld(t)
	w.queue(&mockoidc.MockUser{Subject: "kc-5005", Email: "g@acme.example", EmailVerified: true})

	// Start a login but stop at the provider's redirect, keeping the real code.
	b := newBrowser(t, w.base)
	res := b.get("/auth/openid-connect")
	authURL, _ := url.Parse(res.Header.Get("Location"))
	toProvider, _ := http.NewRequest(http.MethodGet, authURL.String(), nil)
	res = b.do(toProvider)
	callback, _ := url.Parse(res.Header.Get("Location"))
	code, state := callback.Query().Get("code"), callback.Query().Get("state")
	if code == "" || state == "" {
		t.Fatalf("provider redirect = %s", callback)
	}

	reject := func(name string, b *browser, query url.Values) {
		t.Helper()
		res := b.get("/auth/openid-connect/callback?" + query.Encode())
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin?error=state" {
			t.Fatalf("%s: %d → %q", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// An attacker's browser, with a login of its own under way, replays the victim's callback.
	attacker := newBrowser(t, w.base)
	attacker.get("/auth/openid-connect")
	reject("state from another browser", attacker, url.Values{"code": {code}, "state": {state}})
	attacker.get("/auth/openid-connect")
	reject("forged state", attacker, url.Values{"code": {code}, "state": {"forged"}})
	reject("no state cookie", newBrowser(t, w.base), url.Values{"code": {code}, "state": {state}})
	if w.count(t) != 0 {
		t.Fatal("a rejected callback must not create an account")
	}

	res = b.get("/auth/openid-connect/callback?" + url.Values{"code": {code}, "state": {state}}.Encode())
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("the genuine callback: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The same state a second time (a replayed callback) is refused.
	b.http.Jar.SetCookies(authURLBase(w.base), []*http.Cookie{{Name: "guyub_oauth_state", Value: state, Path: "/auth/"}})
	reject("replayed state", b, url.Values{"code": {code}, "state": {state}})

	signin := newBrowser(t, w.base).get("/signin?error=state")
	if !strings.Contains(signin.body, "That sign-in link has expired") {
		t.Fatalf("the sign-in page should explain:\n%s", signin.body)
	}
}

func TestOIDC_CancelledAtTheProvider(t *testing.T) {
	w := newOIDCWorld(t)
	b := newBrowser(t, w.base)
	res := b.get("/auth/openid-connect")
	authURL, _ := url.Parse(res.Header.Get("Location"))
	state := authURL.Query().Get("state")
	res = b.get("/auth/openid-connect/callback?" + url.Values{"error": {"access_denied"}, "state": {state}}.Encode())
	if res.Header.Get("Location") != "/signin?error=cancelled" {
		t.Fatalf("cancel: → %q", res.Header.Get("Location"))
	}
	if res := b.get("/signin?error=cancelled"); !strings.Contains(res.body, "Sign-in was cancelled") || !strings.Contains(res.body, "Continue with Acme SSO") {
		t.Fatalf("sign-in page after a cancel:\n%s", res.body)
	}
}

func authURLBase(base string) *url.URL {
	u, _ := url.Parse(base + "/auth/")
	return u
}
