package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
)

// Mailer queues an account email to to, in lang: kind names its words (a password reset,
// an address to confirm), key the event (the same key again queues nothing), path the link
// it carries, secret whether that link signs in. mail.Outbox implements it.
type Mailer interface {
	Account(ctx context.Context, to, lang, kind, key, path string, secret bool) error
}

// SetMailer lets the service send account emails; without one it sends none (tests, tools).
func (s *Service) SetMailer(m Mailer) { s.mailer = m }

// mail queues an account email; a path with a secret token (a link that signs in) is
// marked secret, so the outbox does not keep it readable once sent.
func (s *Service) mail(ctx context.Context, to, lang, kind, key, path string, secret bool) error {
	if s.mailer == nil {
		return nil
	}
	return s.mailer.Account(ctx, to, lang, kind, key, path, secret)
}

// later does an account email's work (its link, its place in the outbox) after the answer:
// a form that answers the same whether an address has an account must also take the same
// time, and this work happens only when it has one. A failure is logged; the person asks
// again.
func (s *Service) later(ctx context.Context, kind string, work func(context.Context) error) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		if err := work(context.WithoutCancel(ctx)); err != nil {
			slog.Default().WarnContext(ctx, "an account email could not be queued", "kind", kind, "err", err)
		}
	}()
}

// Drain waits for the account emails still being queued (at shutdown, and in tests).
func (s *Service) Drain() { s.background.Wait() }

// What an account token is for, and how long it lasts.
const (
	purposeReset  = "reset"
	purposeVerify = "verify"
	purposeChange = "email_change"

	resetLifetime  = time.Hour
	verifyLifetime = 7 * 24 * time.Hour
)

// Reset requests allowed per address and per account in each window. Past the account's
// limit nothing more is sent, silently: the answer must not say whether the account exists.
const (
	resetWindow     = time.Hour
	resetPerIP      = 10
	resetPerAccount = 3
)

// Account-token errors.
var (
	ErrTokenInvalid  = errs.New(errs.ErrNotFound, "token.invalid")
	ErrTooManyResets = errs.New(errs.ErrTooMany, "reset.too_many")
)

