package handlers

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/moderation"
)

const (
	sessionCookie = "guyub_session"
	csrfCookie    = "guyub_csrf"
	deviceCookie  = "guyub_device" // proof this browser signed in to its account before
	flashCookie   = "guyub_flash"
	browserLocal  = "browser_id"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// identify finds who is asking: an API token on /api/v1, otherwise the session cookie.
func (s *Server) identify(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if auth := c.Get(fiber.HeaderAuthorization); web.IsAPI(c) && auth != "" {
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return errs.New(errs.ErrUnauthorized, "api.bad_authorization")
		}
		tok, user, err := s.deps.Identity.AuthenticateToken(ctx, strings.TrimSpace(secret))
		if err != nil {
			return err
		}
		if user == nil {
			return errs.New(errs.ErrUnauthorized, "api.bad_token")
		}
		web.SetUser(c, user)
		web.SetToken(c, tok)
		if as := c.Get("X-Act-As"); as != "" {
			if err := s.actAs(c, tok, user, as); err != nil {
				return err
			}
		}
		return c.Next()
	}
	token := s.cookie(c, sessionCookie)
	sess, user, err := s.deps.Identity.LookupSession(ctx, token)
	if err != nil {
		return err
	}
	if user != nil {
		web.SetUser(c, user)
		if sess.Renewed {
			s.setCookie(c, sessionCookie, token, s.deps.Identity.SessionLifetime())
		}
	}
	return c.Next()
}

// actAs makes a request of a token with the act_as scope the named customer's: the token's
// owner must be product staff or an admin, the customer an active member who is not staff.
// Every write made so is recorded in the audit log, with the token's owner as the actor.
func (s *Server) actAs(c *fiber.Ctx, tok *identity.APIToken, staff *customers.Customer, as string) error {
	if !tok.Allows(identity.ScopeActAs) || !staff.HasRole(customers.RoleProduct) {
		return errs.New(errs.ErrForbidden, "api.scope_missing", "Scope", string(identity.ScopeActAs))
	}
	id, err := bson.ObjectIDFromHex(as)
	if err != nil {
		return errs.Field("X-Act-As", "api.act_as_unknown")
	}
	member, err := s.deps.Customers.Get(c.UserContext(), id)
	if err != nil || member.Staff || member.Status == customers.StatusErased {
		return errs.Field("X-Act-As", "api.act_as_unknown")
	}
	web.SetUser(c, member)
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return s.deps.Moderation.Append(c.UserContext(), moderation.Entry{ID: bson.NewObjectID(), At: time.Now().UTC(), Actor: staff.ID,
			Action: moderation.ActionActAs, TargetAuthor: member.ID, Reason: c.Method() + " " + c.Path()})
	}
	return nil
}

// signIn starts a session and sets its cookie: a new token at every sign-in.
func (s *Server) signIn(c *fiber.Ctx, user *customers.Customer) error {
	_ = s.deps.Identity.EndSession(c.UserContext(), s.cookie(c, sessionCookie))
	token, err := s.deps.Identity.StartSession(c.UserContext(), user.ID, s.clientIP(c), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token, s.deps.Identity.SessionLifetime())
	web.SetUser(c, user)
	return nil
}

// signOut ends the session on the server and clears the cookie.
func (s *Server) signOut(c *fiber.Ctx) error {
	if err := s.deps.Identity.EndSession(c.UserContext(), s.cookie(c, sessionCookie)); err != nil {
		return err
	}
	s.clearCookie(c, sessionCookie)
	web.SetUser(c, nil)
	return nil
}

// csrf makes every state-changing request from a browser prove it came from our own form:
// the form's token must be the HMAC of the browser's random CSRF cookie. A request
// authenticated by an API token carries no ambient credentials and needs none.
func (s *Server) csrf(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if web.Token(c) != nil {
		return c.Next()
	}
	// One-click unsubscribe comes from a mail client, with a signed link and nothing else.
	if strings.HasPrefix(c.Path(), "/unsubscribe/") {
		return c.Next()
	}
	// An anonymous API call carries no session to ride on: its route answers 401.
	if web.IsAPI(c) && web.User(c) == nil {
		return c.Next()
	}
	token := c.Get(csrfHeader)
	if token == "" {
		token = c.FormValue(csrfField)
	}
	if !s.deps.Identity.ValidCSRF(s.cookie(c, csrfCookie), token) {
		return errs.New(errs.ErrForbidden, "error.csrf")
	}
	return c.Next()
}

// csrfToken returns the token for this browser's forms, giving it a CSRF cookie if needed.
func (s *Server) csrfToken(c *fiber.Ctx) string {
	id, _ := c.Locals(browserLocal).(string)
	if id == "" {
		id = s.cookie(c, csrfCookie)
	}
	if id == "" {
		id = identity.NewBrowserID()
		s.setCookie(c, csrfCookie, id, 365*24*time.Hour)
	}
	c.Locals(browserLocal, id)
	c.Locals(noCacheLocal, true) // the token belongs to this browser: the page is its own
	return s.deps.Identity.CSRFToken(id)
}

// flash leaves a one-time message for the page after a redirect.
func (s *Server) flash(c *fiber.Ctx, messageID string) {
	s.setCookie(c, flashCookie, messageID, 0)
}

// takeFlash reads and clears the flash. Only flash.* messages are shown, so a planted
// cookie cannot make the page say anything else.
func (s *Server) takeFlash(c *fiber.Ctx, lang string) string {
	id := s.cookie(c, flashCookie)
	if id == "" {
		return ""
	}
	s.clearCookie(c, flashCookie)
	if !strings.HasPrefix(id, "flash.") {
		return ""
	}
	return s.catalog.T(lang, id)
}

// localPath accepts a return address only if it stays on this site.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}
