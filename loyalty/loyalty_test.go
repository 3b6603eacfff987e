package loyalty_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type env struct {
	t       testing.TB
	db      *mongo.Database
	people  *customers.Service
	loyalty *loyalty.Service
	clock   time.Time
	told    *told
}

// told records the badges announced, as the community's notifications would show them.
type told struct {
	mu   sync.Mutex
	list []string
}

func (n *told) AnnounceBadge(_ context.Context, member bson.ObjectID, badge, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, badge+":"+member.Hex())
	return nil
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := storetest.DB(t)
	all := append([]store.Indexes{}, customers.Indexes...)
	if err := store.EnsureIndexes(context.Background(), db, append(all, loyalty.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, people: customers.NewService(db, []string{"en", "id"}), told: &told{}}
	e.loyalty = loyalty.New(db, e.people, slog.New(slog.DiscardHandler))
	e.loyalty.SetNotifier(e.told)
	// A month on: the accounts made now are past the young-account rule.
	e.clock = time.Now().Add(30 * 24 * time.Hour)
	e.loyalty.SetClock(func() time.Time { return e.clock })
	e.loyalty.SetRepairSettle(10 * time.Millisecond)
	return e
}

func (e *env) person(name string, roles ...customers.Role) *customers.Customer {
	e.t.Helper()
	c, err := e.people.Create(context.Background(), customers.NewCustomer{Email: name + "@example.com", DisplayName: name, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) balance(c *customers.Customer) int {
	e.t.Helper()
	got, err := e.people.Get(context.Background(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Loyalty.Points
}

func (e *env) entries(c *customers.Customer) []*loyalty.Entry {
	e.t.Helper()
	list, err := e.loyalty.History(context.Background(), c.ID, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// A cause counts once however often it is told, at once or again; undone, a reversing
// entry takes the same points back; done again, it earns again.
func TestReward_OncePerCauseAndReversed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu := e.person("ayu")
	review := content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: bson.NewObjectID().Hex()}
	var wg sync.WaitGroup
	for range 12 { // a retry storm and a double click at once
		wg.Add(1)
		go func() { defer wg.Done(); e.loyalty.Reward(ctx, review, true) }()
	}
	wg.Wait()
	if b, n := e.balance(ayu), len(e.entries(ayu)); b != 10 || n != 1 {
		t.Fatalf("after 12 concurrent awards: balance %d, %d entries; want 10 and 1", b, n)
	}
	e.loyalty.Reward(ctx, review, false) // hidden by a moderator
	e.loyalty.Reward(ctx, review, false) // and the retry
	list := e.entries(ayu)
	if b := e.balance(ayu); b != 0 || len(list) != 2 || !list[0].Reversal() || list[0].Points != -10 {
		t.Fatalf("after the reversal: balance %d, entries %+v", b, list)
	}
	e.loyalty.Reward(ctx, review, true) // restored
	if b := e.balance(ayu); b != 10 || len(e.entries(ayu)) != 3 {
		t.Fatalf("after restoring: balance %d", b)
	}
	// One's own vote or like earns nothing.
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Actor: ayu.ID, Cause: content.CauseLike, Ref: "x"}, true)
	if b := e.balance(ayu); b != 10 {
		t.Errorf("a self-given like counted: %d", b)
	}
}

// Points given by others count only from accounts old enough, a few times a month from the
// same member, and a cause earns at most the day's cap.
func TestReward_AntiGaming(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := loyalty.DefaultSettings()
	st.SameActorCap, st.DailyCap = 2, 5
	if err := e.loyalty.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	ayu, budi := e.person("ayu"), e.person("budi")
	vote := func(voter *customers.Customer) {
		e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Actor: voter.ID, Cause: content.CauseHelpful,
			Ref: bson.NewObjectID().Hex() + ":" + voter.ID.Hex()}, true)
	}
	young := e.person("young")
	e.loyalty.SetClock(func() time.Time { return time.Now() }) // young's account is minutes old
	vote(young)
	if b := e.balance(ayu); b != 0 {
		t.Fatalf("a vote from a minutes-old account counted: %d", b)
	}
	// A caller with the voter's record says when the account was made, and is believed:
	// the rewarder does not read the record again.
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Actor: young.ID, ActorSince: young.CreatedAt, Cause: content.CauseHelpful,
		Ref: bson.NewObjectID().Hex() + ":" + young.ID.Hex()}, true)
	if b := e.balance(ayu); b != 0 {
		t.Fatalf("a vote from a minutes-old account, its age given, counted: %d", b)
	}
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Actor: young.ID, ActorSince: young.CreatedAt.AddDate(-1, 0, 0), Cause: content.CauseHelpful,
		Ref: bson.NewObjectID().Hex() + ":" + young.ID.Hex()}, true)
	if b := e.balance(budi); b != 2 {
		t.Fatalf("a vote from an account said to be a year old: balance %d, want 2", b)
	}
	e.loyalty.SetClock(func() time.Time { return e.clock })
	for range 4 {
		vote(budi) // the same member over and over: two count
	}
	if b := e.balance(ayu); b != 2*2 {
		t.Fatalf("four votes from one member: balance %d, want 4", b)
	}
	for i := range 6 {
		vote(e.person(fmt.Sprintf("voter%d", i)))
	}
	if b := e.balance(ayu); b != 5*2 { // the day's cap of 5 helpful votes
		t.Fatalf("past the daily cap: balance %d, want 10", b)
	}
	e.clock = e.clock.Add(24 * time.Hour)
	vote(e.person("tomorrow"))
	if b := e.balance(ayu); b != 12 {
		t.Fatalf("the next day: balance %d, want 12", b)
	}
	bad := st
	bad.DailyCap = 0
	if err := e.loyalty.SaveSettings(ctx, bad); err == nil {
		t.Error("a daily cap of 0 was accepted")
	}
}

