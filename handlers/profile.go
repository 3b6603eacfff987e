package handlers

import (
	"errors"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) profileRoutes(app *fiber.App) {
	app.Get("/profile", web.SignedIn, s.profilePage)
	app.Post("/profile", web.RequireActive, s.profileSubmit)
	app.Post("/profile/password", web.SignedIn, s.passwordSubmit)
	app.Post("/profile/confirm", web.SignedIn, s.confirmAgainSubmit)
	app.Post("/profile/email", web.SignedIn, s.emailChangeSubmit)
	app.Post("/profile/emails", web.SignedIn, s.emailPrefsSubmit)
	app.Get("/unsubscribe/:token", s.unsubscribePage)
	app.Post("/unsubscribe/:token", s.unsubscribeSubmit)
	app.Get("/email/:token", s.emailChangePage)
	app.Post("/email/:token", s.emailChangeConfirm)
	app.Post("/profile/tokens", web.RequireRole(customers.RoleModerator, customers.RoleProduct), s.tokenCreate)
	app.Post("/profile/tokens/:id/revoke", web.SignedIn, s.tokenRevoke)
	app.Get("/profile/export", web.SignedIn, s.profileExport)
	app.Post("/profile/export", web.SignedIn, s.profileExport)
	app.Get("/exports/:member/:attempt", web.SignedIn, s.exportDownload)
	app.Get("/members/:id", s.memberPage)
}

// profileData is the signed-in customer's own page.
type profileData struct {
	Member        *customers.Customer
	DeleteForm    *form // the account deletion's, when it failed
	Languages     []languageLink
	Providers     []providerLink
	Tokens        []*identity.APIToken
	Scopes        []identity.Scope
	NewToken      string            // shown once, right after it is made
	Contributions []contribution    // the member's own, whatever their status
	Requests      []testimonialView // staff asked to feature a review: the member decides
	Stories       []testimonialView // the member's own testimonials and where they stand
	ProfileForm   *form
	Loyalty       memberLoyalty
	AvatarForm    *form
	Password      *form
	EmailForm     *form
	TokenForm     *form
	EmailPrefs    []emailPref
	Choices       []string
	Export        *exportState // the download of their data being prepared, or ready
}

// emailPref is one kind of notification and how the member has it emailed.
type emailPref struct{ Kind, Pref string }

type providerLink struct {
	Name, Label string
	Linked      bool
}

func (s *Server) profileData(c *fiber.Ctx) (*profileData, error) {
	u := web.User(c)
	d := &profileData{Member: u, Scopes: identity.Scopes, Choices: customers.EmailChoices}
	for _, k := range community.EmailKinds {
		d.EmailPrefs = append(d.EmailPrefs, emailPref{Kind: k.Kind, Pref: community.EmailPref(u, k.Kind)})
	}
	for _, code := range s.catalog.Languages() {
		d.Languages = append(d.Languages, languageLink{Code: code, Name: languageNames[code], Current: code == u.Locale})
	}
	for _, p := range s.deps.Providers {
		d.Providers = append(d.Providers, providerLink{Name: p.Name, Label: p.Label, Linked: u.HasIdentity(p.Name)})
	}
	var err error
	if d.Contributions, err = s.contributions(c, u.ID, true); err != nil {
		return nil, err
	}
	if d.Loyalty, err = s.loyaltyOf(c, u.ID, true); err != nil {
		return nil, err
	}
	if d.Export, err = s.exportState(c, u.ID); err != nil {
		return nil, err
	}
	mine, err := s.deps.Reviews.TestimonialsBy(c.UserContext(), u.ID)
	if err != nil {
		return nil, err
	}
	views, err := s.testimonialViews(c, mine)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		if v.ConsentAt == nil && v.Status == reviews.TestimonialPending {
			d.Requests = append(d.Requests, v)
		} else {
			d.Stories = append(d.Stories, v)
		}
	}
	if u.IsStaff() {
		tokens, err := s.deps.Identity.Tokens(c.UserContext(), u.ID)
		if err != nil {
			return nil, err
		}
		d.Tokens = tokens
	}
	return d, nil
}

