package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/facebook"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/google"
	"github.com/markbates/goth/providers/openidConnect"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
)

// ProviderConfig enables one social login. Issuer is the OpenID Connect discovery URL's
// base (only for the "oidc" kind); Label is the button's text for it.
type ProviderConfig struct {
	Kind   string // google, github, facebook or oidc
	Key    string
	Secret string
	Issuer string
	Label  string
}

// Provider is an enabled social login, as the sign-in page shows it.
type Provider struct {
	Name  string // in URLs: /auth/{Name}
	Label string

	goth goth.Provider
}

// loginAttemptLifetime is how long a person has at the provider before the login expires.
const loginAttemptLifetime = 10 * time.Minute

// Errors of social login; each sends the person back to the sign-in page with a message.
var (
	ErrLoginCancelled = errs.New(errs.ErrUnauthorized, "signin.social_cancelled")
	ErrLoginFailed    = errs.New(errs.ErrUnauthorized, "signin.social_failed")
	ErrLoginState     = errs.New(errs.ErrForbidden, "signin.social_state")
	ErrNoSuchProvider = errs.New(errs.ErrNotFound, "signin.no_provider")
)

// ConfigureProviders builds the goth providers with their callback URLs under baseURL.
// OpenID Connect reads the issuer's discovery document now, so a wrong issuer stops start-up.
func ConfigureProviders(baseURL string, configs []ProviderConfig) ([]*Provider, error) {
	var out []*Provider
	for _, pc := range configs {
		var p goth.Provider
		label := pc.Label
		switch pc.Kind {
		case "google":
			p, label = google.New(pc.Key, pc.Secret, callbackURL(baseURL, "google"), "openid", "email", "profile"), "Google"
		case "github":
			p, label = github.New(pc.Key, pc.Secret, callbackURL(baseURL, "github"), "read:user", "user:email"), "GitHub"
		case "facebook":
			p, label = facebook.New(pc.Key, pc.Secret, callbackURL(baseURL, "facebook"), "email", "public_profile"), "Facebook"
		case "oidc":
			discovery := strings.TrimSuffix(pc.Issuer, "/") + "/.well-known/openid-configuration"
			oidc, err := openidConnect.New(pc.Key, pc.Secret, callbackURL(baseURL, "openid-connect"), discovery, "openid", "email", "profile")
			if err != nil {
				return nil, fmt.Errorf("OpenID Connect issuer %s: %w", pc.Issuer, err)
			}
			p = oidc
			if label == "" {
				label = "Single sign-on"
			}
		default:
			return nil, fmt.Errorf("unknown provider kind %q", pc.Kind)
		}
		out = append(out, &Provider{Name: p.Name(), Label: label, goth: p})
	}
	return out, nil
}

func callbackURL(baseURL, name string) string {
	return strings.TrimSuffix(baseURL, "/") + "/auth/" + name + "/callback"
}

// loginAttempt is a social login under way, keyed by its OAuth state.
type loginAttempt struct {
	State     string        `bson:"_id"`
	Provider  string        `bson:"provider"`
	Session   string        `bson:"session"` // goth's session, marshalled
	LinkTo    bson.ObjectID `bson:"link_to,omitempty"`
	ReturnTo  string        `bson:"return_to"`
	ExpiresAt time.Time     `bson:"expires_at"`
}

// BeginLogin starts a social login (or, with linkTo set, links a provider to that customer).
// It returns the provider's URL to send the browser to and the state for its cookie.
func (s *Service) BeginLogin(ctx context.Context, p *Provider, linkTo bson.ObjectID, returnTo string) (authURL, state string, err error) {
	state = randomToken(32)
	sess, err := p.goth.BeginAuth(state)
	if err != nil {
		return "", "", fmt.Errorf("begin %s login: %w", p.Name, err)
	}
	authURL, err = sess.GetAuthURL()
	if err != nil {
		return "", "", fmt.Errorf("begin %s login: %w", p.Name, err)
	}
	_, err = s.attempts.InsertOne(ctx, loginAttempt{
		State: state, Provider: p.Name, Session: sess.Marshal(), LinkTo: linkTo,
		ReturnTo: returnTo, ExpiresAt: s.now().Add(loginAttemptLifetime),
	})
	if err != nil {
		return "", "", fmt.Errorf("begin %s login: %w", p.Name, err)
	}
	return authURL, state, nil
}

// LoginResult is who signed in, and how.
type LoginResult struct {
	Customer        *customers.Customer
	Created         bool // a new account
	Linked          bool // the provider was added to an existing account
	PasswordRemoved bool // the account's unproven password was removed (see customers.EmailProven)
	ReturnTo        string
}

