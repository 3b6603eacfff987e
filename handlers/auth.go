package handlers

import (
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/identity"
)

const oauthStateCookie = "guyub_oauth_state"

func (s *Server) authRoutes(app *fiber.App) {
	app.Get("/signin", s.signInPage)
	app.Post("/signin", s.signInSubmit)
	app.Get("/signup", s.signUpPage)
	app.Post("/signup", s.signUpSubmit)
	app.Get("/forgot", s.forgotPage)
	app.Post("/forgot", s.forgotSubmit)
	app.Get("/reset/:token", s.resetPage)
	app.Post("/reset/:token", s.resetSubmit)
	app.Get("/verify/:token", s.verifyPage)
	app.Post("/verify/:token", s.verifySubmit)
	app.Post("/signout", s.signOutSubmit)
	app.Get("/auth/:provider", s.socialBegin)
	app.Get("/auth/:provider/callback", s.socialCallback)
}

// authPage is the data of the sign-in and sign-up pages.
type authPage struct {
	Next      string
	Providers []*identity.Provider
	Form      *form
}

// socialErrors are the messages the sign-in page shows after a failed social login.
var socialErrors = map[string]string{
	"cancelled": "signin.social_cancelled",
	"failed":    "signin.social_failed",
	"state":     "signin.social_state",
	"linked":    "account.provider_linked",
	"in_use":    "account.identity_in_use",
}

func (s *Server) signInPage(c *fiber.Ctx) error {
	if web.User(c) != nil {
		return c.Redirect(localPath(c.Query("next")))
	}
	data := authPage{Next: localPath(c.Query("next")), Providers: s.deps.Providers}
	if id, ok := socialErrors[c.Query("error")]; ok {
		data.Form = &form{Message: s.catalog.T(s.language(c), id)}
	}
	return s.render(c, fiber.StatusOK, "signin", "signin.title", data)
}

func (s *Server) signInSubmit(c *fiber.Ctx) error {
	email, next := c.FormValue("email"), localPath(c.FormValue("next"))
	user, signInErr := s.deps.Identity.SignIn(c.UserContext(), identity.SignInAttempt{
		Email: email, Password: c.FormValue("password"), IP: s.clientIP(c), Device: s.cookie(c, deviceCookie)})
	if signInErr != nil {
		f, err := s.formFailed(c, signInErr, map[string]string{"email": email})
		if err != nil {
			return err
		}
		// 401 or 429, but as the form again, not an error page.
		return s.render(c, web.Status(signInErr), "signin", "signin.title", authPage{Next: next, Providers: s.deps.Providers, Form: f})
	}
	if err := s.signIn(c, user); err != nil {
		return err
	}
	// This browser has proved itself for this account: an attack on it elsewhere will not slow it.
	s.setCookie(c, deviceCookie, s.deps.Identity.NewDeviceToken(user.Email), knownDeviceLifetime)
	return c.Redirect(next, fiber.StatusSeeOther)
}

// knownDeviceLifetime is how long a browser is remembered as one its owner signs in from.
const knownDeviceLifetime = 365 * 24 * time.Hour

func (s *Server) signUpPage(c *fiber.Ctx) error {
	if web.User(c) != nil {
		return c.Redirect("/profile")
	}
	return s.render(c, fiber.StatusOK, "signup", "signup.title",
		authPage{Next: localPath(c.Query("next")), Providers: s.deps.Providers})
}

func (s *Server) signUpSubmit(c *fiber.Ctx) error {
	var in identity.SignUp
	if err := parseForm(c, &in); err != nil {
		return err
	}
	in.Locale, in.IP = s.language(c), s.clientIP(c)
	next := localPath(c.FormValue("next"))
	if signUpErr := s.deps.Identity.SignUp(c.UserContext(), in); signUpErr != nil {
		f, err := s.formFailed(c, signUpErr, map[string]string{"email": in.Email, "display_name": in.DisplayName})
		if err != nil {
			return err
		}
		return s.render(c, web.Status(signUpErr), "signup", "signup.title",
			authPage{Next: next, Providers: s.deps.Providers, Form: f})
	}
	// The same answer whether the address had an account or not: the email says which.
	return s.render(c, fiber.StatusOK, "check_inbox", "inbox.title", checkInbox{Email: in.Email, Lead: "inbox.signup"})
}

// checkInbox is the page after a form that sent an email.
type checkInbox struct {
	Email string
	Lead  string // message ID
}

// forgotPage asks for the address to send a password-reset link to.
func (s *Server) forgotPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "forgot", "forgot.title", authPage{Form: &form{Values: map[string]string{"email": c.Query("email")}}})
}

func (s *Server) forgotSubmit(c *fiber.Ctx) error {
	var in identity.ResetRequest
	if err := parseForm(c, &in); err != nil {
		return err
	}
	in.IP, in.Lang = s.clientIP(c), s.language(c)
	if resetErr := s.deps.Identity.RequestReset(c.UserContext(), in); resetErr != nil {
		f, err := s.formFailed(c, resetErr, map[string]string{"email": in.Email})
		if err != nil {
			return err
		}
		return s.render(c, web.Status(resetErr), "forgot", "forgot.title", authPage{Form: f})
	}
	return s.render(c, fiber.StatusOK, "check_inbox", "inbox.title", checkInbox{Email: in.Email, Lead: "inbox.reset"})
}

// resetPage asks for a new password, if the link still works.
func (s *Server) resetPage(c *fiber.Ctx) error {
	if err := s.deps.Identity.CheckResetToken(c.UserContext(), c.Params("token")); err != nil {
		return s.linkExpired(c, err, "/forgot")
	}
	return s.render(c, fiber.StatusOK, "reset", "reset.title", authPage{})
}

