package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// cheap keeps tests fast; production uses argon2id's defaults (64 MiB).
var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

type fixture struct {
	customers *customers.Service
	identity  *identity.Service
	db        *mongo.Database
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(append(customers.Indexes, identity.Indexes...), ratelimit.Indexes)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	id, err := identity.New(ctx, db, cust, ratelimit.New(db), identity.Config{PasswordParams: cheap, SlowSignIn: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{cust, id, db}
}

func fieldError(t *testing.T, err error, field string) string {
	t.Helper()
	var f *errs.Fields
	if !errors.As(err, &f) {
		t.Fatalf("want field errors, got %v", err)
	}
	return f.ByName[field].ID
}

func TestSignUp_PasswordRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		password, want string
	}{
		{"short1", "password.too_short"},
		{"password123", "password.common"},
		{"Sunshine1", "password.common"},
		{"ayu.lestari-99", "password.like_email"},
		{string(make([]byte, 200)), "password.too_long"},
	}
	for _, tt := range tests {
		err := f.identity.SignUp(ctx, identity.SignUp{Email: "ayu.lestari@example.com", DisplayName: "Ayu", Password: tt.password})
		if got := fieldError(t, err, "password"); got != tt.want {
			t.Errorf("password %q: %q, want %q", tt.password, got, tt.want)
		}
	}
	err := f.identity.SignUp(ctx, identity.SignUp{Email: "not-an-email", Password: "x"})
	if got := fieldError(t, err, "email"); got != "field.email" {
		t.Errorf("email: %q", got)
	}
	if got := fieldError(t, err, "display_name"); got != "field.required" {
		t.Errorf("display name: %q", got)
	}
}

func TestSignUpAndSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sent := &sentMail{}
	f.identity.SetMailer(sent)
	if err := f.identity.SignUp(ctx, identity.SignUp{Email: "Budi@Example.com", DisplayName: "Budi", Password: "kopi tubruk pagi", Locale: "id"}); err != nil {
		t.Fatal(err)
	}
	f.identity.Drain()
	c, err := f.customers.FindByEmail(ctx, "budi@example.com")
	if err != nil || c.EmailVerified {
		t.Fatalf("signed up: %+v %v (want an account whose address is not confirmed yet)", c, err)
	}
	// The same address again: the same answer, nothing created, and the owner told by email.
	if err := f.identity.SignUp(ctx, identity.SignUp{Email: "budi@example.com", DisplayName: "Budi 2", Password: "kopi tubruk sore"}); err != nil {
		t.Fatalf("duplicate sign-up: %v (want the same answer as a new one)", err)
	}
	f.identity.Drain()
	if len(sent.kinds) != 2 || sent.kinds[0] != "verify id budi@example.com" || sent.kinds[1] != "exists id budi@example.com" {
		t.Fatalf("emails: %q", sent.kinds)
	}
	got, err := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "BUDI@example.com", Password: "kopi tubruk pagi", IP: "10.0.0.1"})
	if err != nil || got.ID != c.ID {
		t.Fatalf("sign in = %v, %v", got, err)
	}
	_, wrong := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "budi@example.com", Password: "kopi tubruk malam", IP: "10.0.0.1"})
	_, unknown := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "nobody@example.com", Password: "kopi tubruk pagi", IP: "10.0.0.1"})
	if !errors.Is(wrong, identity.ErrBadCredentials) || !errors.Is(unknown, identity.ErrBadCredentials) {
		t.Fatalf("wrong password: %v; unknown email: %v — want the same generic error", wrong, unknown)
	}
}

