package apiv1

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/loyalty"
)

func (a *API) apiMemberBadges(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return errs.New(errs.ErrNotFound, "error.404.message")
	}
	m, err := a.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	held, err := a.Loyalty.BadgesOf(c.UserContext(), id)
	if err != nil {
		return err
	}
	lang := web.Language(c)
	out := []badgeJSON{}
	for _, h := range held {
		b, _ := loyalty.BadgeByKey(h.Badge)
		out = append(out, badgeJSON{Badge: h.Badge, Name: a.Catalog.T(lang, "badge."+h.Badge+".name"), Icon: b.Icon, AwardedAt: h.At})
	}
	return c.JSON(badgesJSON{MemberID: m.ID, Level: m.Loyalty.Level, Points: m.Loyalty.Points, Badges: out})
}

func (a *API) apiLeaderboard(c *fiber.Ctx) error {
	period, scope, _, err := web.Leaderboard(c, a.Reviews, time.Now())
	if err != nil {
		return err
	}
	ranks, err := a.Loyalty.Leaderboard(c.UserContext(), period, scope, 20)
	if err != nil {
		return err
	}
	out := []rankJSON{}
	for _, r := range ranks {
		out = append(out, rankJSON{Place: r.Place, Member: r.Member.ID, Name: r.Member.DisplayName, Level: r.Member.Loyalty.Level, Points: r.Points})
	}
	name := "month"
	if period == loyalty.PeriodAll {
		name = "all"
	}
	return c.JSON(leaderboardJSON{Period: name, Ranks: out})
}

// apiRedeem redeems a reward for the signed-in member; the Idempotency-Key header names the
// request, so a retry redeems once.
func (a *API) apiRedeem(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", loyalty.ErrNoReward)
	if err != nil {
		return err
	}
	key := c.Get("Idempotency-Key")
	if key == "" {
		return errs.Field("Idempotency-Key", "loyalty.bad_request_key")
	}
	red, err := a.Loyalty.Redeem(c.UserContext(), web.User(c), id, key)
	if err != nil {
		return err
	}
	out := redemptionJSON{Redemption: red}
	if red.Code != "" {
		code, hidden, err := a.Loyalty.CodeFor(c.UserContext(), red)
		if err != nil {
			return err
		}
		out.Code, out.CodeHidden = &code, &hidden
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

type badgeJSON struct {
	Badge     string    `json:"badge"`
	Name      string    `json:"name"`
	Icon      string    `json:"icon"`
	AwardedAt time.Time `json:"awarded_at"`
}

type rankJSON struct {
	Place  int           `json:"place"`
	Member bson.ObjectID `json:"member_id"`
	Name   string        `json:"name"`
	Level  int           `json:"level"`
	Points int           `json:"points"`
}