// Levels follow points, tenure, purchases and standing; a rejection holds a member down,
// and time lifts it.
func TestLevels_PromotionAndDemotion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu := e.person("ayu")
	for i := range 11 { // 110 points of reviews
		e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: fmt.Sprint("r", i)}, true)
	}
	got, _ := e.people.Get(ctx, ayu.ID)
	if got.Loyalty.Points != 110 || got.Loyalty.Level != 2 || loyalty.LevelOf(got, e.clock) != 2 {
		t.Fatalf("110 points, a month old: points %d level %d", got.Loyalty.Points, got.Loyalty.Level)
	}
	if !loyalty.LinksAllowed(2) || loyalty.FlagWeight(2) != 2 || loyalty.FlagHidesAtOnce(2) || !loyalty.PastNewAccountHold(1) || loyalty.PastNewAccountHold(0) {
		t.Error("privileges by level")
	}
	if err := e.loyalty.Strike(ctx, ayu.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = e.people.Get(ctx, ayu.ID)
	if got.Loyalty.Level != loyalty.StrikeCap {
		t.Fatalf("after a rejection: level %d, want %d", got.Loyalty.Level, loyalty.StrikeCap)
	}
	if l := loyalty.LevelOf(got, e.clock.Add((loyalty.StrikeDays+1)*24*time.Hour)); l != 2 {
		t.Errorf("a month after the rejection: level %d, want 2 again", l)
	}
	if l := loyalty.LevelOf(&customers.Customer{CreatedAt: e.clock, Loyalty: customers.Loyalty{Points: 5000}}, e.clock); l != 0 {
		t.Errorf("points without tenure: level %d", l)
	}
}

// Badges come once, with a notification; manual ones need an admin's reason.
func TestBadges_OnceAutomaticAndManual(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu, admin := e.person("ayu"), e.person("admin", customers.RoleAdmin)
	for i := range 3 {
		e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: fmt.Sprint("r", i)}, true)
	}
	held, err := e.loyalty.BadgesOf(ctx, ayu.ID)
	if err != nil || len(held) != 1 || held[0].Badge != "first_review" || len(e.told.list) != 1 {
		t.Fatalf("after three reviews: %v %v, told %v", held, err, e.told.list)
	}
	if _, err := e.loyalty.Award(ctx, admin, ayu.ID, "first_review", "because"); !errors.Is(err, loyalty.ErrNotManual) {
		t.Errorf("an automatic badge given by hand: %v", err)
	}
	if _, err := e.loyalty.Award(ctx, admin, ayu.ID, "community_hero", ""); err == nil {
		t.Error("a manual badge without a reason")
	}
	if ok, err := e.loyalty.Award(ctx, admin, ayu.ID, "community_hero", "Answered 50 questions in a week"); !ok || err != nil {
		t.Fatalf("award: %v %v", ok, err)
	}
	if ok, _ := e.loyalty.Award(ctx, admin, ayu.ID, "community_hero", "again"); ok {
		t.Error("a badge given twice")
	}
	holders, _ := e.loyalty.Holders(ctx, "community_hero", time.Time{}, 10)
	if len(holders) != 1 || holders[0].MemberID != ayu.ID || holders[0].Reason == "" {
		t.Errorf("holders: %+v", holders)
	}
	if ok, err := e.loyalty.Revoke(ctx, ayu.ID, "community_hero", "given in error"); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if held, _ := e.loyalty.BadgesOf(ctx, ayu.ID); len(held) != 1 {
		t.Errorf("after revoking: %v", held)
	}
}