// Guessing is limited per address and per account and address pair; nobody can lock the
// owner out from elsewhere. An account guessed at from many addresses makes browsers it
// has not seen wait, while the owner's own browser signs in at once.
func TestSignIn_ThrottledWithoutLockingTheOwnerOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.identity.CreateAccount(ctx, identity.SignUp{Email: "c@example.com", DisplayName: "C", Password: "teh manis dingin"}, false); err != nil {
		t.Fatal(err)
	}
	attempt := func(ctx context.Context, password, ip, device string) error {
		_, err := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "c@example.com", Password: password, IP: ip, Device: device})
		return err
	}
	// Ten wrong guesses from one address stop that address, even with the right password...
	for i := range 10 {
		if err := attempt(ctx, "guess", "10.0.1.1", ""); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if err := attempt(ctx, "teh manis dingin", "10.0.1.1", ""); !errors.Is(err, identity.ErrTooManyAttempts) {
		t.Fatalf("11th attempt from the guessing address: %v", err)
	}
	// ...and only that address: the owner elsewhere signs in, with or without a known browser.
	if err := attempt(ctx, "teh manis dingin", "10.0.2.1", ""); err != nil {
		t.Fatalf("the owner from another address: %v", err)
	}
	device := f.identity.NewDeviceToken("C@example.com")
	if err := attempt(ctx, "teh manis dingin", "10.0.1.1", device); err != nil {
		t.Fatalf("the owner's browser, behind the guessing address: %v", err)
	}

	// Now the account is being guessed at from many addresses: an unknown browser waits
	// (longer than this second), the owner's known browser does not.
	for i := range 20 {
		quick, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := attempt(quick, "guess", fmt.Sprintf("10.0.3.%d", i), ""); !errors.Is(err, identity.ErrBadCredentials) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("distributed guess %d: %v", i, err)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := attempt(short, "teh manis dingin", "10.0.4.1", device); err != nil {
		t.Fatalf("the owner's browser during the attack: %v", err)
	}
	if err := attempt(short, "teh manis dingin", "10.0.4.2", "forged"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an unknown browser during the attack did not wait: %v", err)
	}

	// Past a hundred attempts from unknown browsers, they are refused outright; each known
	// browser keeps its own limit, so one that guessed does not stop another.
	refused := false
	for i := 0; i < 200 && !refused; i++ {
		quick, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := attempt(quick, "guess", fmt.Sprintf("10.1.%d.%d", i/200, i%200), "")
		cancel()
		refused = errors.Is(err, identity.ErrTooManyAttempts)
	}
	if !refused {
		t.Fatal("unknown browsers were never refused")
	}
	other := f.identity.NewDeviceToken("c@example.com")
	for range 10 {
		_ = attempt(ctx, "guess", "10.0.6.1", other)
	}
	if err := attempt(ctx, "teh manis dingin", "10.0.6.1", other); !errors.Is(err, identity.ErrTooManyAttempts) {
		t.Fatalf("a known browser past its own limit: %v", err)
	}
	if err := attempt(ctx, "teh manis dingin", "10.0.6.1", device); err != nil {
		t.Fatalf("another known browser of the owner: %v", err)
	}

	// Thirty attempts from one address, on many accounts, block that address.
	for i := range 30 {
		_, _ = f.identity.SignIn(ctx, identity.SignInAttempt{Email: fmt.Sprintf("someone%d@example.com", i), Password: "guess", IP: "10.0.5.5"})
	}
	if _, err := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "other@example.com", Password: "guess", IP: "10.0.5.5"}); !errors.Is(err, identity.ErrTooManyAttempts) {
		t.Fatalf("31st attempt from one IP: %v", err)
	}
}

