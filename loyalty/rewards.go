package loyalty

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Kinds of reward.
const (
	KindCoupon = "coupon" // a code from a pool uploaded by admins
	KindItem   = "item"   // something sent by post, from a stock
)

// Reward is something members redeem points for.
type Reward struct {
	ID            bson.ObjectID `bson:"_id" json:"id"`
	Name          string        `bson:"name" json:"name"`
	NameID        string        `bson:"name_id,omitempty" json:"name_id,omitempty"`
	Description   string        `bson:"description,omitempty" json:"description,omitempty"`
	DescriptionID string        `bson:"description_id,omitempty" json:"description_id,omitempty"`
	Cost          int           `bson:"cost" json:"cost"`
	Kind          string        `bson:"kind" json:"kind"`
	Units         int           `bson:"units" json:"units"` // codes uploaded or items stocked, ever
	Active        bool          `bson:"active" json:"active"`
	CreatedAt     time.Time     `bson:"created_at" json:"created_at"`
}

// NameIn is the reward's name in a language.
func (r *Reward) NameIn(lang string) string { return content.InLanguage(lang, r.Name, r.NameID) }

// DescriptionIn is the reward's description in a language.
func (r *Reward) DescriptionIn(lang string) string {
	return content.InLanguage(lang, r.Description, r.DescriptionID)
}

// unit is one code or one item of a reward. It is claimed by inserting a claim with its
// _id: whoever inserts first has it, so concurrent redeems can never share a unit.
type unit struct {
	ID       string        `bson:"_id"` // reward:code or reward:number
	RewardID bson.ObjectID `bson:"reward_id"`
	Code     string        `bson:"code,omitempty"`
	Taken    bool          `bson:"taken"`
}

// States of a redemption.
const (
	RedeemPending   = "pending"  // an item waiting to be sent
	RedeemDone      = "done"     // a code given, or an item sent
	RedeemNoStock   = "no_stock" // nothing left: the points were given back
	redeemClaiming  = "claiming" // between its points and its unit
	redeemShort     = "short"    // the points were spent elsewhere at the same time
	codeVisibleTime = 15 * time.Minute
)

// Redemption is one member's redeeming of a reward.
type Redemption struct {
	ID          string        `bson:"_id" json:"id"` // member:request key: a retried request redeems once
	MemberID    bson.ObjectID `bson:"member_id" json:"member_id"`
	RewardID    bson.ObjectID `bson:"reward_id" json:"reward_id"`
	Cost        int           `bson:"cost" json:"cost"`
	Kind        string        `bson:"kind" json:"kind"`
	Unit        string        `bson:"unit,omitempty" json:"-"`
	Code        string        `bson:"code,omitempty" json:"-"` // shown to the redeemer only (CodeFor)
	State       string        `bson:"state" json:"state"`
	At          time.Time     `bson:"at" json:"at"`
	RevealedAt  *time.Time    `bson:"revealed_at,omitempty" json:"-"`
	FulfilledAt *time.Time    `bson:"fulfilled_at,omitempty" json:"fulfilled_at,omitempty"`
	FulfilledBy bson.ObjectID `bson:"fulfilled_by,omitempty" json:"-"`
}

// RewardInput is the admin's reward form.
type RewardInput struct {
	Name          string `form:"name" json:"name"`
	NameID        string `form:"name_id" json:"name_id"`
	Description   string `form:"description" json:"description"`
	DescriptionID string `form:"description_id" json:"description_id"`
	Cost          int    `form:"cost" json:"cost"`
	Kind          string `form:"kind" json:"kind"`
	Stock         int    `form:"stock" json:"stock"` // items; codes come from a file
}

// Validate checks a reward.
func (in *RewardInput) Validate() error {
	var f errs.Fields
	in.Name, in.NameID = strings.TrimSpace(in.Name), strings.TrimSpace(in.NameID)
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		f.Add("name", "field.required")
	case n > 80:
		f.Add("name", "field.too_long", "Max", 80)
	}
	if utf8.RuneCountInString(in.NameID) > 80 {
		f.Add("name_id", "field.too_long", "Max", 80)
	}
	if utf8.RuneCountInString(in.Description) > 1000 || utf8.RuneCountInString(in.DescriptionID) > 1000 {
		f.Add("description", "field.too_long", "Max", 1000)
	}
	if in.Cost < 1 || in.Cost > 1_000_000 {
		f.Add("cost", "loyalty.cost_range")
	}
	switch in.Kind {
	case KindCoupon:
	case KindItem:
		if in.Stock < 0 || in.Stock > 100_000 {
			f.Add("stock", "loyalty.stock_range")
		}
	default:
		f.Add("kind", "field.choose_one")
	}
	return f.Err()
}