// Twenty members redeem the last three codes at once: exactly three get one, each a
// different code, and the others have their points back.
func TestRedeem_NeverOversoldNeverBelowZero(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := e.loyalty.CreateReward(ctx, loyalty.RewardInput{Name: "10% off", Cost: 10, Kind: loyalty.KindCoupon})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.loyalty.AddCodes(ctx, r.ID, strings.NewReader("GUYUB-A\n\nGUYUB-B\nGUYUB-C\nGUYUB-A\n")); err != nil || n != 3 {
		t.Fatalf("codes: %d %v", n, err)
	}
	var people []*customers.Customer
	for i := range 20 {
		c := e.person(fmt.Sprintf("m%d", i))
		e.loyalty.Reward(ctx, content.Reward{Member: c.ID, Cause: content.CauseReview, Ref: "r" + c.ID.Hex()}, true)
		people = append(people, c)
	}
	var mu sync.Mutex
	codes := map[string]bool{}
	var wg sync.WaitGroup
	for _, c := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			red, err := e.loyalty.Redeem(ctx, c, r.ID, "k1")
			if err != nil && !errors.Is(err, loyalty.ErrOutOfStock) {
				t.Errorf("redeem: %v", err)
				return
			}
			if err == nil {
				mu.Lock()
				codes[red.Code] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(codes) != 3 {
		t.Fatalf("codes given: %v, want the three", codes)
	}
	total := 0
	for _, c := range people {
		total += e.balance(c)
	}
	if total != 20*10-3*10 {
		t.Errorf("balances after: %d, want %d", total, 170)
	}
	// The same request again gives the same redemption, not a second one.
	winner := people[0]
	for _, c := range people {
		if list, _ := e.loyalty.RedemptionsOf(ctx, c.ID); len(list) == 1 && list[0].State == loyalty.RedeemDone {
			winner = c
		}
	}
	again, err := e.loyalty.Redeem(ctx, winner, r.ID, "k1")
	if err != nil || again.State != loyalty.RedeemDone {
		t.Errorf("the same request again: %+v %v", again, err)
	}

	// One member, 15 points, five redeems of a 10-point item at once: one succeeds.
	item, _ := e.loyalty.CreateReward(ctx, loyalty.RewardInput{Name: "Tote bag", Cost: 10, Kind: loyalty.KindItem, Stock: 50})
	rich := e.person("rich")
	e.loyalty.Reward(ctx, content.Reward{Member: rich.ID, Cause: content.CauseReview, Ref: "rich1"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: rich.ID, Cause: content.CauseSurvey, Ref: "rich2"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: rich.ID, Cause: content.CauseSurvey, Ref: "rich3"}, true)
	got := make(chan error, 5)
	for i := range 5 {
		go func() { _, err := e.loyalty.Redeem(ctx, rich, item.ID, fmt.Sprint("tab", i)); got <- err }()
	}
	ok := 0
	for range 5 {
		if err := <-got; err == nil {
			ok++
		} else if !errors.Is(err, loyalty.ErrNotEnough) {
			t.Errorf("redeem: %v", err)
		}
	}
	if b := e.balance(rich); ok != 1 || b != 4 {
		t.Errorf("%d redeems went through, balance %d; want 1 and 4", ok, b)
	}
	pending, _ := e.loyalty.Pending(ctx)
	if len(pending) != 1 || pending[0].MemberID != rich.ID {
		t.Fatalf("pending items: %+v", pending)
	}
	if err := e.loyalty.Fulfil(ctx, e.person("staff", customers.RoleAdmin), pending[0].ID); err != nil {
		t.Fatal(err)
	}
	if pending, _ := e.loyalty.Pending(ctx); len(pending) != 0 {
		t.Error("a fulfilled item is still pending")
	}
}

// Repair puts every balance back to the sum of its ledger.
func TestRepair_BalancesFromTheLedger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu, budi := e.person("ayu"), e.person("budi")
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseAnswer, Ref: "p1"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Cause: content.CauseReview, Ref: "r1"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Cause: content.CauseReview, Ref: "r1"}, false)
	for id, points := range map[bson.ObjectID]int{ayu.ID: 999, budi.ID: 7} { // a crash left them wrong
		if _, err := e.db.Collection("customers").UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"loyalty.points": points}}); err != nil {
			t.Fatal(err)
		}
	}
	fixed, err := e.loyalty.RepairBalances(ctx)
	if err != nil || fixed != 2 || e.balance(ayu) != 15 || e.balance(budi) != 0 {
		t.Fatalf("repair: %d %v; balances %d %d", fixed, err, e.balance(ayu), e.balance(budi))
	}
	if again, _ := e.loyalty.RepairBalances(ctx); again != 0 {
		t.Errorf("a second repair fixed %d", again)
	}
}