func (s *Server) renderProfile(c *fiber.Ctx, status int, edit func(*profileData)) error {
	d, err := s.profileData(c)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(d)
	}
	return s.render(c, status, "profile", "profile.title", d)
}

func (s *Server) profilePage(c *fiber.Ctx) error {
	return s.renderProfile(c, fiber.StatusOK, nil)
}

func (s *Server) profileSubmit(c *fiber.Ctx) error {
	var in customers.Profile
	if err := parseForm(c, &in); err != nil {
		return err
	}
	u := web.User(c)
	if err := s.deps.Customers.UpdateProfile(c.UserContext(), u.ID, in); err != nil {
		f, err := s.formFailed(c, err, map[string]string{"display_name": in.DisplayName, "locale": in.Locale})
		if err != nil {
			return err
		}
		return s.renderProfile(c, fiber.StatusUnprocessableEntity, func(d *profileData) { d.ProfileForm = f })
	}
	if in.Locale != "" {
		// The page after the redirect speaks the newly chosen language.
		s.setCookie(c, langCookie, in.Locale, langLifetime)
	}
	s.flash(c, "flash.profile_saved")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

func (s *Server) passwordSubmit(c *fiber.Ctx) error {
	u := web.User(c)
	err := s.deps.Identity.ChangePassword(c.UserContext(), u.ID, c.FormValue("current_password"),
		c.FormValue("new_password"), s.cookie(c, sessionCookie))
	if err != nil {
		f, err := s.formFailed(c, err, nil)
		if err != nil {
			return err
		}
		return s.renderProfile(c, fiber.StatusUnprocessableEntity, func(d *profileData) { d.Password = f })
	}
	s.flash(c, "flash.password_changed")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

func (s *Server) tokenCreate(c *fiber.Ctx) error {
	var in identity.NewToken
	if err := parseForm(c, &in); err != nil {
		return err
	}
	secret, _, err := s.deps.Identity.CreateToken(c.UserContext(), web.User(c), in)
	if err != nil {
		f, err := s.formFailed(c, err, map[string]string{"name": in.Name})
		if err != nil {
			return err
		}
		return s.renderProfile(c, fiber.StatusUnprocessableEntity, func(d *profileData) { d.TokenForm = f })
	}
	// The secret is shown on this response only; a redirect would have to store it.
	return s.renderProfile(c, fiber.StatusCreated, func(d *profileData) { d.NewToken = secret })
}

func (s *Server) tokenRevoke(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return errs.New(errs.ErrNotFound, "tokens.not_found")
	}
	if err := s.deps.Identity.RevokeToken(c.UserContext(), web.User(c).ID, id); err != nil {
		return err
	}
	s.flash(c, "flash.token_revoked")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

// memberData is a customer's public page. Email is there only for the member themself and
// for product and admin staff.
type memberData struct {
	Contributions []contribution
	Member        *customers.Customer
	ShowEmail     bool
	IsSelf        bool
	Badges        []badgeView
}

// badgeView is a badge a member holds, with its icon.
type badgeView struct {
	*loyalty.Held
	Icon string
}

// memberLoyalty is what the programme shows of a member: their badges, and to themselves
// their history and redemptions.
type memberLoyalty struct {
	Badges      []badgeView
	History     []*loyalty.Entry
	Redemptions []*loyalty.Redemption
}

func (s *Server) loyaltyOf(c *fiber.Ctx, member bson.ObjectID, own bool) (memberLoyalty, error) {
	var out memberLoyalty
	if s.deps.Loyalty == nil {
		return out, nil
	}
	held, err := s.deps.Loyalty.BadgesOf(c.UserContext(), member)
	if err != nil {
		return out, err
	}
	for _, h := range held {
		b, _ := loyalty.BadgeByKey(h.Badge)
		out.Badges = append(out.Badges, badgeView{Held: h, Icon: b.Icon})
	}
	if own {
		if out.History, err = s.deps.Loyalty.History(c.UserContext(), member, 20); err != nil {
			return out, err
		}
		if out.Redemptions, err = s.deps.Loyalty.RedemptionsOf(c.UserContext(), member); err != nil {
			return out, err
		}
	}
	return out, nil
}

// contribution is one thing a member wrote, for their page and their profile.
type contribution struct {
	At         time.Time
	Kind       string // message ID
	Title, URL string
	Rating     int    // a review's
	Status     string // shown when not published: to the author only
	Reason     string // a moderator's, when they hid it
}

// contributions are a member's latest threads, replies, ideas and reviews, newest first:
// two sources, merged by time. Others see what is published; the author (own) also sees
// what waits for a moderator or was hidden, with the moderator's reason — never a silent
// dead end. Votes, and what they deleted themselves, stay off.
func (s *Server) contributions(c *fiber.Ctx, id bson.ObjectID, own bool) ([]contribution, error) {
	const most = 20
	ctx := c.UserContext()
	shown := func(status content.Status, reason string) bool {
		return status == content.StatusPublished || own && (status != content.StatusDeleted || reason != "")
	}
	acts, err := s.deps.Community.ActivityBy(ctx, id, time.Time{}, most)
	if err != nil {
		return nil, err
	}
	var out []contribution
	for _, a := range acts {
		if a.Kind != "vote" && a.URL != "" && shown(a.Status, a.Reason) {
			out = append(out, contribution{At: a.At, Kind: "record.community." + a.Kind, Title: a.Title, URL: a.URL,
				Status: string(a.Status), Reason: a.Reason})
		}
	}
	revs, products, err := s.deps.Reviews.ReviewsByAuthor(ctx, id, time.Time{}, most)
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		if p := products[r.ProductID]; p != nil && shown(r.Status, r.ModerationReason) {
			out = append(out, contribution{At: r.CreatedAt, Kind: "kind.review", Title: p.Name, URL: "/products/" + p.Slug + "#review-" + r.ID.Hex(),
				Rating: r.Rating, Status: string(r.Status), Reason: r.ModerationReason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out[:min(len(out), most)], nil
}

func (s *Server) memberPage(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return fiber.ErrNotFound
	}
	m, err := s.deps.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	viewer := web.User(c)
	d := memberData{Member: m}
	if viewer != nil {
		d.IsSelf = viewer.ID == m.ID
		d.ShowEmail = d.IsSelf || viewer.HasAnyRole(customers.RoleProduct)
	}
	if d.Contributions, err = s.contributions(c, m.ID, false); err != nil {
		return err
	}
	l, err := s.loyaltyOf(c, m.ID, false)
	if err != nil {
		return err
	}
	d.Badges = l.Badges
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return s.renderTitled(c, fiber.StatusOK, "member", m.NameIn(s.language(c)), d)
}

// confirmAgainSubmit sends the link that confirms the signed-in member's address again.
func (s *Server) confirmAgainSubmit(c *fiber.Ctx) error {
	if err := s.deps.Identity.ResendConfirmation(c.UserContext(), web.User(c), s.language(c)); err != nil {
		return err
	}
	s.flash(c, "flash.confirmation_sent")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

// emailChangeSubmit emails a link to the new address; the address changes when it is followed.
func (s *Server) emailChangeSubmit(c *fiber.Ctx) error {
	var in identity.EmailChange
	if err := parseForm(c, &in); err != nil {
		return err
	}
	if changeErr := s.deps.Identity.RequestEmailChange(c.UserContext(), web.User(c), in, s.language(c)); changeErr != nil {
		f, err := s.formFailed(c, changeErr, map[string]string{"email": in.Email})
		if err != nil {
			return err
		}
		return s.renderProfile(c, web.Status(changeErr), func(d *profileData) { d.EmailForm = f })
	}
	return s.render(c, fiber.StatusOK, "check_inbox", "inbox.title", checkInbox{Email: in.Email, Lead: "inbox.email_change"})
}

// emailChangePage asks to confirm the new address with a button (mail scanners open links).
func (s *Server) emailChangePage(c *fiber.Ctx) error {
	email, err := s.deps.Identity.CheckEmailChange(c.UserContext(), c.Params("token"))
	if err != nil {
		return s.linkExpired(c, err, "/profile")
	}
	return s.render(c, fiber.StatusOK, "email_change", "email_change.title", emailChangeData{Email: email})
}

type emailChangeData struct {
	Email string
	Form  *form
}

func (s *Server) emailChangeConfirm(c *fiber.Ctx) error {
	var in struct {
		Password string `form:"password"`
	}
	if err := parseForm(c, &in); err != nil {
		return err
	}
	user, changeErr := s.deps.Identity.ChangeEmail(c.UserContext(), c.Params("token"), in.Password)
	if errors.Is(changeErr, identity.ErrTokenInvalid) {
		return s.linkExpired(c, changeErr, "/profile")
	}
	if changeErr != nil {
		f, err := s.formFailed(c, changeErr, nil)
		if err != nil {
			return err
		}
		email, _ := s.deps.Identity.CheckEmailChange(c.UserContext(), c.Params("token"))
		return s.render(c, web.Status(changeErr), "email_change", "email_change.title", emailChangeData{Email: email, Form: f})
	}
	if err := s.signIn(c, user); err != nil {
		return err
	}
	s.flash(c, "flash.email_changed")
	return c.Redirect("/profile", fiber.StatusSeeOther)
}

// emailPrefsSubmit stores how each kind of notification is emailed.
func (s *Server) emailPrefsSubmit(c *fiber.Ctx) error {
	u := web.User(c)
	digested := false
	for _, k := range community.EmailKinds {
		pref := c.FormValue(k.Kind)
		digested = digested || pref == customers.EmailDaily || pref == customers.EmailWeekly
	}
	// Digests stopped from a digest's link show digested kinds as "never": choosing a digest
	// again starts digests, so every kind is stored as shown, or those would start again too.
	restart := digested && u.EmailPrefs[community.DigestKind] == customers.EmailOff
	for _, k := range community.EmailKinds {
		pref := c.FormValue(k.Kind)
		if pref == "" || (pref == community.EmailPref(u, k.Kind) && !restart) {
			continue
		}
		if err := s.deps.Customers.SetEmailPref(c.UserContext(), u.ID, k.Kind, pref); err != nil {
			return err
		}
	}
	if restart {
		// Digests were stopped from a digest's link; choosing one again starts them.
		if err := s.deps.Customers.SetEmailPref(c.UserContext(), u.ID, community.DigestKind, customers.EmailInstant); err != nil {
			return err
		}
	}
	s.flash(c, "flash.email_prefs_saved")
	return c.Redirect("/profile#emails", fiber.StatusSeeOther)
}

// unsubscribePage asks before stopping a kind of email (a person who opens the link);
// mail clients post to the same address in one click (RFC 8058).
func (s *Server) unsubscribePage(c *fiber.Ctx) error {
	if _, kind, ok := s.deps.Identity.CheckUnsubscribe(c.Params("token")); ok {
		return s.render(c, fiber.StatusOK, "unsubscribe", "unsubscribe.title", unsubscribeData{Kind: kind})
	}
	return s.linkExpired(c, identity.ErrTokenInvalid, "/profile#emails")
}

type unsubscribeData struct {
	Kind string
	Done bool
}

// unsubscribeSubmit stops the kind of email the link names. It needs no session and no CSRF
// token: the link's signature is the proof, and a mail client posts it without either.
func (s *Server) unsubscribeSubmit(c *fiber.Ctx) error {
	member, kind, ok := s.deps.Identity.CheckUnsubscribe(c.Params("token"))
	if !ok {
		return s.linkExpired(c, identity.ErrTokenInvalid, "/profile#emails")
	}
	if err := s.deps.Customers.SetEmailPref(c.UserContext(), member, kind, customers.EmailOff); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "unsubscribe", "unsubscribe.title", unsubscribeData{Kind: kind, Done: true})
}