// Errors of rewards.
var (
	ErrNoReward   = errs.New(errs.ErrNotFound, "loyalty.no_reward")
	ErrNotEnough  = errs.New(errs.ErrConflict, "loyalty.not_enough_points")
	ErrOutOfStock = errs.New(errs.ErrConflict, "loyalty.out_of_stock")
	ErrBadKey     = errs.New(errs.ErrInvalid, "loyalty.bad_request_key")
)

// CreateReward adds a reward; an item's stock is made at once, a coupon's codes come with
// AddCodes.
func (s *Service) CreateReward(ctx context.Context, in RewardInput) (*Reward, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r := &Reward{ID: bson.NewObjectID(), Name: in.Name, NameID: in.NameID, Description: strings.TrimSpace(in.Description),
		DescriptionID: strings.TrimSpace(in.DescriptionID), Cost: in.Cost, Kind: in.Kind, Active: true, CreatedAt: s.now()}
	if _, err := s.rewards.InsertOne(ctx, r); err != nil {
		return nil, fmt.Errorf("create reward: %w", err)
	}
	if in.Kind == KindItem && in.Stock > 0 {
		if _, err := s.AddStock(ctx, r.ID, in.Stock); err != nil {
			return nil, err
		}
		r.Units = in.Stock
	}
	return r, nil
}

// AddStock adds n items to an item reward.
func (s *Service) AddStock(ctx context.Context, id bson.ObjectID, n int) (int, error) {
	r, err := s.RewardByID(ctx, id)
	if err != nil {
		return 0, err
	}
	if r.Kind != KindItem || n < 1 || n > 100_000 {
		return 0, errs.Field("stock", "loyalty.stock_range")
	}
	// The numbers are reserved first, so two admins adding stock at once get different ones.
	var before Reward
	if err := s.rewards.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"units": n}}).Decode(&before); err != nil {
		return 0, fmt.Errorf("add stock: %w", err)
	}
	docs := make([]any, n)
	for i := range n {
		docs[i] = unit{ID: id.Hex() + ":" + strconv.Itoa(before.Units+i+1), RewardID: id}
	}
	return s.insertUnits(ctx, docs)
}

// AddCodes adds a coupon reward's codes from a file, one per line; blank lines and codes
// already there are skipped. It returns how many were new.
func (s *Service) AddCodes(ctx context.Context, id bson.ObjectID, file io.Reader) (int, error) {
	r, err := s.RewardByID(ctx, id)
	if err != nil {
		return 0, err
	}
	if r.Kind != KindCoupon {
		return 0, errs.Field("codes", "loyalty.not_coupon")
	}
	var docs []any
	data, err := io.ReadAll(io.LimitReader(file, maxCodesFile+1))
	if err != nil || len(data) > maxCodesFile {
		return 0, errs.Field("codes", "loyalty.codes_too_big") // never a code cut short at the limit
	}
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		code := strings.TrimSpace(lines.Text())
		if code == "" {
			continue
		}
		if utf8.RuneCountInString(code) > 100 || !utf8.ValidString(code) {
			return 0, errs.Field("codes", "loyalty.bad_code")
		}
		docs = append(docs, unit{ID: id.Hex() + ":" + code, RewardID: id, Code: code})
	}
	if err := lines.Err(); err != nil {
		return 0, errs.Field("codes", "loyalty.bad_code")
	}
	if len(docs) == 0 {
		return 0, errs.Field("codes", "loyalty.no_codes")
	}
	added, err := s.insertUnits(ctx, docs)
	if err != nil {
		return added, err
	}
	if _, err := s.rewards.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"units": added}}); err != nil {
		return added, fmt.Errorf("reward units: %w", err)
	}
	return added, nil
}

// maxCodesFile is the largest file of codes taken (5 MiB: some 300,000 codes).
const maxCodesFile = 5 << 20

// insertUnits stores units one by one: one already there is skipped, not an error.
func (s *Service) insertUnits(ctx context.Context, docs []any) (int, error) {
	added := 0
	for _, d := range docs { // one by one: a code already there is skipped, not an error
		_, err := s.units.InsertOne(ctx, d)
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return added, fmt.Errorf("reward units: %w", err)
		}
		added++
	}
	return added, nil
}

// RewardByID returns one reward.
func (s *Service) RewardByID(ctx context.Context, id bson.ObjectID) (*Reward, error) {
	return store.FindOne[Reward](ctx, s.rewards, bson.M{"_id": id}, ErrNoReward)
}

// Rewards lists the rewards, cheapest first (active only, unless all).
func (s *Service) Rewards(ctx context.Context, all bool) ([]*Reward, error) {
	filter := bson.M{"active": true}
	if all {
		filter = bson.M{}
	}
	return store.FindAll[Reward](ctx, s.rewards, filter, options.Find().SetSort(bson.D{{Key: "cost", Value: 1}}).SetLimit(200))
}

