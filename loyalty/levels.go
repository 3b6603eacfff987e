package loyalty

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
)

// Level is a trust level: what it takes, and (in Privileges) what it allows. Its name and
// description are in the catalogue as level.<Key>.name and level.<Key>.desc.
type Level struct {
	N            int
	Key          string
	MinPoints    int
	MinDays      int // account age
	MinPurchases int // verified purchases
}

// Levels, lowest first. A member holds the highest whose every condition they meet, and
// no more than StrikeCap while a moderator's rejection is recent (Standing).
var Levels = []Level{
	{N: 0, Key: "new"},
	{N: 1, Key: "member", MinPoints: 10, MinDays: 1},
	{N: 2, Key: "regular", MinPoints: 100, MinDays: 14},
	{N: 3, Key: "leader", MinPoints: 500, MinDays: 60, MinPurchases: 1},
}

// Standing: a rejection or hiding by a moderator holds a member at StrikeCap at most for
// StrikeDays — demotion when standing drops, promotion again once it has passed.
const (
	StrikeDays = 30
	StrikeCap  = 1
)

// LevelOf is the level a member's record earns at now.
func LevelOf(c *customers.Customer, now time.Time) int {
	days := int(now.Sub(c.CreatedAt).Hours() / 24)
	level := 0
	for _, l := range Levels {
		if c.Loyalty.Earned >= l.MinPoints && days >= l.MinDays && len(c.Purchases) >= l.MinPurchases {
			level = l.N
		}
	}
	if c.Loyalty.StrikeAt != nil && now.Sub(*c.Loyalty.StrikeAt) < StrikeDays*24*time.Hour {
		level = min(level, StrikeCap)
	}
	return level
}

// What levels allow, as the moderation rules read them.

// PastNewAccountHold: the member's posts skip the hold on new accounts' first posts.
func PastNewAccountHold(level int) bool { return level >= 1 }

// LinksAllowed: the member's posts are not held for their number of links.
func LinksAllowed(level int) bool { return level >= 2 }

// FlagWeight is how many flags a member's flag counts as.
func FlagWeight(level int) int {
	if level >= 2 {
		return 2
	}
	return 1
}

// FlagHidesAtOnce: a flag by the member hides the content until a moderator looks.
func FlagHidesAtOnce(level int) bool { return level >= 3 }

// relevel stores the member's level if it changed, and gives the badges time earns.
func (s *Service) relevel(ctx context.Context, c *customers.Customer) error {
	if err := s.tenureBadges(ctx, c); err != nil {
		return err
	}
	if l := LevelOf(c, s.now()); l != c.Loyalty.Level {
		c.Loyalty.Level = l
		return s.customers.SetLevel(ctx, c.ID, l)
	}
	return nil
}

// Strike records that a moderator rejected or hid something of the member's: their level
// drops to StrikeCap for StrikeDays.
func (s *Service) Strike(ctx context.Context, member bson.ObjectID) error {
	now := s.now()
	if err := s.customers.Strike(ctx, member, now); err != nil {
		return err
	}
	c, err := s.customers.Get(ctx, member)
	if err != nil {
		return err
	}
	return s.relevel(ctx, c)
}
