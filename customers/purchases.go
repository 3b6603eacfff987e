package customers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// A purchase is kept twice: on its customer's record (what the record and its stage read)
// and as a document of its own in "purchases", which answers "who bought this product" and
// "who bought in this period" with an index — an array on the customer cannot.
type purchaseDoc struct {
	ID         string        `bson:"_id"` // customer and Key: recording it twice stores it once
	CustomerID bson.ObjectID `bson:"customer_id"`
	Purchase   `bson:",inline"`
}

var purchaseIndexes = store.Indexes{Collection: "purchases", Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "product_id", Value: 1}, {Key: "customer_id", Value: 1}}},
	{Keys: bson.D{{Key: "at", Value: 1}}},
}}

func purchaseDocOf(customer bson.ObjectID, p Purchase) purchaseDoc {
	return purchaseDoc{ID: customer.Hex() + "/" + p.Key, CustomerID: customer, Purchase: p}
}

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
	if _, err := s.Get(ctx, id); err != nil {
		return false, err
	}
	if _, err := store.InsertNew(ctx, s.purchases, []any{purchaseDocOf(id, p)}); err != nil {
		return false, fmt.Errorf("add purchase: %w", err)
	}
	res, err := s.customers.UpdateOne(ctx,
		bson.M{"_id": id, "purchases.key": bson.M{"$ne": p.Key}},
		bson.M{"$push": bson.M{"purchases": p}, "$set": bson.M{"updated_at": s.now()}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("add purchase: %w", err)
	}
	if res.MatchedCount == 0 {
		return false, nil // already recorded
	}
	return true, s.EvaluateStage(ctx, id)
}

// BuyersOf lists, a page at a time, the customers who bought a product: those after the
// given ID, in ID order, at most limit.
func (s *Service) BuyersOf(ctx context.Context, product, after bson.ObjectID, limit int) ([]bson.ObjectID, error) {
	filter := bson.M{"product_id": product}
	if !after.IsZero() {
		filter["customer_id"] = bson.M{"$gt": after}
	}
	// A customer who bought it twice comes twice: ask for a little more, keep each once.
	list, err := store.FindAll[purchaseDoc](ctx, s.purchases, filter, options.Find().
		SetSort(bson.D{{Key: "product_id", Value: 1}, {Key: "customer_id", Value: 1}}).SetLimit(int64(2*limit)).
		SetProjection(bson.M{"customer_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("buyers: %w", err)
	}
	var out []bson.ObjectID
	for _, p := range list {
		if len(out) == limit {
			break
		}
		if len(out) == 0 || out[len(out)-1] != p.CustomerID {
			out = append(out, p.CustomerID)
		}
	}
	return out, nil
}

// syncPurchases stores the purchases of a customer's record that have no document of
// their own (recorded before "purchases" existed, or by a write that stopped half-way).
func (s *Service) syncPurchases(ctx context.Context, id bson.ObjectID) error {
	c, err := store.FindOne[Customer](ctx, s.customers, bson.M{"_id": id}, ErrNotFound,
		options.FindOne().SetProjection(bson.M{"purchases": 1}))
	if err != nil {
		return err
	}
	docs := make([]any, len(c.Purchases))
	for i, p := range c.Purchases {
		docs[i] = purchaseDocOf(c.ID, p)
	}
	_, err = store.InsertNew(ctx, s.purchases, docs)
	return err
}