// Left counts a reward's units not yet taken.
func (s *Service) Left(ctx context.Context, id bson.ObjectID) (int, error) {
	left, err := s.LeftOf(ctx, []bson.ObjectID{id})
	return left[id], err
}

// LeftOf counts the units not yet taken of several rewards, in one aggregation.
func (s *Service) LeftOf(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]int, error) {
	out := map[bson.ObjectID]int{}
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.units.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.M{"reward_id": bson.M{"$in": ids}, "taken": false}}},
		{{Key: "$group", Value: bson.M{"_id": "$reward_id", "n": bson.M{"$sum": 1}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("units left: %w", err)
	}
	var rows []struct {
		ID bson.ObjectID `bson:"_id"`
		N  int           `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("units left: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// Redeem spends a member's points on a reward. key names the request (a form's or an
// Idempotency-Key): the same key redeems once, however often it is sent. The ledger entry
// is written first and is the truth (repair sets balances to it); the balance is checked
// and moved in one update, so it never goes below zero; the unit is claimed by a unique
// insert, so stock is never oversold; a redeem that finds no unit left gives the points
// back. Once the points are taken the rest finishes even if the request gives up, and a
// redemption left half-way by a crash is finished by the next try with its key.
func (s *Service) Redeem(ctx context.Context, member *customers.Customer, rewardID bson.ObjectID, key string) (*Redemption, error) {
	if key == "" || len(key) > 64 {
		return nil, ErrBadKey
	}
	r, err := s.RewardByID(ctx, rewardID)
	if err != nil {
		return nil, err
	}
	if !r.Active {
		return nil, ErrNoReward
	}
	red := &Redemption{ID: member.ID.Hex() + ":" + key, MemberID: member.ID, RewardID: r.ID, Cost: r.Cost, Kind: r.Kind,
		State: redeemClaiming, At: s.now()}
	if existing, err := s.Redemption(ctx, red.ID); err == nil {
		switch {
		case existing.State == redeemShort:
			return nil, ErrNotEnough
		case existing.State == RedeemNoStock:
			return nil, ErrOutOfStock
		case existing.State == redeemClaiming && s.now().Sub(existing.At) > resumeAfter:
			return s.finish(context.WithoutCancel(ctx), r, existing) // its first try died half-way
		}
		return existing, nil // the same request again
	}
	if c, err := s.customers.Get(ctx, member.ID); err != nil {
		return nil, err
	} else if c.Loyalty.Points < r.Cost {
		return nil, ErrNotEnough // the usual case, answered before anything is written
	}
	if _, err := s.redeemed.InsertOne(ctx, red); mongo.IsDuplicateKeyError(err) {
		return s.Redemption(ctx, red.ID) // a double click: the other one redeems
	} else if err != nil {
		return nil, fmt.Errorf("redeem: %w", err)
	}
	return s.finish(context.WithoutCancel(ctx), r, red)
}

// resumeAfter is how old a redemption still claiming must be before another try finishes
// it: older than any request's deadline, so the first try has surely given up.
const resumeAfter = time.Minute

// finish takes the points of a redemption (unless its ledger entry shows they were taken),
// claims its unit, and gives the points back when none is left.
func (s *Service) finish(ctx context.Context, r *Reward, red *Redemption) (*Redemption, error) {
	entry := Entry{ID: CauseRedeem + ":" + red.ID, MemberID: red.MemberID, Cause: CauseRedeem, Ref: r.ID.Hex(), Points: -r.Cost, At: red.At}
	_, err := s.ledger.InsertOne(ctx, entry)
	switch {
	case err == nil:
		spent, err := s.customers.SpendPoints(ctx, red.MemberID, r.Cost)
		if err != nil {
			return nil, err
		}
		if !spent { // spent elsewhere meanwhile: the entry is undone, and so is the redemption
			if err := s.refund(ctx, r, red, false); err != nil {
				return nil, err
			}
			if _, err := s.redeemed.UpdateOne(ctx, bson.M{"_id": red.ID}, bson.M{"$set": bson.M{"state": redeemShort}}); err != nil {
				return nil, fmt.Errorf("redeem: %w", err)
			}
			return nil, ErrNotEnough
		}
	case !mongo.IsDuplicateKeyError(err): // a duplicate: taken by the try that died
		return nil, fmt.Errorf("redeem: %w", err)
	}
	u, err := s.claim(ctx, r.ID, red.ID)
	if err != nil {
		return nil, err
	}
	set := bson.M{}
	if u == nil {
		set["state"] = RedeemNoStock
		if err := s.refund(ctx, r, red, true); err != nil {
			return nil, err
		}
	} else {
		set["unit"], set["code"], set["state"] = u.ID, u.Code, RedeemPending
		if r.Kind == KindCoupon {
			set["state"] = RedeemDone
		}
	}
	if _, err := s.redeemed.UpdateOne(ctx, bson.M{"_id": red.ID}, bson.M{"$set": set}); err != nil {
		return nil, fmt.Errorf("redeem: %w", err)
	}
	if u == nil {
		return nil, ErrOutOfStock
	}
	return s.Redemption(ctx, red.ID)
}

// refund writes the entry that gives a redemption's points back, and (when they were
// taken) gives them back.
func (s *Service) refund(ctx context.Context, r *Reward, red *Redemption, taken bool) error {
	_, err := s.ledger.InsertOne(ctx, Entry{ID: CauseRefund + ":" + red.ID, MemberID: red.MemberID, Cause: CauseRefund,
		Ref: r.ID.Hex(), Points: r.Cost, At: s.now()})
	if mongo.IsDuplicateKeyError(err) {
		return nil // given back already
	}
	if err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	if taken {
		_, err = s.customers.AddPoints(ctx, red.MemberID, r.Cost, false)
	}
	return err
}

// claim takes one free unit of a reward for a redemption, or nil when none is left.
func (s *Service) claim(ctx context.Context, rewardID bson.ObjectID, redemption string) (*unit, error) {
	claims := s.units.Database().Collection("reward_claims")
	for range 100 {
		free, err := store.FindAll[unit](ctx, s.units, bson.M{"reward_id": rewardID, "taken": false}, options.Find().SetLimit(20))
		if err != nil {
			return nil, err
		}
		if len(free) == 0 {
			return nil, nil
		}
		for _, u := range free {
			_, err := claims.InsertOne(ctx, bson.M{"_id": u.ID, "redemption": redemption})
			if err != nil && !mongo.IsDuplicateKeyError(err) {
				return nil, fmt.Errorf("claim: %w", err)
			}
			// Claimed, by this redeem or another: marked taken either way, so that a claim
			// whose mark a failure left undone is not offered again.
			if _, uerr := s.units.UpdateOne(ctx, bson.M{"_id": u.ID}, bson.M{"$set": bson.M{"taken": true}}); uerr != nil {
				return nil, fmt.Errorf("claim: %w", uerr)
			}
			if err == nil {
				return u, nil
			}
		}
		time.Sleep(5 * time.Millisecond) // every unit read was claimed by others meanwhile: read again
	}
	return nil, errors.New("claim: no unit could be claimed in 100 rounds")
}

// Redemption returns one redemption.
func (s *Service) Redemption(ctx context.Context, id string) (*Redemption, error) {
	return store.FindOne[Redemption](ctx, s.redeemed, bson.M{"_id": id}, errs.New(errs.ErrNotFound, "loyalty.no_redemption"))
}

// CodeFor is a coupon's code as its redeemer may see it: whole for a few minutes after it
// is first shown, then only its last four characters, so that a code left on a screen or
// in a browser's history is not there for the taking.
func (s *Service) CodeFor(ctx context.Context, red *Redemption) (code string, hidden bool, err error) {
	if red.Code == "" {
		return "", false, nil
	}
	now := s.now()
	if red.RevealedAt == nil {
		if _, err := s.redeemed.UpdateOne(ctx, bson.M{"_id": red.ID}, bson.M{"$set": bson.M{"revealed_at": now}}); err != nil {
			return "", false, fmt.Errorf("reveal code: %w", err)
		}
		return red.Code, false, nil
	}
	if now.Sub(*red.RevealedAt) < codeVisibleTime {
		return red.Code, false, nil
	}
	r := []rune(red.Code)
	return "••••" + string(r[max(0, len(r)-4):]), true, nil
}

// RedemptionsOf lists a member's redemptions, newest first.
func (s *Service) RedemptionsOf(ctx context.Context, member bson.ObjectID) ([]*Redemption, error) {
	return store.FindAll[Redemption](ctx, s.redeemed, bson.M{"member_id": member},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(100))
}

// PendingCount is how many items wait to be sent.
func (s *Service) PendingCount(ctx context.Context) (int, error) {
	n, err := s.redeemed.CountDocuments(ctx, bson.M{"state": RedeemPending})
	return int(n), err
}

// Pending lists the items waiting to be sent, oldest first.
func (s *Service) Pending(ctx context.Context) ([]*Redemption, error) {
	return store.FindAll[Redemption](ctx, s.redeemed, bson.M{"state": RedeemPending},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(200))
}

// Fulfil marks an item sent.
func (s *Service) Fulfil(ctx context.Context, staff *customers.Customer, id string) error {
	now := s.now()
	res, err := s.redeemed.UpdateOne(ctx, bson.M{"_id": id, "state": RedeemPending},
		bson.M{"$set": bson.M{"state": RedeemDone, "fulfilled_at": now, "fulfilled_by": staff.ID}})
	if err != nil {
		return fmt.Errorf("fulfil: %w", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.Redemption(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
