package customers

import (
	"context"
	"fmt"
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
	{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: 1}}}, // a customer's purchases
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
	Key string    `bson:"key" json:"-"`
	At  time.Time `bson:"at" json:"at"`
	// Amount is in the minor units of Currency (cents, or whole rupiah), never a float.
	Amount   int64  `bson:"amount_minor" json:"amount"`
	Currency string `bson:"currency,omitempty" json:"currency"`
	// LegacyAmount is the amount in main units that purchases had before currencies; the
	// repair turns it into Amount in the portal's currency.
	LegacyAmount float64 `bson:"amount,omitempty" json:"-"`
}

// HasPurchased reports whether the customer bought the product.
func (c *Customer) HasPurchased(product bson.ObjectID) bool {
	return slices.ContainsFunc(c.Purchases, func(p Purchase) bool { return p.ProductID == product })
}

// Currency is the portal's currency: every purchase is recorded in it, so a customer's value
// is one sum.
func (s *Service) Currency() string { return s.currency }

// SetCurrency sets the portal's currency (an ISO 4217 code).
func (s *Service) SetCurrency(code string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	if _, ok := MinorDigits(code); !ok {
		return fmt.Errorf("currency %q is not an ISO 4217 code", code)
	}
	s.currency = code
	return nil
}

// AddPurchase records a purchase once per order and product: a retried call, a repeated
// import or a demo restart changes nothing. The purchases collection, keyed by customer and
// purchase, is the guard; the record's list and value are rebuilt from it. It reports
// whether the purchase was new.
func (s *Service) AddPurchase(ctx context.Context, id bson.ObjectID, p Purchase) (bool, error) {
	var f errs.Fields
	if p.ProductID.IsZero() {
		f.Add("product_id", "field.required")
	}
	switch {
	case p.Amount < 0:
		f.Add("amount", "field.not_negative")
	case p.Amount > maxAmount:
		f.Add("amount", "field.amount")
	}
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.Currency == "" {
		p.Currency = s.currency
	}
	if p.Currency != s.currency {
		f.Add("currency", "field.currency", "Currency", s.currency)
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
	p.keyed()
	p.LegacyAmount = 0
	c, err := s.Get(ctx, id)
	if err != nil {
		return false, err
	}
	if _, err := store.InsertNew(ctx, s.purchases, []any{purchaseDocOf(id, p)}); err != nil {
		return false, fmt.Errorf("add purchase: %w", err)
	}
	// Rebuilt even when the purchase was there: a first try that stopped after its insert is
	// finished by the retry, which also reports it new, so that what follows a new purchase
	// (its review request, idempotent) happens.
	if err := s.rebuildPurchases(ctx, id); err != nil {
		return false, err
	}
	added := !slices.ContainsFunc(c.Purchases, func(q Purchase) bool { return q.Key == p.Key })
	return added, s.EvaluateStage(ctx, id)
}

// maxAmount bounds an amount (in minor units) far above any purchase, so sums stay exact.
const maxAmount = 1e15

// keyed fills in the order reference, when the shop gave none, and the key.
func (p *Purchase) keyed() {
	if p.OrderID == "" {
		// Without the shop's reference, the same product on the same day is the same purchase.
		p.OrderID = p.ProductID.Hex() + "@" + p.At.UTC().Format("2006-01-02")
	}
	p.Key = p.OrderID + "/" + p.ProductID.Hex()
}

// rebuildPurchases copies a customer's purchases, in date order, onto the record with their
// value. The write is guarded by the record's version, so two purchases recorded at once
// cannot leave one out.
func (s *Service) rebuildPurchases(ctx context.Context, id bson.ObjectID) error {
	for range 20 {
		c, err := store.FindOne[Customer](ctx, s.customers, bson.M{"_id": id}, ErrNotFound,
			options.FindOne().SetProjection(bson.M{"version": 1, "purchases": 1, "value": 1}))
		if err != nil {
			return err
		}
		list, err := s.PurchasesOf(ctx, id)
		if err != nil {
			return err
		}
		value := valueOf(list, s.currency)
		if sameBSON(c.Purchases, list) && sameBSON(c.Value, value) {
			return nil // the copy is right already: the daily repair of most members
		}
		res, err := s.customers.UpdateOne(ctx, bson.M{"_id": id, "version": c.Version},
			bson.M{"$set": bson.M{"purchases": list, "value": value, "updated_at": s.now()}, "$inc": bson.M{"version": 1}})
		if err != nil {
			return fmt.Errorf("purchases: %w", err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
	}
	return fmt.Errorf("purchases: too much contention on customer %s", id.Hex())
}

// PurchasesOf lists a customer's purchases, oldest first.
func (s *Service) PurchasesOf(ctx context.Context, id bson.ObjectID) ([]Purchase, error) {
	docs, err := store.FindAll[purchaseDoc](ctx, s.purchases, bson.M{"customer_id": id},
		options.Find().SetSort(bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("purchases: %w", err)
	}
	list := make([]Purchase, len(docs))
	for i, d := range docs {
		list[i] = d.Purchase
	}
	return list, nil
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

// insertMissing inserts those of docs whose _id is not stored yet: the record's copy of its
// purchases is mostly stored already, and an insert refused as a duplicate is still a write.
func (s *Service) insertMissing(ctx context.Context, docs []purchaseDoc) error {
	if len(docs) == 0 {
		return nil
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	stored, err := store.FindAll[struct {
		ID string `bson:"_id"`
	}](ctx, s.purchases, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return fmt.Errorf("purchases: %w", err)
	}
	have := map[string]bool{}
	for _, d := range stored {
		have[d.ID] = true
	}
	var missing []any
	for _, d := range docs {
		if !have[d.ID] {
			missing = append(missing, d)
		}
	}
	_, err = store.InsertNew(ctx, s.purchases, missing)
	return err
}

// repairPurchases gives the purchases on a customer's record that have no document of their
// own one (recorded before "purchases" existed, or by a write that stopped half-way), in
// the portal's currency if they had none, then rebuilds the record from the documents:
// which also drops a purchase the record held twice.
func (s *Service) repairPurchases(ctx context.Context, id bson.ObjectID) error {
	c, err := store.FindOne[Customer](ctx, s.customers, bson.M{"_id": id}, ErrNotFound,
		options.FindOne().SetProjection(bson.M{"purchases": 1, "value": 1}))
	if err != nil {
		return err
	}
	docs := make([]purchaseDoc, len(c.Purchases))
	for i, p := range c.Purchases {
		if p.Key == "" { // recorded before purchases had keys
			p.keyed()
		}
		if p.Currency == "" {
			p.Currency, p.Amount = s.currency, Minor(p.LegacyAmount, s.currency)
		}
		p.LegacyAmount = 0
		docs[i] = purchaseDocOf(c.ID, p)
	}
	if err := s.insertMissing(ctx, docs); err != nil {
		return err
	}
	// Documents stored without a key, under "<customer>/", were given one just above.
	if _, err := s.purchases.DeleteMany(ctx, bson.M{"customer_id": id, "key": ""}); err != nil {
		return fmt.Errorf("purchases: %w", err)
	}
	// Documents of the old shape, in main units, are rewritten the same way.
	old, err := store.FindAll[purchaseDoc](ctx, s.purchases, bson.M{"customer_id": id, "currency": bson.M{"$exists": false}})
	if err != nil {
		return fmt.Errorf("purchases: %w", err)
	}
	for _, d := range old {
		if _, err := s.purchases.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{
			"$set":   bson.M{"currency": s.currency, "amount_minor": Minor(d.LegacyAmount, s.currency)},
			"$unset": bson.M{"amount": ""}}); err != nil {
			return fmt.Errorf("purchases: %w", err)
		}
	}
	return s.rebuildPurchases(ctx, id)
}