func TestSessions_StartLookupEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, _ := f.customers.Create(ctx, customers.NewCustomer{Email: "s@example.com"})
	first, err := f.identity.StartSession(ctx, c.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := f.identity.StartSession(ctx, c.ID, "127.0.0.1", "test")
	if first == second {
		t.Fatal("each sign-in must get a new session token")
	}
	_, who, err := f.identity.LookupSession(ctx, first)
	if err != nil || who == nil || who.ID != c.ID {
		t.Fatalf("lookup = %v, %v", who, err)
	}
	if _, who, _ := f.identity.LookupSession(ctx, "forged"); who != nil {
		t.Fatal("an unknown token must not sign in")
	}
	if err := f.identity.EndSession(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, who, _ := f.identity.LookupSession(ctx, first); who != nil {
		t.Fatal("an ended session must not sign in")
	}
	if _, who, _ := f.identity.LookupSession(ctx, second); who == nil {
		t.Fatal("ending one session must not end the other")
	}
}

func TestChangePassword_EndsOtherSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, _ := f.identity.CreateAccount(ctx, identity.SignUp{Email: "d@example.com", DisplayName: "D", Password: "nasi goreng enak"}, false)
	here, _ := f.identity.StartSession(ctx, c.ID, "", "")
	there, _ := f.identity.StartSession(ctx, c.ID, "", "")
	err := f.identity.ChangePassword(ctx, c.ID, "wrong", "rendang padang 1", here)
	if fieldError(t, err, "current_password") != "password.wrong_current" {
		t.Fatalf("err = %v", err)
	}
	if err := f.identity.ChangePassword(ctx, c.ID, "nasi goreng enak", "rendang padang 1", here); err != nil {
		t.Fatal(err)
	}
	if _, who, _ := f.identity.LookupSession(ctx, there); who != nil {
		t.Fatal("other sessions should end when the password changes")
	}
	if _, who, _ := f.identity.LookupSession(ctx, here); who == nil {
		t.Fatal("the session that changed the password stays")
	}
	if _, err := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "d@example.com", Password: "rendang padang 1", IP: "1.1.1.1"}); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestTokens_StaffOnlyScopesAndRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cust, _ := f.customers.Create(ctx, customers.NewCustomer{Email: "e@example.com"})
	if _, _, err := f.identity.CreateToken(ctx, cust, identity.NewToken{Name: "x", Scopes: []string{"read"}}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a customer's token: %v", err)
	}
	staff, _ := f.customers.Create(ctx, customers.NewCustomer{Email: "p@example.com", Roles: []customers.Role{customers.RoleProduct}})
	_, _, err := f.identity.CreateToken(ctx, staff, identity.NewToken{Name: " ", Scopes: []string{"admin"}})
	if fieldError(t, err, "name") != "field.required" || fieldError(t, err, "scopes") != "tokens.unknown_scope" {
		t.Fatalf("err = %v", err)
	}
	secret, tok, err := f.identity.CreateToken(ctx, staff, identity.NewToken{Name: "CRM", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	got, who, err := f.identity.AuthenticateToken(ctx, secret)
	if err != nil || who == nil || who.ID != staff.ID || !got.Allows(identity.ScopeRead) || got.Allows(identity.ScopeWrite) {
		t.Fatalf("authenticate = %+v %v %v", got, who, err)
	}
	if list, _ := f.identity.Tokens(ctx, staff.ID); len(list) != 1 || list[0].Hash == secret {
		t.Fatalf("tokens = %+v", list)
	}
	if err := f.identity.RevokeToken(ctx, cust.ID, tok.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("revoking someone else's token: %v", err)
	}
	if err := f.identity.RevokeToken(ctx, staff.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, who, _ := f.identity.AuthenticateToken(ctx, secret); who != nil {
		t.Fatal("a revoked token must not authenticate")
	}
	if list, _ := f.identity.Tokens(ctx, staff.ID); len(list) != 0 {
		t.Fatalf("revoked tokens are not listed: %+v", list)
	}
}

func TestCSRF_TokenBelongsToItsBrowser(t *testing.T) {
	f := newFixture(t)
	a, b := identity.NewBrowserID(), identity.NewBrowserID()
	if !f.identity.ValidCSRF(a, f.identity.CSRFToken(a)) {
		t.Fatal("own token refused")
	}
	if f.identity.ValidCSRF(b, f.identity.CSRFToken(a)) || f.identity.ValidCSRF(a, "") || f.identity.ValidCSRF("", "") {
		t.Fatal("a token for another browser, or none, must be refused")
	}
}

func TestPurge_RemovesExpiredSessionsOnly(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	cust := customers.NewService(db, nil)
	short, _ := identity.New(ctx, db, cust, ratelimit.New(db), identity.Config{PasswordParams: cheap, SessionLifetime: time.Millisecond})
	long, _ := identity.New(ctx, db, cust, ratelimit.New(db), identity.Config{PasswordParams: cheap})
	c, _ := cust.Create(ctx, customers.NewCustomer{Email: "f@example.com"})
	if _, err := short.StartSession(ctx, c.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	live, _ := long.StartSession(ctx, c.ID, "", "")
	time.Sleep(5 * time.Millisecond)
	if err := long.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := db.Collection("sessions").CountDocuments(ctx, bson.M{})
	if n != 1 {
		t.Fatalf("%d sessions left, want 1", n)
	}
	if _, who, _ := long.LookupSession(ctx, live); who == nil {
		t.Fatal("live session purged")
	}
}

// unlimited lets every attempt through, so a benchmark measures the password check.
type unlimited struct{}

func (unlimited) Allow(context.Context, string, int, time.Duration) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}

// BenchmarkSignIn uses the production argon2id parameters: the cost of one password check.
func BenchmarkSignIn(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	cust := customers.NewService(db, nil)
	id, err := identity.New(ctx, db, cust, unlimited{}, identity.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := id.CreateAccount(ctx, identity.SignUp{Email: "b@example.com", DisplayName: "B", Password: "gado gado enak sekali"}, false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := id.SignIn(ctx, identity.SignInAttempt{Email: "b@example.com", Password: "gado gado enak sekali", IP: "10.9.0.1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// sentMail records the account emails the service asks for: "kind lang to", and the paths.
// They are queued after the answer: read them after the service's Drain.
type sentMail struct {
	mu           sync.Mutex
	kinds, paths []string
}

// pathTo is the link of the email sent to to (they are queued in no set order).
func (m *sentMail) pathTo(to string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range m.kinds {
		if strings.HasSuffix(k, " "+to) {
			return m.paths[i]
		}
	}
	return ""
}

func (m *sentMail) Account(_ context.Context, to, lang, kind, _, path string, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds = append(m.kinds, kind+" "+lang+" "+to)
	m.paths = append(m.paths, path)
	return nil
}

// A reset link goes only to an account's address, works once, for an hour, ends every
// session and confirms the address; the answer is the same for an unknown address.
func TestResetPassword_OnceByEmailAndEndsSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sent := &sentMail{}
	f.identity.SetMailer(sent)
	c, err := f.identity.CreateAccount(ctx, identity.SignUp{Email: "rini@example.com", DisplayName: "Rini", Password: "sambal matah pedas", Locale: "id"}, false)
	if err != nil {
		t.Fatal(err)
	}
	session, _ := f.identity.StartSession(ctx, c.ID, "", "")
	err = f.identity.RequestReset(ctx, identity.ResetRequest{Email: "nobody@example.com", IP: "10.1.0.1"})
	if f.identity.Drain(); err != nil || len(sent.kinds) != 0 {
		t.Fatalf("unknown address: %v, %q (want no error and no email)", err, sent.kinds)
	}
	if err := f.identity.RequestReset(ctx, identity.ResetRequest{Email: "not an email"}); fieldError(t, err, "email") != "field.email" {
		t.Fatalf("bad address: %v", err)
	}
	for range 2 {
		if err := f.identity.RequestReset(ctx, identity.ResetRequest{Email: "RINI@example.com", IP: "10.1.0.1", Lang: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	f.identity.Drain()
	if len(sent.kinds) != 2 || sent.kinds[0] != "reset id rini@example.com" || !strings.HasPrefix(sent.paths[0], "/reset/") {
		t.Fatalf("emails: %q %q", sent.kinds, sent.paths)
	}
	secret := strings.TrimPrefix(sent.paths[0], "/reset/")
	if _, err := f.identity.ResetPassword(ctx, secret, "short"); fieldError(t, err, "password") != "password.too_short" {
		t.Fatalf("weak password: %v", err)
	}
	got, err := f.identity.ResetPassword(ctx, secret, "rendang sapi empuk") // the link survived the weak try
	if err != nil || got.ID != c.ID {
		t.Fatalf("reset: %v %v", got, err)
	}
	if _, err := f.identity.ResetPassword(ctx, secret, "rendang sapi lagi"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("second use of the link: %v", err)
	}
	if _, err := f.identity.ResetPassword(ctx, strings.TrimPrefix(sent.paths[1], "/reset/"), "rendang sapi lagi"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("the other link still works after the reset: %v", err)
	}
	if sess, _, err := f.identity.LookupSession(ctx, session); sess != nil || err != nil {
		t.Fatal("a session from before the reset is still alive")
	}
	if _, err := f.identity.SignIn(ctx, identity.SignInAttempt{Email: "rini@example.com", Password: "rendang sapi empuk", IP: "10.1.0.2"}); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	if again, _ := f.customers.Get(ctx, c.ID); !again.EmailVerified {
		t.Fatal("following the emailed link did not confirm the address")
	}
	// Past three requests an hour, the account's owner gets no more emails — silently.
	for range 4 {
		if err := f.identity.RequestReset(ctx, identity.ResetRequest{Email: "rini@example.com", IP: "10.1.0.3"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.identity.Drain(); len(sent.kinds) != 3 {
		t.Fatalf("%d reset emails sent, want 3 (the limit per account)", len(sent.kinds))
	}
	if err := f.identity.ChangePassword(ctx, c.ID, "rendang sapi empuk", "gudeg jogja manis", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.identity.ResetPassword(ctx, strings.TrimPrefix(sent.paths[2], "/reset/"), "rendang sapi lagi"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("a reset link still works after the password was changed: %v", err)
	}
	for range 10 {
		_ = f.identity.RequestReset(ctx, identity.ResetRequest{Email: "x@example.com", IP: "10.1.0.4"})
	}
	if err := f.identity.RequestReset(ctx, identity.ResetRequest{Email: "x@example.com", IP: "10.1.0.4"}); !errors.Is(err, identity.ErrTooManyResets) {
		t.Fatalf("eleventh request from one address: %v", err)
	}
}

// The link sent at sign-up confirms the address, once; a token whose time is up does not.
func TestVerifyEmail_ByTheLinkSentAtSignUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sent := &sentMail{}
	f.identity.SetMailer(sent)
	for _, email := range []string{"wati@example.com", "late@example.com"} {
		if err := f.identity.SignUp(ctx, identity.SignUp{Email: email, DisplayName: "W", Password: "es cendol manis"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.identity.Drain(); len(sent.paths) != 2 || !strings.HasPrefix(sent.paths[0], "/verify/") {
		t.Fatalf("emails: %q %q", sent.kinds, sent.paths)
	}
	wati, late := strings.TrimPrefix(sent.pathTo("wati@example.com"), "/verify/"), strings.TrimPrefix(sent.pathTo("late@example.com"), "/verify/")
	// Whoever follows the link must know the password chosen at sign-up: the owner of an
	// address somebody else signed up with cannot confirm an account that person can enter.
	if _, err := f.identity.VerifyEmail(ctx, wati, "not the password"); fieldError(t, err, "password") != "verify.wrong_password" {
		t.Fatalf("verify with a wrong password: %v", err)
	}
	c, err := f.identity.VerifyEmail(ctx, wati, "es cendol manis")
	if err != nil || c.Email != "wati@example.com" || !c.EmailVerified {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := f.identity.VerifyEmail(ctx, wati, "es cendol manis"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := f.identity.VerifyEmail(ctx, "forged-token-forged-token-forged", "es cendol manis"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("forged token: %v", err)
	}
	if _, err := f.db.Collection("account_tokens").UpdateMany(ctx, bson.M{}, bson.M{"$set": bson.M{"expires_at": time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.identity.VerifyEmail(ctx, late, "es cendol manis"); !errors.Is(err, identity.ErrTokenInvalid) {
		t.Fatalf("expired token: %v", err)
	}
}
