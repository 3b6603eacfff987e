package handlers

import (
	"errors"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) loyaltyRoutes(app *fiber.App) {
	if s.deps.Loyalty == nil {
		return
	}
	app.Get("/loyalty", s.loyaltyPage)
	app.Get("/leaderboard", s.leaderboardPage)
	app.Get("/badges/:key", s.badgePage)
	app.Post("/rewards/:id/redeem", web.RequireActive, s.redeemSubmit)
	app.Get("/redemptions/:id", web.SignedIn, s.redemptionPage)
	admin := app.Group("/admin/loyalty", web.RequireRole(customers.RoleAdmin))
	admin.Get("/", s.adminLoyaltyPage)
	admin.Post("/settings", s.adminLoyaltySettings)
	admin.Post("/rewards", s.adminRewardCreate)
	admin.Post("/rewards/:id/units", s.adminRewardUnits)
	admin.Post("/redemptions/:id/fulfil", s.adminRedemptionFulfil)
	admin.Post("/badges", s.adminBadge)
}

// rewardView is a reward with what is left of it.
type rewardView struct {
	*loyalty.Reward
	Left int
}

type loyaltyData struct {
	Settings loyalty.Settings
	Causes   []string
	Levels   []loyalty.Level
	Badges   []loyalty.Badge
	Rewards  []rewardView
	Key      string // names this page's redeem forms: a double click redeems once
	Me       *customers.Customer
}

func (s *Server) rewardViews(c *fiber.Ctx, all bool) ([]rewardView, error) {
	list, err := s.deps.Loyalty.Rewards(c.UserContext(), all)
	if err != nil {
		return nil, err
	}
	ids := make([]bson.ObjectID, len(list))
	for i, r := range list {
		ids[i] = r.ID
	}
	left, err := s.deps.Loyalty.LeftOf(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]rewardView, len(list))
	for i, r := range list {
		out[i] = rewardView{Reward: r, Left: left[r.ID]}
	}
	return out, nil
}

// loyaltyPage explains the programme to members: how points are earned, what each level
// takes and allows, the badges, and the rewards to redeem.
func (s *Server) loyaltyPage(c *fiber.Ctx) error {
	st, err := s.deps.Loyalty.Settings(c.UserContext())
	if err != nil {
		return err
	}
	d := loyaltyData{Settings: st, Causes: loyalty.Causes, Levels: loyalty.Levels, Badges: loyalty.Badges, Me: web.User(c)}
	if d.Rewards, err = s.rewardViews(c, false); err != nil {
		return err
	}
	if d.Me != nil {
		d.Key = identity.NewBrowserID()
	}
	return s.render(c, fiber.StatusOK, "loyalty", "loyalty.title", d)
}

type leaderboardData struct {
	Period   string // "month" or "all"
	Product  *reviews.Product
	Products []*reviews.Product
	Ranks    []loyalty.Rank
	Month    time.Time
}

func (s *Server) leaderboardPage(c *fiber.Ctx) error {
	d, err := s.leaderboard(c)
	if err != nil {
		return err
	}
	if d.Products, _, err = s.deps.Reviews.Products(c.UserContext(), "", 100); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "leaderboard", "leaderboard.title", d)
}

func (s *Server) leaderboard(c *fiber.Ctx) (*leaderboardData, error) {
	d := &leaderboardData{Period: "month", Month: time.Now()}
	period, scope, product, err := web.Leaderboard(c, s.deps.Reviews, d.Month)
	if err != nil {
		return nil, err
	}
	if period == loyalty.PeriodAll {
		d.Period = "all"
	}
	d.Product = product
	d.Ranks, err = s.deps.Loyalty.Leaderboard(c.UserContext(), period, scope, 20)
	return d, err
}

type badgeData struct {
	Badge   loyalty.Badge
	Holders []badgeHolder
}

type badgeHolder struct {
	*loyalty.Held
	Member *customers.Customer
}

func (s *Server) badgePage(c *fiber.Ctx) error {
	b, ok := loyalty.BadgeByKey(c.Params("key"))
	if !ok {
		return loyalty.ErrNoBadge
	}
	held, err := s.deps.Loyalty.Holders(c.UserContext(), b.Key, time.Time{}, 100)
	if err != nil {
		return err
	}
	ids := make([]bson.ObjectID, len(held))
	for i, h := range held {
		ids[i] = h.MemberID
	}
	people, err := s.deps.Customers.GetMany(c.UserContext(), ids)
	if err != nil {
		return err
	}
	d := badgeData{Badge: b}
	for _, h := range held {
		if m := people[h.MemberID]; m != nil {
			d.Holders = append(d.Holders, badgeHolder{Held: h, Member: m})
		}
	}
	return s.renderTitled(c, fiber.StatusOK, "badge", s.catalog.T(s.language(c), "badge."+b.Key+".name"), d)
}

