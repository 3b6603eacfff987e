package customers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/errs"
)

// Purchase is a product a customer bought, as a shop or CRM reports it.
type Purchase struct {
	ProductID bson.ObjectID `bson:"product_id" json:"product_id"`
	OrderID   string        `bson:"order_id" json:"order_id"` // the shop's reference
	// Key is order and product: an order of several products is several purchases, and
	// recording one twice adds it once.
	Key    string    `bson:"key" json:"-"`
	At     time.Time `bson:"at" json:"at"`
	Amount float64   `bson:"amount" json:"amount"`
}

// HasPurchased reports whether the customer bought the product.
func (c *Customer) HasPurchased(product bson.ObjectID) bool {
	return slices.ContainsFunc(c.Purchases, func(p Purchase) bool { return p.ProductID == product })
}

// AddPurchase records a purchase once per order: a retried call changes nothing. It
// reports whether the purchase was new.
func (s *Service) AddPurchase(ctx context.Context, id bson.ObjectID, p Purchase) (bool, error) {
	var f errs.Fields
	if p.ProductID.IsZero() {
		f.Add("product_id", "field.required")
	}
	if p.Amount < 0 || math.IsNaN(p.Amount) || math.IsInf(p.Amount, 0) {
		f.Add("amount", "field.not_negative")
	}
	p.OrderID = strings.TrimSpace(p.OrderID)
	if len(p.OrderID) > 100 {
		f.Add("order_id", "field.too_long", "Max", 100)
	}
	if p.At.After(s.now().Add(24 * time.Hour)) {
		f.Add("at", "field.past_date")
	}
	if err := f.Err(); err != nil {
		return false, err
	}
	if p.At.IsZero() {
		p.At = s.now()
	}
	p.At = p.At.UTC()
	if p.OrderID == "" {
		// Without the shop's reference, the same product on the same day is the same purchase.
		p.OrderID = p.ProductID.Hex() + "@" + p.At.Format("2006-01-02")
	}
	p.Key = p.OrderID + "/" + p.ProductID.Hex()
	res, err := s.customers.UpdateOne(ctx,
		bson.M{"_id": id, "purchases.key": bson.M{"$ne": p.Key}},
		bson.M{"$push": bson.M{"purchases": p}, "$set": bson.M{"updated_at": s.now()}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("add purchase: %w", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return false, err
		}
		return false, nil // already recorded
	}
	return true, s.EvaluateStage(ctx, id)
}
