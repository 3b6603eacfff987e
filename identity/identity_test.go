package identity_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"go.mongodb.org/mongo-driver/v2/bson"

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
	return fixture{cust, id}
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
		_, err := f.identity.SignUp(ctx, identity.SignUp{Email: "ayu.lestari@example.com", DisplayName: "Ayu", Password: tt.password})
		if got := fieldError(t, err, "password"); got != tt.want {
			t.Errorf("password %q: %q, want %q", tt.password, got, tt.want)
		}
	}
	_, err := f.identity.SignUp(ctx, identity.SignUp{Email: "not-an-email", Password: "x"})
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
	c, err := f.identity.SignUp(ctx, identity.SignUp{Email: "Budi@Example.com", DisplayName: "Budi", Password: "kopi tubruk pagi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.identity.SignUp(ctx, identity.SignUp{Email: "budi@example.com", DisplayName: "Budi 2", Password: "kopi tubruk sore"}); fieldError(t, err, "email") != "signup.email_taken" {
		t.Fatalf("duplicate sign-up: %v", err)
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
	if _, err := f.identity.SignUp(ctx, identity.SignUp{Email: "c@example.com", DisplayName: "C", Password: "teh manis dingin"}); err != nil {
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
	c, _ := f.identity.SignUp(ctx, identity.SignUp{Email: "d@example.com", DisplayName: "D", Password: "nasi goreng enak"})
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
	if _, err := id.SignUp(ctx, identity.SignUp{Email: "b@example.com", DisplayName: "B", Password: "gado gado enak sekali"}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := id.SignIn(ctx, identity.SignInAttempt{Email: "b@example.com", Password: "gado gado enak sekali", IP: "10.9.0.1"}); err != nil {
			b.Fatal(err)
		}
	}
}