// Leaderboards: this month and all time, overall and by product, staff left out.
func TestLeaderboard_HandComputed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu, budi, dewi, staff := e.person("ayu"), e.person("budi"), e.person("dewi"), e.person("pm", customers.RoleProduct)
	kopi := bson.NewObjectID()
	// The middle of last month: a month before the 31st is the 1st of this one (Go normalises
	// 31 November), which failed this test on the days when the clock falls on a 31st.
	last := time.Date(e.clock.Year(), e.clock.Month()-1, 15, 12, 0, 0, 0, time.UTC)
	e.loyalty.SetClock(func() time.Time { return last })
	e.loyalty.Reward(ctx, content.Reward{Member: dewi.ID, Cause: content.CauseIdeaShipped, Ref: "i1"}, true) // 25, last month
	e.loyalty.SetClock(func() time.Time { return e.clock })
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r1", Product: kopi}, true)  // 10 kopi
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseSurvey, Ref: "s1"}, true)                 // 2
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Cause: content.CauseAnswer, Ref: "p1"}, true)                // 15
	e.loyalty.Reward(ctx, content.Reward{Member: staff.ID, Cause: content.CauseAnswer, Ref: "p2"}, true)               // staff: left out
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Cause: content.CauseReview, Ref: "r2", Product: kopi}, true) // 10 kopi
	e.loyalty.Reward(ctx, content.Reward{Member: budi.ID, Cause: content.CauseReview, Ref: "r2", Product: kopi}, false)
	board := func(period, scope string) string {
		ranks, err := e.loyalty.Leaderboard(ctx, period, scope, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range ranks {
			out = append(out, fmt.Sprintf("%d.%s=%d", r.Place, r.Member.DisplayName, r.Points))
		}
		return strings.Join(out, " ")
	}
	// Points earned last month and taken back this month leave last month's board, not this one's.
	e.loyalty.Reward(ctx, content.Reward{Member: dewi.ID, Cause: content.CauseIdeaPlanned, Ref: "i2"}, false) // never earned: nothing
	e.loyalty.SetClock(func() time.Time { return last })
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseTestimonial, Ref: "t1"}, true) // 10, last month
	e.loyalty.SetClock(func() time.Time { return e.clock })
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseTestimonial, Ref: "t1"}, false) // taken back now
	if got := board(loyalty.MonthOf(last), loyalty.ScopeAll); got != "1.dewi=25" {
		t.Errorf("last month after the reversal: %s", got)
	}
	for _, tc := range []struct{ period, scope, want string }{
		{loyalty.PeriodAll, loyalty.ScopeAll, "1.dewi=25 2.budi=15 3.ayu=12"},
		{loyalty.MonthOf(e.clock), loyalty.ScopeAll, "1.budi=15 2.ayu=12"},
		{loyalty.PeriodAll, kopi.Hex(), "1.ayu=10"},
	} {
		if got := board(tc.period, tc.scope); got != tc.want {
			t.Errorf("%s/%s: %s, want %s", tc.period, tc.scope, got, tc.want)
		}
	}
}

