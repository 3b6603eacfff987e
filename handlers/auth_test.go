package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
)

func TestPassword_SignUpSignOutSignIn(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))

	res := b.post("/signup", url.Values{"email": {"Ayu@Example.com"}, "display_name": {"Ayu Lestari"}, "password": {"es teler segar"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "Check your inbox") {
		t.Fatalf("sign up: status %d\n%s", res.StatusCode, res.body)
	}
	// The same address again gets the same answer; the address's owner is told by email.
	again := newBrowser(t, b.base).post("/signup", url.Values{"email": {"ayu@example.com"}, "display_name": {"Someone"}, "password": {"another secret 9"}})
	if again.StatusCode != res.StatusCode || withoutSecrets(strings.ReplaceAll(again.body, "ayu@example.com", "Ayu@Example.com")) != withoutSecrets(res.body) {
		t.Errorf("a sign-up with a registered address answers differently (%d)", again.StatusCode)
	}
	// The emailed link confirms the address and signs in: a page with a button, so a mail
	// scanner that opens links does not use it up.
	_, link := e.email("ayu@example.com", "/verify/")
	if page := b.get(link); page.StatusCode != 200 || !strings.Contains(page.body, "Confirm my address") {
		t.Fatalf("the confirmation link: %d", page.StatusCode)
	}
	if res := b.post(link, url.Values{"password": {"es teler basi"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "not this account&#39;s password") {
		t.Fatalf("confirm with a wrong password: %d\n%s", res.StatusCode, res.body)
	}
	if res := b.post(link, url.Values{"password": {"es teler segar"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", res.StatusCode, res.body)
	}
	res = b.get("/profile")
	if res.StatusCode != 200 || !strings.Contains(res.body, "Ayu Lestari") || !strings.Contains(res.body, "ayu@example.com") {
		t.Fatalf("profile after confirming: %d\n%s", res.StatusCode, res.body)
	}
	if c, _ := e.customers.FindByEmail(context.Background(), "ayu@example.com"); !c.EmailVerified || c.DisplayName != "Ayu Lestari" {
		t.Fatalf("account: %+v", c)
	}
	if used := newBrowser(t, b.base).get(link); used.StatusCode != http.StatusGone {
		t.Fatalf("a used link: %d", used.StatusCode)
	}
	if m, _ := e.email("ayu@example.com", "/forgot"); !strings.Contains(m.Subject, "already have") {
		t.Fatalf("the second sign-up's email: %q", m.Subject)
	}

	if res := b.post("/signout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if res := b.get("/profile"); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/signin?next=%2Fprofile") {
		t.Fatalf("profile after sign-out: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}

	wrong := b.post("/signin", url.Values{"email": {"ayu@example.com"}, "password": {"es teler basi"}})
	unknown := b.post("/signin", url.Values{"email": {"nobody@example.com"}, "password": {"es teler segar"}})
	for _, res := range []response{wrong, unknown} {
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.body, "That email and password do not match an account.") {
			t.Fatalf("bad sign-in: %d\n%s", res.StatusCode, res.body)
		}
	}
	res = b.post("/signin", url.Values{"email": {"AYU@example.com"}, "password": {"es teler segar"}, "next": {"/members/x"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/members/x" {
		t.Fatalf("sign in: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := b.get("/profile"); res.StatusCode != 200 {
		t.Fatalf("profile after sign-in: %d", res.StatusCode)
	}
}

func TestSignUp_ErrorsPerFieldKeepWhatWasTyped(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	res := b.post("/signup?lang=id", url.Values{"email": {"budi@"}, "display_name": {"Budi"}, "password": {"password1"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, want := range []string{"Masukkan alamat email", "Kata sandi ini termasuk yang paling umum", `value="Budi"`, `aria-invalid="true"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the form should show %q", want)
		}
	}
	if n, _ := e.db.Collection("customers").CountDocuments(context.Background(), map[string]any{}); n != 0 {
		t.Fatalf("%d accounts stored by an invalid sign-up", n)
	}
}

func TestSignIn_NextMustStayOnSite(t *testing.T) {
	e := newEnv(t)
	e.person("c@example.com")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		res := b.post("/signin", url.Values{"email": {"c@example.com"}, "password": {"correct horse battery"}, "next": {next}})
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
	}
}

func TestSignIn_LimitedPerAccount(t *testing.T) {
	e := newEnv(t)
	e.person("d@example.com")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	for range 10 {
		b.post("/signin", url.Values{"email": {"d@example.com"}, "password": {"guess"}})
	}
	res := b.post("/signin", url.Values{"email": {"d@example.com"}, "password": {"correct horse battery"}})
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(res.body, "Too many sign-in attempts") {
		t.Fatalf("status %d\n%s", res.StatusCode, res.body)
	}
}

func TestCSRF_StateChangingFormsNeedTheToken(t *testing.T) {
	e := newEnv(t)
	e.person("e@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	victim, attacker := newBrowser(t, base), newBrowser(t, base)
	victim.signIn("e@example.com")

	tests := map[string]url.Values{
		"no token":                 {"_csrf": {""}, "display_name": {"pwned"}},
		"another browser's token":  {"_csrf": {attacker.csrf()}, "display_name": {"pwned"}},
		"a token that was made up": {"_csrf": {"AAAA"}, "display_name": {"pwned"}},
	}
	for name, form := range tests {
		res := victim.post("/profile", form)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "This form has expired") {
			t.Errorf("%s: status %d\n%s", name, res.StatusCode, res.body)
		}
	}
	c, _ := e.customers.FindByEmail(context.Background(), "e@example.com")
	if c.DisplayName == "pwned" {
		t.Fatal("a forged form changed the profile")
	}
	if res := victim.post("/profile", url.Values{"display_name": {"Eka"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the page's own token: %d", res.StatusCode)
	}
}

func TestRoleGuards(t *testing.T) {
	e := newEnv(t)
	e.person("cust@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	e.person("admin@example.com", customers.RoleAdmin)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))

	tests := []struct {
		who, method, path string
		want              int
	}{
		{"", "GET", "/admin/accounts", http.StatusFound},
		{"", "GET", "/profile", http.StatusFound},
		{"", "GET", "/api/v1/me", http.StatusUnauthorized},
		{"", "POST", "/profile", http.StatusSeeOther},
		{"cust@example.com", "GET", "/admin/accounts", http.StatusForbidden},
		{"mod@example.com", "GET", "/admin/accounts", http.StatusForbidden},
		{"admin@example.com", "GET", "/admin/accounts", http.StatusOK},
		{"cust@example.com", "POST", "/profile/tokens", http.StatusForbidden},
		{"mod@example.com", "POST", "/admin/accounts/000000000000000000000000/reinstate", http.StatusForbidden},
		{"cust@example.com", "GET", "/api/v1/me", http.StatusOK},
	}
	for _, tt := range tests {
		b := newBrowser(t, base)
		if tt.who != "" {
			b.signIn(tt.who)
		}
		var res response
		if tt.method == "GET" {
			res = b.get(tt.path)
		} else {
			res = b.post(tt.path, url.Values{"name": {"x"}, "scopes": {"read"}})
		}
		if res.StatusCode != tt.want {
			t.Errorf("%s %s as %q: status %d, want %d", tt.method, tt.path, tt.who, res.StatusCode, tt.want)
		}
		if tt.want == http.StatusFound && !strings.HasPrefix(res.Header.Get("Location"), "/signin?next=") {
			t.Errorf("%s as anonymous: redirect to %q, want the sign-in page", tt.path, res.Header.Get("Location"))
		}
		if tt.want == http.StatusUnauthorized && !strings.Contains(res.body, `"status":401`) {
			t.Errorf("API 401 should be JSON: %s", res.body)
		}
	}
}

func TestAdmin_SuspendThenReinstate(t *testing.T) {
	e := newEnv(t)
	target := e.person("spammer@example.com")
	admin := e.person("admin@example.com", customers.RoleAdmin)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	a, s := newBrowser(t, base), newBrowser(t, base)
	a.signIn("admin@example.com")
	s.signIn("spammer@example.com")

	a.get("/admin/accounts?q=spam")
	if !strings.Contains(a.last.body, "spammer@example.com") || strings.Contains(a.last.body, "admin@example.com</div>") {
		t.Fatalf("search should find only the spammer:\n%s", a.last.body)
	}
	res := a.post("/admin/accounts/"+target.ID.Hex()+"/suspend", url.Values{"reason": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "This field is required.") {
		t.Fatalf("suspend without a reason: %d", res.StatusCode)
	}
	if res := a.post("/admin/accounts/"+admin.ID.Hex()+"/suspend", url.Values{"reason": {"oops"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("suspending oneself: %d", res.StatusCode)
	}
	if res := a.post("/admin/accounts/"+target.ID.Hex()+"/suspend", url.Values{"reason": {"Spam links in every post"}, "until": {"2099-01-31"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("suspend: %d\n%s", res.StatusCode, res.body)
	}

	// The suspended member can read, is told why, and cannot post.
	if res := s.get("/profile"); res.StatusCode != 200 || !strings.Contains(res.body, "suspended through 31 January 2099") || !strings.Contains(res.body, "Spam links in every post") {
		t.Fatalf("profile of a suspended member: %d\n%s", res.StatusCode, res.body)
	}
	res = s.post("/profile", url.Values{"display_name": {"Buy cheap pills"}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "Spam links in every post") {
		t.Fatalf("a suspended member posting: %d\n%s", res.StatusCode, res.body)
	}

	a.get("/admin/accounts")
	if res := a.post("/admin/accounts/"+target.ID.Hex()+"/reinstate", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reinstate: %d", res.StatusCode)
	}
	if res := s.post("/profile", url.Values{"display_name": {"Reformed"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("posting after reinstatement: %d", res.StatusCode)
	}
}

func TestAdmin_RolesButNotOwnAdmin(t *testing.T) {
	e := newEnv(t)
	target := e.person("sari@example.com")
	admin := e.person("admin@example.com", customers.RoleAdmin)
	a := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	a.signIn("admin@example.com")
	a.get("/admin/accounts")
	if res := a.post("/admin/accounts/"+target.ID.Hex()+"/roles", url.Values{"roles": {"moderator", "product"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant roles: %d", res.StatusCode)
	}
	got, _ := e.customers.Get(context.Background(), target.ID)
	if !got.HasOwnRole(customers.RoleModerator) || !got.HasOwnRole(customers.RoleProduct) || !got.HasOwnRole(customers.RoleCustomer) {
		t.Fatalf("roles = %v", got.Roles)
	}
	res := a.post("/admin/accounts/"+admin.ID.Hex()+"/roles", url.Values{"roles": {"moderator"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "cannot remove your own admin role") {
		t.Fatalf("dropping own admin: %d", res.StatusCode)
	}
	if got, _ := e.customers.Get(context.Background(), admin.ID); !got.HasOwnRole(customers.RoleAdmin) {
		t.Fatal("the admin lost the admin role")
	}
}

var tokenOnPage = regexp.MustCompile(`<code class="secret">(gyb_[A-Za-z0-9_-]+)</code>`)

func TestAPITokens_ScopesAndRevocation(t *testing.T) {
	e := newEnv(t)
	staff := e.person("product@example.com", customers.RoleProduct)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("product@example.com")
	b.get("/profile")

	create := func(scopes ...string) string {
		res := b.post("/profile/tokens", url.Values{"name": {"CRM sync"}, "scopes": scopes})
		m := tokenOnPage.FindStringSubmatch(res.body)
		if res.StatusCode != http.StatusCreated || m == nil {
			t.Fatalf("create token: %d\n%s", res.StatusCode, res.body)
		}
		return m[1]
	}
	readOnly, readWrite := create("read"), create("read", "write")
	if res := b.get("/profile"); strings.Contains(res.body, readOnly) {
		t.Fatal("a token's secret must be shown only once")
	}

	api := func(method, token string) response {
		req, _ := http.NewRequest(method, base+"/api/v1/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return newBrowser(t, base).do(req)
	}
	res := api("GET", readOnly)
	var me struct {
		ID    string
		Roles []string
	}
	if err := json.Unmarshal([]byte(res.body), &me); err != nil || res.StatusCode != 200 || me.ID != staff.ID.Hex() {
		t.Fatalf("GET /api/v1/me with a token: %d %s", res.StatusCode, res.body)
	}
	if res := api("POST", readOnly); res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "write") {
		t.Fatalf("a read token writing: %d %s", res.StatusCode, res.body)
	}
	if res := api("POST", readWrite); res.StatusCode == http.StatusForbidden {
		t.Fatalf("a write token is not refused for its scope: %s", res.body)
	}
	if res := api("GET", "gyb_forged"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a forged token: %d", res.StatusCode)
	}

	tokens, _ := e.identity.Tokens(context.Background(), staff.ID)
	b.get("/profile")
	for _, tok := range tokens {
		if res := b.post("/profile/tokens/"+tok.ID.Hex()+"/revoke", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
	}
	if res := api("GET", readOnly); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", res.StatusCode)
	}
}

func TestMemberPage_EmailOnlyForOwnerAndStaff(t *testing.T) {
	e := newEnv(t)
	ayu := e.person("ayu@example.com")
	e.person("budi@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	e.person("product@example.com", customers.RoleProduct)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	for who, sees := range map[string]bool{"": false, "budi@example.com": false, "mod@example.com": false,
		"product@example.com": true, "ayu@example.com": true} {
		b := newBrowser(t, base)
		if who != "" {
			b.signIn(who)
		}
		res := b.get("/members/" + ayu.ID.Hex())
		if res.StatusCode != 200 {
			t.Fatalf("member page for %q: %d", who, res.StatusCode)
		}
		if got := strings.Contains(res.body, "ayu@example.com"); got != sees {
			t.Errorf("viewer %q sees the email: %v, want %v", who, got, sees)
		}
	}
}

func TestLanguage_AccountPreferenceFollowsTheSwitch(t *testing.T) {
	e := newEnv(t)
	e.person("f@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("f@example.com")
	b.get("/?lang=id")
	// Another browser, no cookie, English Accept-Language: the account's choice wins.
	other := newBrowser(t, base)
	other.signIn("f@example.com")
	req, _ := http.NewRequest(http.MethodGet, base+"/profile", nil)
	req.Header.Set("Accept-Language", "en")
	if res := other.do(req); !strings.Contains(res.body, `<html lang="id">`) {
		t.Fatalf("the account's language should win over the browser's:\n%s", res.body)
	}
}

func TestFlash_ShownOnceAlsoOnDeeperPaths(t *testing.T) {
	e := newEnv(t)
	target := e.person("g@example.com")
	e.person("admin@example.com", customers.RoleAdmin)
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	b.signIn("admin@example.com")
	b.get("/admin/accounts")
	b.post("/admin/accounts/"+target.ID.Hex()+"/roles", url.Values{"roles": {"moderator"}})
	// The flash is read under /admin/, where a cookie cleared without Path=/ would survive.
	if res := b.get("/admin/accounts"); !strings.Contains(res.body, "Roles saved.") {
		t.Fatal("the page after saving should confirm it")
	}
	if res := b.get("/admin/accounts"); strings.Contains(res.body, "Roles saved.") {
		t.Fatal("the confirmation must not show again")
	}
}

func TestSessionCookie_FlagsAndRotation(t *testing.T) {
	e := newEnv(t)
	e.person("h@example.com")
	sessionCookie := func(res response) string {
		for _, c := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "guyub_session=") || strings.HasPrefix(c, "__Host-guyub_session=") {
				return c
			}
		}
		t.Fatalf("no session cookie in %v", res.Header.Values("Set-Cookie"))
		return ""
	}
	// Served over HTTPS (behind a proxy), the cookie is Secure; always HttpOnly and Lax.
	https := newBrowser(t, listen(t, e.app(handlers.Config{SecureCookies: true}, handlers.Deps{})))
	cookie := strings.ToLower(sessionCookie(https.post("/signin", url.Values{"email": {"h@example.com"}, "password": {"correct horse battery"}})))
	for _, flag := range []string{"__host-guyub_session=", "httponly", "secure", "samesite=lax", "path=/"} {
		if !strings.Contains(cookie, flag) {
			t.Errorf("session cookie %q lacks %s", cookie, flag)
		}
	}

	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	first := sessionCookie(b.post("/signin", url.Values{"email": {"h@example.com"}, "password": {"correct horse battery"}}))
	if strings.Contains(strings.ToLower(first), "secure") {
		t.Errorf("over plain HTTP the cookie cannot be Secure: %q", first)
	}
	// Signing in again gives a new session and ends the old one on the server.
	second := sessionCookie(b.post("/signin", url.Values{"email": {"h@example.com"}, "password": {"correct horse battery"}}))
	oldToken := strings.TrimPrefix(strings.Split(first, ";")[0], "guyub_session=")
	if oldToken == strings.TrimPrefix(strings.Split(second, ";")[0], "guyub_session=") {
		t.Fatal("the session token must change at sign-in")
	}
	if _, who, _ := e.identity.LookupSession(context.Background(), oldToken); who != nil {
		t.Fatal("the old session still works after signing in again")
	}
}

func TestClientIP_OnlyTrustedProxiesMayForward(t *testing.T) {
	e := newEnv(t)
	// Behind a trusted load balancer (127.0.0.1 here) the client is the right-most address
	// the balancer did not account for; what the client wrote further left does not count.
	base := listen(t, e.app(handlers.Config{RateLimit: 2, TrustedProxies: []string{"127.0.0.0/8"}}, handlers.Deps{}))
	get := func(xff string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Header.Set("X-Forwarded-For", xff)
		return newBrowser(t, base).do(req).StatusCode
	}
	for i, spoof := range []string{"1.1.1.1", "2.2.2.2"} {
		if code := get(spoof + ", 203.0.113.9"); code != 200 {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	if code := get("3.3.3.3, 203.0.113.9"); code != http.StatusTooManyRequests {
		t.Fatalf("a client changing the left of X-Forwarded-For must not escape the limit: %d", code)
	}
	if code := get("203.0.113.10"); code != 200 {
		t.Fatalf("another client has its own count: %d", code)
	}

	// Without trusted proxies the header is ignored: every request is the socket's address.
	direct := listen(t, e.app(handlers.Config{RateLimit: 1}, handlers.Deps{}))
	req, _ := http.NewRequest(http.MethodGet, direct+"/", nil)
	newBrowser(t, direct).do(req)
	req, _ = http.NewRequest(http.MethodGet, direct+"/", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	if res := newBrowser(t, direct).do(req); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("an untrusted X-Forwarded-For must be ignored: %d", res.StatusCode)
	}
}

func TestAPITokens_StopWhenTheOwnerIsNoLongerStaff(t *testing.T) {
	e := newEnv(t)
	mod := e.person("mod@example.com", customers.RoleModerator)
	secret, _, err := e.identity.CreateToken(context.Background(), mod, identity.NewToken{Name: "x", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	call := func() int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		return newBrowser(t, base).do(req).StatusCode
	}
	if code := call(); code != 200 {
		t.Fatalf("staff token: %d", code)
	}
	if err := e.customers.SetRoles(context.Background(), mod.ID, nil); err != nil {
		t.Fatal(err)
	}
	if code := call(); code != http.StatusUnauthorized {
		t.Fatalf("a demoted moderator's token: %d, want 401", code)
	}
}

// withoutSecrets is a page without what differs per browser (its CSRF token, nonces), so
// that two answers can be compared.
func withoutSecrets(page string) string {
	return regexp.MustCompile(`(value|nonce)="[^"]*"`).ReplaceAllString(page, "")
}

// Forgot password → the emailed link → a new password → signed in, every other session
// ended, the old password dead. The answer is the same for an address with no account.
func TestForgotPassword_ResetFromTheEmailSignsIn(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("rini@example.com")
	elsewhere := newBrowser(t, base)
	elsewhere.post("/signin", url.Values{"email": {"rini@example.com"}, "password": {"correct horse battery"}})
	if res := elsewhere.get("/profile"); res.StatusCode != 200 {
		t.Fatalf("signed in elsewhere: %d", res.StatusCode)
	}

	b := newBrowser(t, base)
	signin := b.get("/signin?lang=id")
	if !strings.Contains(signin.body, `href="/forgot"`) || !strings.Contains(signin.body, "Lupa kata sandi?") {
		t.Fatal("the sign-in page has no way to a forgotten password")
	}
	known := b.post("/forgot?lang=id", url.Values{"email": {"rini@example.com"}})
	unknown := newBrowser(t, base).post("/forgot?lang=id", url.Values{"email": {"rini@example.org"}})
	if known.StatusCode != 200 || !strings.Contains(known.body, "Periksa kotak masuk") ||
		withoutSecrets(strings.ReplaceAll(unknown.body, "rini@example.org", "rini@example.com")) != withoutSecrets(known.body) {
		t.Fatalf("forgot: %d / %d — want the same answer for both addresses\n%s", known.StatusCode, unknown.StatusCode, known.body)
	}
	if bad := b.post("/forgot", url.Values{"email": {"rini"}}); bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `aria-invalid="true"`) {
		t.Fatalf("a bad address: %d", bad.StatusCode)
	}

	_, link := e.email("rini@example.com", "/reset/")
	if page := b.get(link); page.StatusCode != 200 || !strings.Contains(page.body, `autocomplete="new-password"`) {
		t.Fatalf("the reset link: %d", page.StatusCode)
	}
	if weak := b.post(link, url.Values{"password": {"password1"}}); weak.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a weak new password: %d", weak.StatusCode)
	}
	res := b.post(link, url.Values{"password": {"kopi luwak mahal"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile" {
		t.Fatalf("reset: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	if res := b.get("/profile"); res.StatusCode != 200 || !strings.Contains(res.body, "rini@example.com") {
		t.Fatalf("signed in after the reset: %d", res.StatusCode)
	}
	if res := elsewhere.get("/profile"); res.StatusCode != http.StatusFound {
		t.Fatalf("the other session survived the reset: %d", res.StatusCode)
	}
	if res := newBrowser(t, base).get(link); res.StatusCode != http.StatusGone || !strings.Contains(res.body, `href="/forgot"`) {
		t.Fatalf("the used link: %d", res.StatusCode)
	}
	old := newBrowser(t, base).post("/signin", url.Values{"email": {"rini@example.com"}, "password": {"correct horse battery"}})
	fresh := newBrowser(t, base).post("/signin", url.Values{"email": {"rini@example.com"}, "password": {"kopi luwak mahal"}})
	if old.StatusCode != http.StatusUnauthorized || fresh.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the old password: %d, the new: %d", old.StatusCode, fresh.StatusCode)
	}
}

// Admins read every email at /admin/outbox, as its recipient would see it; nobody else can.
func TestOutbox_AdminsReadEmailsAsSent(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("admin@example.com", customers.RoleAdmin)
	e.person("mod@example.com", customers.RoleModerator)
	newBrowser(t, base).post("/forgot", url.Values{"email": {"mod@example.com"}})
	e.identity.Drain()
	if err := e.outbox.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	mod := newBrowser(t, base)
	mod.post("/signin", url.Values{"email": {"mod@example.com"}, "password": {"correct horse battery"}})
	if res := mod.get("/admin/outbox"); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
		t.Fatalf("a moderator reads the outbox: %d", res.StatusCode)
	}
	admin := newBrowser(t, base)
	admin.post("/signin", url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	list := admin.get("/admin/outbox")
	if list.StatusCode != 200 || !strings.Contains(list.body, "mod@example.com") || !strings.Contains(list.body, "kept (no SMTP server)") {
		t.Fatalf("outbox: %d\n%s", list.StatusCode, list.body)
	}
	m, link := e.email("mod@example.com", "/reset/")
	one := admin.get("/admin/outbox/" + m.ID.Hex())
	if one.StatusCode != 200 || !strings.Contains(one.body, "Reset your Guyub password") || !strings.Contains(one.body, "/admin/outbox/"+m.ID.Hex()+"/html") {
		t.Fatalf("one email: %d\n%s", one.StatusCode, one.body)
	}
	html := admin.get("/admin/outbox/" + m.ID.Hex() + "/html")
	if html.StatusCode != 200 || !strings.Contains(html.body, `href="http://portal.example`+link+`"`) ||
		!strings.Contains(html.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("the email's HTML: %d %v\n%s", html.StatusCode, html.Header, html.body)
	}
	if res := mod.get("/admin/outbox/" + m.ID.Hex() + "/html"); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
		t.Fatalf("a moderator reads an email: %d", res.StatusCode)
	}
	if res := admin.get("/admin/outbox/nope"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a bad ID: %d", res.StatusCode)
	}
}

// Staff find the accounts whose address nobody confirmed; such a member is reminded on
// their profile and can have the link sent again, a few times an hour.
func TestUnconfirmedAccounts_FilteredAndReminded(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	admin := e.person("admin@example.com", customers.RoleAdmin)
	if _, err := e.customers.VerifyEmail(context.Background(), admin.ID, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	e.person("wulan@example.com")
	staff := newBrowser(t, base)
	staff.post("/signin", url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	list := staff.get("/admin/accounts?email=unconfirmed")
	if list.StatusCode != 200 || !strings.Contains(list.body, "wulan@example.com") || strings.Contains(list.body, ">admin@example.com<") ||
		!strings.Contains(list.body, "email not confirmed") {
		t.Fatalf("unconfirmed accounts: %d\n%s", list.StatusCode, list.body)
	}

	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"wulan@example.com"}, "password": {"correct horse battery"}})
	if page := b.get("/profile?lang=id"); !strings.Contains(page.body, "belum dikonfirmasi") || !strings.Contains(page.body, `action="/profile/confirm"`) {
		t.Fatalf("no reminder on the profile:\n%s", page.body)
	}
	for i := range 3 {
		if res := b.post("/profile/confirm", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("send again %d: %d", i+1, res.StatusCode)
		}
	}
	_, link := e.email("wulan@example.com", "/verify/")
	if res := b.post("/profile/confirm", nil); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fourth time in an hour: %d", res.StatusCode)
	}
	if res := b.post(link, url.Values{"password": {"correct horse battery"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm with the link sent again: %d", res.StatusCode)
	}
	if page := b.get("/profile"); strings.Contains(page.body, `action="/profile/confirm"`) {
		t.Fatal("the reminder stays after confirming")
	}
}

// A member changes their address: a link goes to the new one, following it makes the change
// (confirmed) and the old address is told. The form asks for the password and answers the
// same when the new address has an account (its owner is told instead).
func TestEmailChange_ConfirmedAtTheNewAddress(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("fajar@example.com")
	e.person("taken@example.com")
	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"fajar@example.com"}, "password": {"correct horse battery"}})
	if page := b.get("/profile"); !strings.Contains(page.body, `action="/profile/email"`) {
		t.Fatal("no way to change the address on the profile")
	}
	if res := b.post("/profile/email", url.Values{"email": {"fajar@new.example"}, "password": {"wrong password"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password: %d", res.StatusCode)
	}
	if res := b.post("/profile/email", url.Values{"email": {"FAJAR@example.com"}, "password": {"correct horse battery"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the same address: %d", res.StatusCode)
	}
	taken := b.post("/profile/email", url.Values{"email": {"taken@example.com"}, "password": {"correct horse battery"}})
	free := b.post("/profile/email", url.Values{"email": {"fajar@new.example"}, "password": {"correct horse battery"}})
	if taken.StatusCode != 200 || free.StatusCode != 200 ||
		withoutSecrets(strings.ReplaceAll(taken.body, "taken@example.com", "fajar@new.example")) != withoutSecrets(free.body) {
		t.Fatalf("the answers differ: %d / %d", taken.StatusCode, free.StatusCode)
	}
	if m, _ := e.email("taken@example.com", "/forgot"); !strings.Contains(m.Subject, "already have") {
		t.Fatalf("the taken address's owner: %q", m.Subject)
	}
	_, link := e.email("fajar@new.example", "/email/")
	if page := b.get(link); page.StatusCode != 200 || !strings.Contains(page.body, "fajar@new.example") {
		t.Fatalf("the link: %d", page.StatusCode)
	}
	// The account's password is asked: the new address's owner cannot confirm another's account.
	if res := b.post(link, url.Values{"password": {"not the password"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("confirm with a wrong password: %d", res.StatusCode)
	}
	if res := b.post(link, url.Values{"password": {"correct horse battery"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", res.StatusCode, res.body)
	}
	c, err := e.customers.FindByEmail(context.Background(), "fajar@new.example")
	if err != nil || !c.EmailVerified {
		t.Fatalf("after the change: %+v %v", c, err)
	}
	e.identity.Drain()
	list, _, _ := e.outbox.List(context.Background(), [12]byte{}, 50)
	told := false
	for _, m := range list {
		told = told || (m.To == "fajar@example.com" && strings.Contains(m.Subject, "was changed"))
	}
	if !told {
		t.Fatal("the old address was not told")
	}
	if res := newBrowser(t, base).get(link); res.StatusCode != http.StatusGone {
		t.Fatalf("a used link: %d", res.StatusCode)
	}
	if res := newBrowser(t, base).post("/signin", url.Values{"email": {"fajar@new.example"}, "password": {"correct horse battery"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the new address: %d", res.StatusCode)
	}
	// A link asked for before the password changed (from a stolen session, say) dies with it.
	b.post("/profile/email", url.Values{"email": {"thief@evil.example"}, "password": {"correct horse battery"}})
	_, stolen := e.email("thief@evil.example", "/email/")
	if res := b.post("/profile/password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"gudeg jogja manis"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d", res.StatusCode)
	}
	if res := newBrowser(t, base).get(stolen); res.StatusCode != http.StatusGone {
		t.Fatalf("an address-change link outlived a password change: %d", res.StatusCode)
	}
}