// CompleteLogin finishes a social login at the provider's callback. cookieState is the
// state the browser kept; query is the callback's query string. Each state works once.
func (s *Service) CompleteLogin(ctx context.Context, log *slog.Logger, p *Provider, cookieState string, query url.Values) (*LoginResult, error) {
	state := query.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cookieState)) != 1 {
		return nil, ErrLoginState
	}
	var attempt loginAttempt
	err := s.attempts.FindOneAndDelete(ctx, bson.M{"_id": state, "provider": p.Name, "expires_at": bson.M{"$gt": s.now()}}).Decode(&attempt)
	if notFound(err) {
		return nil, ErrLoginState
	}
	if err != nil {
		return nil, fmt.Errorf("complete %s login: %w", p.Name, err)
	}
	if e := query.Get("error"); e != "" {
		if e == "access_denied" {
			return nil, ErrLoginCancelled
		}
		log.Warn("social login refused by provider", "provider", p.Name, "error", e, "description", query.Get("error_description"))
		return nil, ErrLoginFailed
	}
	sess, err := p.goth.UnmarshalSession(attempt.Session)
	if err != nil {
		return nil, fmt.Errorf("complete %s login: %w", p.Name, err)
	}
	if _, err := sess.Authorize(p.goth, query); err != nil {
		log.Warn("social login: code exchange failed", "provider", p.Name, "err", err)
		return nil, ErrLoginFailed
	}
	user, err := p.goth.FetchUser(sess)
	if err != nil || user.UserID == "" {
		log.Warn("social login: fetching the user failed", "provider", p.Name, "err", err)
		return nil, ErrLoginFailed
	}
	res, err := s.signInWith(ctx, p.Name, user, attempt.LinkTo)
	if err != nil {
		return nil, err
	}
	res.ReturnTo = attempt.ReturnTo
	return res, nil
}

// signInWith finds or creates the customer for a provider's user. A verified email equal
// to an existing account's links to that account; an unverified one is not trusted at all.
func (s *Service) signInWith(ctx context.Context, provider string, u goth.User, linkTo bson.ObjectID) (*LoginResult, error) {
	ident := customers.Identity{Provider: provider, Subject: u.UserID}
	if !linkTo.IsZero() {
		if err := s.customers.LinkIdentity(ctx, linkTo, ident); err != nil {
			return nil, err
		}
		c, err := s.customers.Get(ctx, linkTo)
		return &LoginResult{Customer: c, Linked: true}, err
	}
	if c, err := s.customers.FindByIdentity(ctx, provider, u.UserID); err == nil {
		return &LoginResult{Customer: c}, nil
	} else if !errors.Is(err, customers.ErrNotFound) {
		return nil, err
	}
	email := ""
	if emailVerified(provider, u) {
		email = customers.NormalizeEmail(u.Email)
	}
	if email != "" {
		c, err := s.customers.FindByEmail(ctx, email)
		if err == nil {
			return s.linkByEmail(ctx, c, ident)
		}
		if !errors.Is(err, customers.ErrNotFound) {
			return nil, err
		}
	}
	c, err := s.customers.Create(ctx, customers.NewCustomer{
		Email:         email,
		EmailVerified: email != "",
		DisplayName:   displayName(u),
		AvatarURL:     u.AvatarURL,
		Identity:      &ident,
	})
	switch {
	case errors.Is(err, customers.ErrIdentityInUse):
		// A second callback for the same person won the race; it is making the account.
		for range 20 {
			if c, err = s.customers.FindByIdentity(ctx, provider, u.UserID); !errors.Is(err, customers.ErrNotFound) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		return &LoginResult{Customer: c}, err
	case errors.Is(err, customers.ErrEmailTaken):
		// The email was registered between our look-up and insert; link to it instead.
		return s.signInWith(ctx, provider, u, linkTo)
	case err != nil:
		return nil, err
	}
	return &LoginResult{Customer: c, Created: true}, nil
}

// linkByEmail joins a provider to the account whose email it vouches for. If that account's
// email was never proven, its password goes (and its sessions end): the provider has just
// shown who owns the address, the password's setter had not.
func (s *Service) linkByEmail(ctx context.Context, c *customers.Customer, ident customers.Identity) (*LoginResult, error) {
	if err := s.customers.LinkIdentity(ctx, c.ID, ident); err != nil {
		return nil, err
	}
	removed, err := s.customers.EmailProven(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if removed {
		if err := s.EndOtherSessions(ctx, c.ID, ""); err != nil {
			return nil, err
		}
	}
	c, err = s.customers.Get(ctx, c.ID)
	return &LoginResult{Customer: c, Linked: true, PasswordRemoved: removed}, err
}

// emailVerified says whether the provider vouches for the email. GitHub hands out only
// verified addresses (a public one must be verified; otherwise goth asks for the primary
// verified one); Google and OpenID Connect say so in a claim; Facebook does not say.
func emailVerified(provider string, u goth.User) bool {
	if u.Email == "" {
		return false
	}
	switch provider {
	case "github":
		return true
	case "google", "openid-connect":
		return truthy(u.RawData["email_verified"]) || truthy(u.RawData["verified_email"])
	}
	return false
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func displayName(u goth.User) string {
	for _, s := range []string{u.Name, strings.TrimSpace(u.FirstName + " " + u.LastName), u.NickName} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
