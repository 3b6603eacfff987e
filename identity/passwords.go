package identity

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
)

// Password rules, after NIST SP 800-63B: a minimum length and no well-known passwords,
// no composition rules.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128 // hashing a megabyte on request is a denial of service
)

// Sign-in attempts allowed in each window: per IP address, per account and IP pair, and per
// account before attempts from unknown browsers take the slow path.
const (
	signInWindow     = 15 * time.Minute
	signInPerIP      = 30
	signInPerPair    = 10
	signInPerAccount = 10
	signInAccountCap = 100 // attempts from unknown browsers, all addresses together
)

//go:embed common-passwords.txt
var commonPasswordsText string

func loadCommonPasswords() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
}

// Errors of signing in.
var (
	// ErrBadCredentials is the one answer for an unknown email and a wrong password, so the
	// form does not tell who has an account.
	ErrBadCredentials  = errs.New(errs.ErrUnauthorized, "signin.bad_credentials")
	ErrTooManyAttempts = errs.New(errs.ErrTooMany, "signin.too_many")
	// ErrTooManySignUps: each sign-up costs a 64 MiB hash, so one address makes a few an hour.
	ErrTooManySignUps = errs.New(errs.ErrTooMany, "signup.too_many")
)

// Sign-ups allowed per IP address in each window.
const (
	signUpWindow = time.Hour
	signUpPerIP  = 10
)

// checkPassword adds the password's problems to f.
func (s *Service) checkPassword(f *errs.Fields, field, password, email string) {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		f.Add(field, "password.too_short", "Min", MinPasswordLength)
	case n > MaxPasswordLength:
		f.Add(field, "password.too_long", "Max", MaxPasswordLength)
	}
	lower := strings.ToLower(password)
	if _, common := s.common[lower]; common {
		f.Add(field, "password.common")
	}
	local, _, _ := strings.Cut(customers.NormalizeEmail(email), "@")
	if email != "" && (lower == customers.NormalizeEmail(email) || (len(local) >= 4 && strings.Contains(lower, local))) {
		f.Add(field, "password.like_email")
	}
}

// SignUp is the email account form.
type SignUp struct {
	Email       string `form:"email" json:"email"`
	DisplayName string `form:"display_name" json:"display_name"`
	Password    string `form:"password" json:"password"`
	Locale      string `form:"-" json:"-"`
	IP          string `form:"-" json:"-"` // the caller's address, for the sign-up limit; "" for admin commands
}

// SignUp is the public sign-up: it creates an email and password account and emails a link
// that confirms the address and signs in. If the address has an account already, nothing is
// created and its owner is told by email instead; the answer (and the time it takes) is the
// same either way, so the form does not tell anyone who has an account.
func (s *Service) SignUp(ctx context.Context, in SignUp) error {
	c, err := s.CreateAccount(ctx, in, false)
	if errors.Is(err, customers.ErrEmailTaken) {
		existing, err := s.customers.FindByEmail(ctx, customers.NormalizeEmail(in.Email))
		if err != nil {
			return err
		}
		day := s.now().Format(time.DateOnly) // one such email a day, however often someone tries
		s.later(ctx, "exists", func(ctx context.Context) error {
			return s.mail(ctx, existing.Email, localeOr(existing.Locale, in.Locale), "exists", "exists:"+day, "/forgot", false)
		})
		return nil
	}
	if err != nil {
		return err
	}
	s.sendVerification(ctx, c, in.Locale)
	return nil
}

// CreateAccount creates an email and password account, its address confirmed or not (an
// admin or the demo vouches for it); an address that has an account is ErrEmailTaken. The
// password is hashed either way, so the time taken does not tell which.
func (s *Service) CreateAccount(ctx context.Context, in SignUp, verified bool) (*customers.Customer, error) {
	var f errs.Fields
	email := customers.NormalizeEmail(in.Email)
	switch {
	case email == "":
		f.Add("email", "field.required")
	case !looksLikeEmail(email):
		f.Add("email", "field.email")
	}
	customers.ValidateDisplayName(&f, "display_name", in.DisplayName)
	s.checkPassword(&f, "password", in.Password, email)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.IP != "" {
		d, err := s.limiter.Allow(ctx, "signup:ip:"+in.IP, signUpPerIP, signUpWindow)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, ErrTooManySignUps
		}
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	return s.customers.Create(ctx, customers.NewCustomer{
		Email: email, DisplayName: in.DisplayName, PasswordHash: hash, Locale: in.Locale, EmailVerified: verified,
	})
}

// rateLimit is a number of attempts allowed per key in each sign-in window.
type rateLimit struct {
	key string
	n   int
}