func (s *Server) resetSubmit(c *fiber.Ctx) error {
	var in struct {
		Password string `form:"password"`
	}
	if err := parseForm(c, &in); err != nil {
		return err
	}
	user, resetErr := s.deps.Identity.ResetPassword(c.UserContext(), c.Params("token"), in.Password)
	if errors.Is(resetErr, identity.ErrTokenInvalid) {
		return s.linkExpired(c, resetErr, "/forgot")
	}
	if resetErr != nil {
		f, err := s.formFailed(c, resetErr, nil)
		if err != nil {
			return err
		}
		return s.render(c, web.Status(resetErr), "reset", "reset.title", authPage{Form: f})
	}
	if err := s.signIn(c, user); err != nil {
		return err
	}
	s.setCookie(c, deviceCookie, s.deps.Identity.NewDeviceToken(user.Email), knownDeviceLifetime)
	s.flash(c, "flash.password_reset")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

// verifyPage confirms an address with a button, not on arrival: mail scanners that open
// links must not use them up.
func (s *Server) verifyPage(c *fiber.Ctx) error {
	if err := s.deps.Identity.CheckVerifyToken(c.UserContext(), c.Params("token")); err != nil {
		return s.linkExpired(c, err, "/signin")
	}
	return s.render(c, fiber.StatusOK, "verify", "verify.title", authPage{})
}

func (s *Server) verifySubmit(c *fiber.Ctx) error {
	var in struct {
		Password string `form:"password"`
	}
	if err := parseForm(c, &in); err != nil {
		return err
	}
	user, verifyErr := s.deps.Identity.VerifyEmail(c.UserContext(), c.Params("token"), in.Password)
	if errors.Is(verifyErr, identity.ErrTokenInvalid) {
		return s.linkExpired(c, verifyErr, "/signin")
	}
	if verifyErr != nil {
		f, err := s.formFailed(c, verifyErr, nil)
		if err != nil {
			return err
		}
		return s.render(c, web.Status(verifyErr), "verify", "verify.title", authPage{Form: f})
	}
	if err := s.signIn(c, user); err != nil {
		return err
	}
	s.setCookie(c, deviceCookie, s.deps.Identity.NewDeviceToken(user.Email), knownDeviceLifetime)
	s.flash(c, "flash.email_verified")
	return c.Redirect("/", fiber.StatusSeeOther)
}

// linkExpired answers a used, expired or unknown email link: 410, saying what to do next.
func (s *Server) linkExpired(c *fiber.Ctx, err error, again string) error {
	if !errors.Is(err, identity.ErrTokenInvalid) {
		return err
	}
	return s.render(c, fiber.StatusGone, "link_expired", "link.expired_title", struct{ Again string }{again})
}

func (s *Server) signOutSubmit(c *fiber.Ctx) error {
	if err := s.signOut(c); err != nil {
		return err
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (s *Server) provider(name string) *identity.Provider {
	for _, p := range s.deps.Providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// socialBegin sends the browser to the provider. With ?link=1 a signed-in customer adds the
// provider to their account instead of signing in.
func (s *Server) socialBegin(c *fiber.Ctx) error {
	p := s.provider(c.Params("provider"))
	if p == nil {
		return identity.ErrNoSuchProvider
	}
	var linkTo bson.ObjectID
	if u := web.User(c); u != nil && c.Query("link") == "1" {
		linkTo = u.ID
	}
	authURL, state, err := s.deps.Identity.BeginLogin(c.UserContext(), p, linkTo, localPath(c.Query("next")))
	if err != nil {
		return err
	}
	s.setCookie(c, oauthStateCookie, state, 10*time.Minute)
	return c.Redirect(authURL)
}

func (s *Server) socialCallback(c *fiber.Ctx) error {
	p := s.provider(c.Params("provider"))
	if p == nil {
		return identity.ErrNoSuchProvider
	}
	cookieState := s.cookie(c, oauthStateCookie)
	s.clearCookie(c, oauthStateCookie)
	query, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return fiber.ErrBadRequest
	}
	res, err := s.deps.Identity.CompleteLogin(c.UserContext(), s.log, p, cookieState, query)
	switch {
	case errors.Is(err, identity.ErrLoginCancelled):
		return c.Redirect("/signin?error=cancelled", fiber.StatusSeeOther)
	case errors.Is(err, identity.ErrLoginState):
		return c.Redirect("/signin?error=state", fiber.StatusSeeOther)
	case errors.Is(err, customers.ErrIdentityInUse), errors.Is(err, customers.ErrProviderLinked):
		code, flash := "linked", "flash.provider_linked_already"
		if errors.Is(err, customers.ErrIdentityInUse) {
			code, flash = "in_use", "flash.identity_in_use"
		}
		if web.User(c) == nil {
			return c.Redirect("/signin?error="+code, fiber.StatusSeeOther)
		}
		s.flash(c, flash)
		return c.Redirect("/profile", fiber.StatusSeeOther)
	case errors.Is(err, identity.ErrLoginFailed), errors.Is(err, errs.ErrInvalid):
		return c.Redirect("/signin?error=failed", fiber.StatusSeeOther)
	case err != nil:
		return err
	}
	if res.Linked && web.User(c) != nil && web.User(c).ID == res.Customer.ID {
		s.flash(c, "flash.provider_linked")
		return c.Redirect("/profile", fiber.StatusSeeOther)
	}
	if err := s.signIn(c, res.Customer); err != nil {
		return err
	}
	switch {
	case res.Created:
		s.flash(c, "flash.welcome")
	case res.PasswordRemoved:
		s.flash(c, "flash.password_removed")
	}
	return c.Redirect(localPath(res.ReturnTo), fiber.StatusSeeOther)
}
