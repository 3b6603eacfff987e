package reviews

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/store"
)

// A review request asks a customer, some days after a purchase, to review what they bought:
// once, then one reminder, never once they have reviewed it.
type reviewRequest struct {
	ID         bson.ObjectID `bson:"_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	ProductID  bson.ObjectID `bson:"product_id"`
	State      string        `bson:"state"` // pending, reviewed, done (asked twice), skipped
	DueAt      time.Time     `bson:"due_at"`
	Sent       int           `bson:"sent"` // emails sent
}

// States of a review request.
const (
	requestPending  = "pending"
	requestReviewed = "reviewed"
	requestDone     = "done"
	requestSkipped  = "skipped"
)

// RequestKind is the email kind of review requests: what their one-click unsubscribe turns off.
const RequestKind = "review_request"

// DefaultRequestAfter is how long after a purchase its review is asked for, and again.
const DefaultRequestAfter = 14 * 24 * time.Hour

// Mailer queues a review request's email (mail.Outbox implements it).
type Mailer interface {
	Notice(ctx context.Context, to, lang, key, path, unsubscribe, what string, args ...any) error
}

// SetMailer lets the service ask for reviews by email, after days (DefaultRequestAfter if
// zero); unsubscribe gives the one-click link that stops them.
func (s *Service) SetMailer(m Mailer, after time.Duration, unsubscribe func(member bson.ObjectID, kind string) string) {
	if after <= 0 {
		after = DefaultRequestAfter
	}
	s.mailer, s.requestAfter, s.unsubscribe = m, after, unsubscribe
}

// planRequest schedules the review request of a new purchase (one per customer and
// product, whatever the number of purchases).
func (s *Service) planRequest(ctx context.Context, customer bson.ObjectID, p customers.Purchase) error {
	if s.mailer == nil {
		return nil
	}
	_, err := s.requests.InsertOne(ctx, reviewRequest{ID: bson.NewObjectID(), CustomerID: customer, ProductID: p.ProductID,
		State: requestPending, DueAt: p.At.Add(s.requestAfter)})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("plan review request: %w", err)
	}
	return nil
}

// reviewed closes a customer's request for a product: the review came.
func (s *Service) reviewed(ctx context.Context, customer, product bson.ObjectID) error {
	_, err := s.requests.UpdateOne(ctx, bson.M{"customer_id": customer, "product_id": product, "state": bson.M{"$ne": requestReviewed}},
		bson.M{"$set": bson.M{"state": requestReviewed}})
	if err != nil {
		return fmt.Errorf("review request: %w", err)
	}
	return nil
}

// SendReviewRequests emails the review requests that are due: to active customers (not
// staff) with a confirmed address who have not reviewed the product and did not turn these
// emails off.
// It is the review-request job.
func (s *Service) SendReviewRequests(ctx context.Context) error {
	if s.mailer == nil {
		return nil
	}
	for {
		due, err := store.FindAll[reviewRequest](ctx, s.requests, bson.M{"state": requestPending, "due_at": bson.M{"$lte": s.now()}},
			options.Find().SetSort(bson.D{{Key: "due_at", Value: 1}}).SetLimit(200))
		if err != nil || len(due) == 0 {
			return err
		}
		var people, products []bson.ObjectID
		for _, r := range due {
			people, products = append(people, r.CustomerID), append(products, r.ProductID)
		}
		who, err := s.customers.GetMany(ctx, people)
		if err != nil {
			return err
		}
		what, err := s.ProductsByID(ctx, products)
		if err != nil {
			return err
		}
		done, err := s.reviewedAmong(ctx, people)
		if err != nil {
			return err
		}
		for _, r := range due {
			set, err := s.sendRequest(ctx, r, who[r.CustomerID], what[r.ProductID], done[[2]bson.ObjectID{r.CustomerID, r.ProductID}])
			if err != nil {
				return err
			}
			if _, err := s.requests.UpdateOne(ctx, bson.M{"_id": r.ID, "state": requestPending, "sent": r.Sent}, bson.M{"$set": set}); err != nil {
				return fmt.Errorf("review request: %w", err)
			}
		}
	}
}

// reviewedAmong says which products some customers reviewed, by (customer, product), in
// one query.
func (s *Service) reviewedAmong(ctx context.Context, people []bson.ObjectID) (map[[2]bson.ObjectID]bool, error) {
	list, err := store.FindAll[Review](ctx, s.reviews, bson.M{"author_id": bson.M{"$in": people}},
		options.Find().SetProjection(bson.M{"author_id": 1, "product_id": 1}))
	if err != nil {
		return nil, err
	}
	out := make(map[[2]bson.ObjectID]bool, len(list))
	for _, r := range list {
		out[[2]bson.ObjectID{r.AuthorID, r.ProductID}] = true
	}
	return out, nil
}

// sendRequest asks for one review, or says why not; it returns the request's new fields.
func (s *Service) sendRequest(ctx context.Context, r *reviewRequest, c *customers.Customer, p *Product, reviewed bool) (bson.M, error) {
	// Staff are not asked to review the company's products.
	if c == nil || p == nil || c.Email == "" || !c.EmailVerified || c.IsSuspended() || c.IsStaff() || c.EmailPrefs[RequestKind] == customers.EmailOff {
		return bson.M{"state": requestSkipped}, nil
	}
	if reviewed {
		return bson.M{"state": requestReviewed}, nil
	}
	what := "review_request.first"
	if r.Sent > 0 {
		what = "review_request.again"
	}
	err := s.mailer.Notice(ctx, c.Email, c.Locale, fmt.Sprintf("review_request:%s:%d", r.ID.Hex(), r.Sent),
		"/products/"+p.Slug+"#write-heading", s.unsubscribe(c.ID, RequestKind), what, "Product", p.Name)
	if err != nil {
		return nil, err
	}
	if r.Sent+1 >= 2 {
		return bson.M{"state": requestDone, "sent": r.Sent + 1}, nil
	}
	return bson.M{"sent": r.Sent + 1, "due_at": s.now().Add(s.requestAfter)}, nil
}

// RequestStats says how many customers were asked to review a product, and how many of
// them did after being asked.
func (s *Service) RequestStats(ctx context.Context, product bson.ObjectID) (asked, reviewed int, err error) {
	n, err := s.requests.CountDocuments(ctx, bson.M{"product_id": product, "sent": bson.M{"$gt": 0}})
	if err != nil {
		return 0, 0, fmt.Errorf("review requests: %w", err)
	}
	m, err := s.requests.CountDocuments(ctx, bson.M{"product_id": product, "state": requestReviewed, "sent": bson.M{"$gt": 0}})
	if err != nil {
		return 0, 0, fmt.Errorf("review requests: %w", err)
	}
	return int(n), int(m), nil
}