// SignInAttempt is one try at signing in with a password.
type SignInAttempt struct {
	Email, Password, IP string
	// Device is the known-device token the browser holds (NewDeviceToken), if any: proof it
	// signed in to this account before.
	Device string
}

// SignIn checks an email and password. Guesses are limited per IP and per account and IP
// pair, so nobody can lock an owner out from elsewhere; an account guessed at from many
// addresses is not locked either, but each attempt from a browser it has not seen before
// waits first (SlowSignIn), which costs a distributed guesser everything and the owner a
// moment.
func (s *Service) SignIn(ctx context.Context, in SignInAttempt) (*customers.Customer, error) {
	email := customers.NormalizeEmail(in.Email)
	// Refused before any look-up, so the answer takes as long for every email.
	if len(in.Password) > 4*MaxPasswordLength {
		return nil, ErrBadCredentials
	}
	// A browser that signed in to this account before is limited on its own, so guessing
	// from the owner's network does not stop the owner either.
	device, known := s.knownDevice(email, in.Device)
	limits := []rateLimit{{"signin:ip:" + in.IP, signInPerIP}, {"signin:pair:" + email + "|" + in.IP, signInPerPair}}
	if known {
		limits = []rateLimit{{"signin:device:" + email + "|" + device, signInPerPair}}
	}
	for _, limit := range limits {
		d, err := s.limiter.Allow(ctx, limit.key, limit.n, signInWindow)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, ErrTooManyAttempts
		}
	}
	if !known {
		// Unknown browsers past a few attempts on the account wait; past many (guessing from
		// a crowd of addresses), they are refused until the window ends.
		d, err := s.limiter.Allow(ctx, "signin:account:"+email, signInAccountCap, signInWindow)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, ErrTooManyAttempts
		}
		if d.Remaining < signInAccountCap-signInPerAccount {
			select {
			case <-time.After(s.cfg.SlowSignIn):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	c, err := s.customers.FindByEmail(ctx, email)
	if errors.Is(err, customers.ErrNotFound) || (err == nil && c.PasswordHash == "") {
		_, _ = s.compare(ctx, in.Password, s.dummyHash)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.compare(ctx, in.Password, c.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	return c, nil
}

// hash and compare run argon2id, which takes 64 MiB each time, a few at once at most so a
// burst of sign-ins cannot exhaust memory; the rest wait their turn.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := argon2id.CreateHash(password, s.cfg.PasswordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func (s *Service) compare(ctx context.Context, password, hash string) (bool, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, nil
}

func (s *Service) hashSlot(ctx context.Context) (func(), error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ChangePassword sets a new password. An account made by social login has none yet and
// may set one without the current one. Every other session of the customer ends.
func (s *Service) ChangePassword(ctx context.Context, id bson.ObjectID, current, next, keepSession string) error {
	c, err := s.customers.Get(ctx, id)
	if err != nil {
		return err
	}
	var f errs.Fields
	if c.PasswordHash != "" {
		ok, err := s.compare(ctx, current, c.PasswordHash)
		if err != nil {
			return err
		}
		if !ok {
			f.Add("current_password", "password.wrong_current")
		}
	}
	s.checkPassword(&f, "new_password", next, c.Email)
	if err := f.Err(); err != nil {
		return err
	}
	if err := s.storePassword(ctx, id, next); err != nil {
		return err
	}
	if err := s.endResetLinks(ctx, id); err != nil {
		return err
	}
	return s.EndOtherSessions(ctx, id, keepSession)
}

// SetPassword sets a password without asking for the current one, for the admin command.
func (s *Service) SetPassword(ctx context.Context, id bson.ObjectID, password string) error {
	c, err := s.customers.Get(ctx, id)
	if err != nil {
		return err
	}
	var f errs.Fields
	s.checkPassword(&f, "password", password, c.Email)
	if err := f.Err(); err != nil {
		return err
	}
	return s.storePassword(ctx, id, password)
}

func (s *Service) storePassword(ctx context.Context, id bson.ObjectID, password string) error {
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.customers.SetPasswordHash(ctx, id, hash)
}

// looksLikeEmail is a deliberately loose check: one @, something before it, a dot after it.
// Whether mail arrives is the only real test.
func looksLikeEmail(s string) bool { return customers.ValidEmail(s) }

// ConfirmPassword checks a signed-in member's password before something that cannot be
// undone (deleting the account), counted with the password changes' tries.
func (s *Service) ConfirmPassword(ctx context.Context, c *customers.Customer, password string) error {
	d, err := s.limiter.Allow(ctx, "email_change:account:"+c.ID.Hex(), emailChangeTries, resetWindow)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return ErrTooManyAttempts
	}
	ok, err := s.compare(ctx, password, c.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field("password", "password.wrong_current")
	}
	return nil
}