func (s *Server) redeemSubmit(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", loyalty.ErrNoReward)
	if err != nil {
		return err
	}
	red, err := s.deps.Loyalty.Redeem(c.UserContext(), web.User(c), id, c.FormValue("key"))
	if errors.Is(err, loyalty.ErrNotEnough) || errors.Is(err, loyalty.ErrOutOfStock) {
		flash := "flash.out_of_stock"
		if errors.Is(err, loyalty.ErrNotEnough) {
			flash = "flash.not_enough_points"
		}
		s.flash(c, flash)
		return c.Redirect("/loyalty#rewards", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/redemptions/"+red.ID, fiber.StatusSeeOther)
}

type redemptionData struct {
	Redemption *loyalty.Redemption
	Reward     *loyalty.Reward
	Code       string
	CodeHidden bool
}

// redemptionPage shows a redemption to its redeemer, a coupon's code included (whole for a
// few minutes only).
func (s *Server) redemptionPage(c *fiber.Ctx) error {
	red, err := s.deps.Loyalty.Redemption(c.UserContext(), c.Params("id"))
	if err != nil || red.MemberID != web.User(c).ID {
		return errs.New(errs.ErrNotFound, "loyalty.no_redemption")
	}
	d := redemptionData{Redemption: red}
	if d.Reward, err = s.deps.Loyalty.RewardByID(c.UserContext(), red.RewardID); err != nil {
		return err
	}
	if d.Code, d.CodeHidden, err = s.deps.Loyalty.CodeFor(c.UserContext(), red); err != nil {
		return err
	}
	c.Locals(noCacheLocal, true)
	return s.render(c, fiber.StatusOK, "redemption", "loyalty.redemption_title", d)
}

type adminLoyaltyData struct {
	Settings loyalty.Settings
	Causes   []string
	Rewards  []rewardView
	Pending  []pendingView
	Manual   []loyalty.Badge
	Form     *form // settings
	Reward   *form // a new reward
	Badge    *form // a manual badge
}

type pendingView struct {
	*loyalty.Redemption
	Member *customers.Customer
	Reward *loyalty.Reward
}

func (s *Server) renderAdminLoyalty(c *fiber.Ctx, status int, edit func(*adminLoyaltyData)) error {
	ctx := c.UserContext()
	st, err := s.deps.Loyalty.Settings(ctx)
	if err != nil {
		return err
	}
	d := &adminLoyaltyData{Settings: st, Causes: loyalty.Causes}
	for _, b := range loyalty.Badges {
		if b.Manual {
			d.Manual = append(d.Manual, b)
		}
	}
	if d.Rewards, err = s.rewardViews(c, true); err != nil {
		return err
	}
	pending, err := s.deps.Loyalty.Pending(ctx)
	if err != nil {
		return err
	}
	ids := make([]bson.ObjectID, len(pending))
	for i, p := range pending {
		ids[i] = p.MemberID
	}
	people, err := s.deps.Customers.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	rewards := map[bson.ObjectID]*loyalty.Reward{}
	for _, r := range d.Rewards {
		rewards[r.ID] = r.Reward
	}
	for _, p := range pending {
		d.Pending = append(d.Pending, pendingView{Redemption: p, Member: people[p.MemberID], Reward: rewards[p.RewardID]})
	}
	if edit != nil {
		edit(d)
	}
	return s.render(c, status, "admin/loyalty", "loyalty.admin_title", d)
}

func (s *Server) adminLoyaltyPage(c *fiber.Ctx) error {
	return s.renderAdminLoyalty(c, fiber.StatusOK, nil)
}

func (s *Server) adminLoyaltySettings(c *fiber.Ctx) error {
	st := loyalty.Settings{Points: map[string]int{}}
	values := map[string]string{}
	bad := errs.Fields{}
	number := func(field string) int {
		values[field] = c.FormValue(field)
		n, err := strconv.Atoi(strings.TrimSpace(values[field]))
		if err != nil {
			bad.Add(field, "field.number")
		}
		return n
	}
	for _, cause := range loyalty.Causes {
		st.Points[cause] = number("points_" + cause)
	}
	st.YoungDays, st.SameActorCap, st.DailyCap = number("young_days"), number("same_actor_cap"), number("daily_cap")
	err := bad.Err()
	if err == nil {
		err = s.deps.Loyalty.SaveSettings(c.UserContext(), st)
	}
	if err != nil {
		f, ferr := s.formFailed(c, err, values)
		if ferr != nil {
			return ferr
		}
		return s.renderAdminLoyalty(c, web.Status(err), func(d *adminLoyaltyData) { d.Form = f })
	}
	s.flash(c, "flash.loyalty_saved")
	return c.Redirect("/admin/loyalty/", fiber.StatusSeeOther)
}

func (s *Server) adminRewardCreate(c *fiber.Ctx) error {
	var in loyalty.RewardInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	r, err := s.deps.Loyalty.CreateReward(c.UserContext(), in)
	if err == nil && in.Kind == loyalty.KindCoupon {
		if files := web.MultipartFiles(c, "codes"); len(files) == 1 {
			err = s.addCodes(c, r.ID, files[0])
		}
	}
	if err != nil {
		f, ferr := s.formFailed(c, err, map[string]string{"name": in.Name, "name_id": in.NameID, "description": in.Description,
			"description_id": in.DescriptionID, "cost": strconv.Itoa(in.Cost), "kind": in.Kind, "stock": strconv.Itoa(in.Stock)})
		if ferr != nil {
			return ferr
		}
		return s.renderAdminLoyalty(c, web.Status(err), func(d *adminLoyaltyData) { d.Reward = f })
	}
	s.flash(c, "flash.reward_saved")
	return c.Redirect("/admin/loyalty/#rewards", fiber.StatusSeeOther)
}

// addCodes adds a coupon reward's codes from an uploaded file.
func (s *Server) addCodes(c *fiber.Ctx, id bson.ObjectID, fh *multipart.FileHeader) error {
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.deps.Loyalty.AddCodes(c.UserContext(), id, f)
	return err
}

// adminRewardUnits adds codes (a file, one per line) or items to a reward.
func (s *Server) adminRewardUnits(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", loyalty.ErrNoReward)
	if err != nil {
		return err
	}
	if files := web.MultipartFiles(c, "codes"); len(files) == 1 {
		if err := s.addCodes(c, id, files[0]); err != nil {
			return err
		}
	} else {
		n, _ := strconv.Atoi(c.FormValue("stock"))
		if _, err := s.deps.Loyalty.AddStock(c.UserContext(), id, n); err != nil {
			return err
		}
	}
	s.flash(c, "flash.reward_saved")
	return c.Redirect("/admin/loyalty/#rewards", fiber.StatusSeeOther)
}

func (s *Server) adminRedemptionFulfil(c *fiber.Ctx) error {
	if err := s.deps.Loyalty.Fulfil(c.UserContext(), web.User(c), c.Params("id")); err != nil {
		return err
	}
	s.flash(c, "flash.fulfilled")
	return c.Redirect("/admin/loyalty/#pending", fiber.StatusSeeOther)
}

// adminBadge gives or takes back a manual badge, with a reason kept in the audit log.
func (s *Server) adminBadge(c *fiber.Ctx) error {
	ctx := c.UserContext()
	values := map[string]string{"email": c.FormValue("email"), "badge": c.FormValue("badge"), "reason": c.FormValue("reason")}
	reason := strings.TrimSpace(values["reason"])
	revoke := c.FormValue("do") == "revoke"
	member, err := s.deps.Customers.FindByEmail(ctx, values["email"])
	if errors.Is(err, customers.ErrNotFound) {
		err = errs.Field("email", "loyalty.no_member")
	}
	changed := false
	if err == nil {
		if revoke {
			changed, err = s.deps.Loyalty.Revoke(ctx, member.ID, values["badge"], reason)
		} else {
			changed, err = s.deps.Loyalty.Award(ctx, web.User(c), member.ID, values["badge"], reason)
		}
	}
	if err != nil {
		f, ferr := s.formFailed(c, err, values)
		if ferr != nil {
			return ferr
		}
		return s.renderAdminLoyalty(c, web.Status(err), func(d *adminLoyaltyData) { d.Badge = f })
	}
	if changed {
		action := moderation.ActionBadge
		if revoke {
			action = moderation.ActionBadgeTaken
		}
		if err := s.deps.Moderation.Append(ctx, moderation.Entry{Actor: web.User(c).ID, Action: action,
			TargetAuthor: member.ID, Reason: values["badge"] + ": " + reason}); err != nil {
			return err
		}
	}
	if revoke {
		s.flash(c, "flash.badge_taken")
	} else {
		s.flash(c, "flash.badge_given")
	}
	return c.Redirect("/admin/loyalty/#badges", fiber.StatusSeeOther)
}