// Contributions that earn points in both languages earn the bilingual badge, once.
func TestBadges_Bilingual(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu := e.person("ayu")
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r1", Lang: "id"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r2", Lang: "id"}, true)
	if held, _ := e.loyalty.BadgesOf(ctx, ayu.ID); len(held) != 1 {
		t.Fatalf("one language: %v", held)
	}
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseAnswer, Ref: "p1", Lang: "en"}, true)
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r3", Lang: "en"}, true)
	held, _ := e.loyalty.BadgesOf(ctx, ayu.ID)
	var keys []string
	for _, h := range held {
		keys = append(keys, h.Badge)
	}
	if strings.Join(keys, ",") != "first_review,first_answer,bilingual" {
		t.Errorf("badges: %v", keys)
	}
}

// Once a member holds a badge, a later contribution only reads that it is held: it does not
// insert it again (refused as a duplicate, a write for nothing), and a count kept for the
// bilingual badge alone is read, not moved by nothing. A badge whose give failed is given by
// the next contribution.
func TestBadges_LaterContributionsWriteNoBadge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu := e.person("ayu")
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r1", Lang: "id"}, true)
	storetest.Commands(e.db)
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r2", Lang: "id"}, true)
	for _, c := range storetest.Commands(e.db) {
		if c.Name == "insert" && c.Collection == "badges_held" {
			t.Errorf("a later review gave a held badge again: %s", c)
		}
		if c.Name != "find" && strings.Contains(c.String(), ":en") {
			t.Errorf("a review in Indonesian moved the English count: %s", c)
		}
	}

	// A give that failed (the badge missing past its count) is made good.
	if _, err := e.db.Collection("badges_held").DeleteMany(ctx, bson.M{"member_id": ayu.ID}); err != nil {
		t.Fatal(err)
	}
	e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: "r3", Lang: "id"}, true)
	if held, _ := e.loyalty.BadgesOf(ctx, ayu.ID); len(held) != 1 || held[0].Badge != "first_review" {
		t.Errorf("badges after a lost give: %v", held)
	}
}

// A redemption a crash left half-way (points taken, no unit) is finished by the next try
// with its key, and spending points never lowers a member's level.
func TestRedeem_ResumedAfterACrashAndLevelsKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	item, err := e.loyalty.CreateReward(ctx, loyalty.RewardInput{Name: "Mug", Cost: 100, Kind: loyalty.KindItem, Stock: 2})
	if err != nil {
		t.Fatal(err)
	}
	ayu := e.person("ayu")
	for i := range 12 {
		e.loyalty.Reward(ctx, content.Reward{Member: ayu.ID, Cause: content.CauseReview, Ref: fmt.Sprint("r", i)}, true)
	}
	// The crash: the redemption written and its points taken, then nothing.
	stuck := bson.M{"_id": ayu.ID.Hex() + ":k1", "member_id": ayu.ID, "reward_id": item.ID, "cost": 100, "kind": "item",
		"state": "claiming", "at": e.clock.Add(-5 * time.Minute)}
	if _, err := e.db.Collection("redemptions").InsertOne(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Collection("points").InsertOne(ctx, loyalty.Entry{ID: "redeem:" + ayu.ID.Hex() + ":k1", MemberID: ayu.ID,
		Cause: loyalty.CauseRedeem, Points: -100, At: e.clock.Add(-5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.people.SpendPoints(ctx, ayu.ID, 100); err != nil {
		t.Fatal(err)
	}
	red, err := e.loyalty.Redeem(ctx, ayu, item.ID, "k1")
	if err != nil || red.State != loyalty.RedeemPending {
		t.Fatalf("the retry: %+v %v", red, err)
	}
	if b := e.balance(ayu); b != 20 {
		t.Errorf("balance %d, want 20: the points were taken once", b)
	}
	if left, _ := e.loyalty.Left(ctx, item.ID); left != 1 {
		t.Errorf("%d left, want 1", left)
	}
	got, _ := e.people.Get(ctx, ayu.ID)
	if got.Loyalty.Earned != 120 || loyalty.LevelOf(got, e.clock) != 2 {
		t.Errorf("after spending: earned %d, level %d; want 120 and 2", got.Loyalty.Earned, loyalty.LevelOf(got, e.clock))
	}
	if fixed, err := e.loyalty.RepairBalances(ctx); err != nil || fixed != 0 {
		t.Errorf("repair after the resumed redemption: %d %v", fixed, err)
	}
}