// accountToken is a single-use link sent by email. Only the token's hash is stored, so
// whoever reads the database cannot use a link; it is used once (used_at) and expires.
type accountToken struct {
	Hash       string        `bson:"_id"`
	Purpose    string        `bson:"purpose"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	Email      string        `bson:"email"`               // the account's address when sent: a changed email voids it
	NewEmail   string        `bson:"new_email,omitempty"` // an address change: where the link went
	ExpiresAt  time.Time     `bson:"expires_at"`
	UsedAt     *time.Time    `bson:"used_at,omitempty"`
}

// newAccountToken stores a token for c and returns its secret (for the link) and hash.
func (s *Service) newAccountToken(ctx context.Context, purpose string, c *customers.Customer, lifetime time.Duration) (string, string, error) {
	secret := randomToken(32)
	t := accountToken{Hash: hashToken(secret), Purpose: purpose, CustomerID: c.ID, Email: c.Email, ExpiresAt: s.now().Add(lifetime)}
	if _, err := s.accountTokens.InsertOne(ctx, t); err != nil {
		return "", "", fmt.Errorf("account token: %w", err)
	}
	return secret, t.Hash, nil
}

// accountToken finds a live token; use marks it used in the same step, so it works once.
func (s *Service) accountToken(ctx context.Context, purpose, secret string, use bool) (*accountToken, *customers.Customer, error) {
	if len(secret) < 20 || len(secret) > 100 {
		return nil, nil, ErrTokenInvalid
	}
	now := s.now()
	filter := bson.M{"_id": hashToken(secret), "purpose": purpose, "used_at": bson.M{"$exists": false}, "expires_at": bson.M{"$gt": now}}
	var t accountToken
	var err error
	if use {
		err = s.accountTokens.FindOneAndUpdate(ctx, filter, bson.M{"$set": bson.M{"used_at": now}}).Decode(&t)
	} else {
		err = s.accountTokens.FindOne(ctx, filter).Decode(&t)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account token: %w", err)
	}
	c, err := s.customers.Get(ctx, t.CustomerID)
	if errors.Is(err, customers.ErrNotFound) || (err == nil && c.Email != t.Email) {
		return nil, nil, ErrTokenInvalid
	}
	return &t, c, err
}

// ResetRequest is the "forgot password" form.
type ResetRequest struct {
	Email string `form:"email"`
	IP    string `form:"-"`
	Lang  string `form:"-"` // the page's language, for an account without one
}

// RequestReset emails a password-reset link if the address belongs to an account. The
// answer is the same either way (only the address's owner learns, from their inbox); only
// too many requests from one network are refused.
func (s *Service) RequestReset(ctx context.Context, in ResetRequest) error {
	email := customers.NormalizeEmail(in.Email)
	if !looksLikeEmail(email) {
		return errs.Field("email", "field.email")
	}
	if in.IP != "" {
		d, err := s.limiter.Allow(ctx, "reset:ip:"+in.IP, resetPerIP, resetWindow)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return ErrTooManyResets
		}
	}
	c, err := s.customers.FindByEmail(ctx, email)
	if errors.Is(err, customers.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.later(ctx, "reset", func(ctx context.Context) error {
		if d, err := s.limiter.Allow(ctx, "reset:account:"+c.ID.Hex(), resetPerAccount, resetWindow); err != nil || !d.Allowed {
			return err
		}
		secret, hash, err := s.newAccountToken(ctx, purposeReset, c, resetLifetime)
		if err != nil {
			return err
		}
		return s.mail(ctx, c.Email, localeOr(c.Locale, in.Lang), "reset", "reset:"+hash, "/reset/"+secret, true)
	})
	return nil
}

// CheckResetToken says whether a reset link can still be used, for the page that asks for
// the new password.
func (s *Service) CheckResetToken(ctx context.Context, secret string) error {
	_, _, err := s.accountToken(ctx, purposeReset, secret, false)
	return err
}

// ResetPassword sets a new password through a reset link, once, and ends every session of
// the account (whoever knew the old password is signed out). It returns the account, for
// signing in.
func (s *Service) ResetPassword(ctx context.Context, secret, password string) (*customers.Customer, error) {
	_, c, err := s.accountToken(ctx, purposeReset, secret, false)
	if err != nil {
		return nil, err
	}
	var f errs.Fields
	s.checkPassword(&f, "password", password, c.Email)
	if err := f.Err(); err != nil {
		return nil, err // the link stays usable for a better password
	}
	if _, c, err = s.accountToken(ctx, purposeReset, secret, true); err != nil {
		return nil, err
	}
	if err := s.storePassword(ctx, c.ID, password); err != nil {
		return nil, err
	}
	if err := s.endResetLinks(ctx, c.ID); err != nil {
		return nil, err
	}
	// The owner of the address has proven it, as a verification link would.
	if _, err := s.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
		return nil, err
	}
	return c, s.EndOtherSessions(ctx, c.ID, "")
}

// VerifyEmail confirms an account's address through the link sent at sign-up, once, and
// returns the account, for signing in. The account's password is asked for too: whoever
// signed up with somebody else's address chose it, and the address's owner, who cannot
// give it, must not confirm an account another person can sign in to (they reset the
// password instead, which confirms the address and drops the other's password).
func (s *Service) VerifyEmail(ctx context.Context, secret, password string) (*customers.Customer, error) {
	_, c, err := s.accountToken(ctx, purposeVerify, secret, false)
	if err != nil {
		return nil, err
	}
	if c.PasswordHash != "" {
		ok, err := s.compare(ctx, password, c.PasswordHash)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field("password", "verify.wrong_password")
		}
	}
	if _, c, err = s.accountToken(ctx, purposeVerify, secret, true); err != nil {
		return nil, err
	}
	if _, err := s.customers.VerifyEmail(ctx, c.ID, c.Email); err != nil {
		return nil, err
	}
	return s.customers.Get(ctx, c.ID)
}

// CheckVerifyToken says whether a confirmation link can still be used.
func (s *Service) CheckVerifyToken(ctx context.Context, secret string) error {
	_, _, err := s.accountToken(ctx, purposeVerify, secret, false)
	return err
}

// endResetLinks makes every reset and address-change link of an account unusable: after a
// reset or a change of password or address, an older link (perhaps asked for from a stolen
// session) must not set the password or move the account again.
func (s *Service) endResetLinks(ctx context.Context, customer bson.ObjectID) error {
	_, err := s.accountTokens.UpdateMany(ctx, bson.M{"customer_id": customer, "purpose": bson.M{"$in": bson.A{purposeReset, purposeChange}},
		"used_at": bson.M{"$exists": false}}, bson.M{"$set": bson.M{"used_at": s.now()}})
	if err != nil {
		return fmt.Errorf("end reset links: %w", err)
	}
	return nil
}

// Confirmation links sent again per account, an hour and a day; tries of the address change
// form per account an hour.
const (
	confirmAgainPerAccount = 3
	confirmAgainPerDay     = 5
	emailChangeTries       = 5
)

// ErrTooManyConfirmations: the link was sent again too often.
var ErrTooManyConfirmations = errs.New(errs.ErrTooMany, "confirm.too_many")

// ResendConfirmation sends a signed-in member the link that confirms their address again.
func (s *Service) ResendConfirmation(ctx context.Context, c *customers.Customer, lang string) error {
	if c.Email == "" || c.EmailVerified {
		return nil
	}
	for _, limit := range []struct {
		key string
		n   int
		per time.Duration
	}{{"confirm:account:", confirmAgainPerAccount, resetWindow}, {"confirm:account:day:", confirmAgainPerDay, 24 * time.Hour}} {
		d, err := s.limiter.Allow(ctx, limit.key+c.ID.Hex(), limit.n, limit.per)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return ErrTooManyConfirmations
		}
	}
	s.sendVerification(ctx, c, lang)
	return nil
}

// EmailChange is the profile's "change my email" form.
type EmailChange struct {
	Email    string `form:"email"`
	Password string `form:"password"` // the current one, if the account has one
}

// RequestEmailChange emails a link to the new address; following it makes it the account's
// address, confirmed, and tells the old address. The answer is the same if the new address
// belongs to another account (that owner is told instead), and the account's own password
// is asked for, so a session left open somewhere cannot move the account away.
func (s *Service) RequestEmailChange(ctx context.Context, c *customers.Customer, in EmailChange, lang string) error {
	var f errs.Fields
	email := customers.NormalizeEmail(in.Email)
	switch {
	case !looksLikeEmail(email):
		f.Add("email", "field.email")
	case email == c.Email:
		f.Add("email", "email.same")
	}
	if c.PasswordHash == "" {
		// Only the password proves the person at the keyboard owns the account.
		f.Add("email", "email.set_password_first")
	}
	if err := f.Err(); err != nil {
		return err
	}
	// Every try counts, so the password cannot be guessed through this form.
	d, err := s.limiter.Allow(ctx, "email_change:account:"+c.ID.Hex(), emailChangeTries, resetWindow)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return ErrTooManyConfirmations
	}
	ok, err := s.compare(ctx, in.Password, c.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field("password", "password.wrong_current")
	}
	s.later(ctx, "email_change", func(ctx context.Context) error {
		if other, err := s.customers.FindByEmail(ctx, email); err == nil {
			day := s.now().Format(time.DateOnly)
			return s.mail(ctx, other.Email, localeOr(other.Locale, lang), "exists", "exists:"+day, "/forgot", false)
		} else if !errors.Is(err, customers.ErrNotFound) {
			return err
		}
		secret := randomToken(32)
		t := accountToken{Hash: hashToken(secret), Purpose: purposeChange, CustomerID: c.ID, Email: c.Email, NewEmail: email,
			ExpiresAt: s.now().Add(verifyLifetime)}
		if _, err := s.accountTokens.InsertOne(ctx, t); err != nil {
			return fmt.Errorf("account token: %w", err)
		}
		return s.mail(ctx, email, localeOr(c.Locale, lang), "email_change", "email_change:"+t.Hash, "/email/"+secret, true)
	})
	return nil
}

// CheckEmailChange says whether an address-change link can still be used, and to which address.
func (s *Service) CheckEmailChange(ctx context.Context, secret string) (string, error) {
	t, _, err := s.accountToken(ctx, purposeChange, secret, false)
	if err != nil {
		return "", err
	}
	return t.NewEmail, nil
}

// ChangeEmail makes the address an emailed link was sent to the account's, confirmed,
// once, and tells the old address. It returns the account, for signing in. The account's
// password is asked for: a confirmed address says its owner chose the password, so the
// owner of an address somebody moved their own account to cannot confirm it blindly.
func (s *Service) ChangeEmail(ctx context.Context, secret, password string) (*customers.Customer, error) {
	_, c, err := s.accountToken(ctx, purposeChange, secret, false)
	if err != nil {
		return nil, err
	}
	ok, err := s.compare(ctx, password, c.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Field("password", "verify.wrong_password")
	}
	t, c, err := s.accountToken(ctx, purposeChange, secret, true)
	if err != nil {
		return nil, err
	}
	if err := s.customers.ChangeEmail(ctx, c.ID, t.Email, t.NewEmail); err != nil {
		return nil, err
	}
	if err := s.endResetLinks(ctx, c.ID); err != nil {
		return nil, err
	}
	if old := t.Email; old != "" {
		s.later(ctx, "email_changed", func(ctx context.Context) error {
			return s.mail(ctx, old, c.Locale, "email_changed", "email_changed:"+t.Hash, "", false)
		})
	}
	return s.customers.Get(ctx, c.ID)
}

// sendVerification emails c a link that confirms their address.
func (s *Service) sendVerification(ctx context.Context, c *customers.Customer, lang string) {
	s.later(ctx, "verify", func(ctx context.Context) error {
		secret, hash, err := s.newAccountToken(ctx, purposeVerify, c, verifyLifetime)
		if err != nil {
			return err
		}
		return s.mail(ctx, c.Email, localeOr(c.Locale, lang), "verify", "verify:"+hash, "/verify/"+secret, true)
	})
}

func localeOr(locale, fallback string) string {
	if locale != "" {
		return locale
	}
	return fallback
}
