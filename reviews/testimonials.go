package reviews

import (
	"context"
	"errors"
	"fmt"
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

// TestimonialStatus is where a testimonial stands with the moderators.
type TestimonialStatus string

const (
	TestimonialPending  TestimonialStatus = "pending"
	TestimonialApproved TestimonialStatus = "approved"
	TestimonialFeatured TestimonialStatus = "featured"
	TestimonialRejected TestimonialStatus = "rejected"
)

// Testimonial is a customer's story the company may show, with the customer's permission.
type Testimonial struct {
	ID           bson.ObjectID     `bson:"_id" json:"id"`
	AuthorID     bson.ObjectID     `bson:"author_id" json:"-"`
	Quote        string            `bson:"quote" json:"quote"`
	ProductID    *bson.ObjectID    `bson:"product_id,omitempty" json:"-"`
	ConsentAt    *time.Time        `bson:"consent_at,omitempty" json:"-"`
	Status       TestimonialStatus `bson:"status" json:"status"`
	RejectReason string            `bson:"reject_reason,omitempty" json:"-"`
	FromReviewID *bson.ObjectID    `bson:"from_review_id,omitempty" json:"-"`
	// Rank orders the wall: 2 featured, 1 approved with consent, 0 not shown.
	Rank        int       `bson:"rank" json:"-"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at" json:"-"`
	Version     int       `bson:"version" json:"-"`
	SearchDirty bool      `bson:"search_dirty" json:"-"`
}

// rankOf says where a testimonial stands on the wall; nothing shows without consent.
func rankOf(status TestimonialStatus, consent *time.Time) int {
	switch {
	case consent == nil:
		return 0
	case status == TestimonialFeatured:
		return 2
	case status == TestimonialApproved:
		return 1
	}
	return 0
}

// TestimonialInput is the form a customer fills in.
type TestimonialInput struct {
	Quote   string `form:"quote" json:"quote"`
	Product string `form:"product" json:"product"` // slug, optional
	Consent bool   `form:"consent" json:"consent"`
}

// Errors of testimonials.
var (
	ErrTestimonialNotFound = errs.New(errs.ErrNotFound, "testimonial.not_found")
	ErrNoConsent           = errs.New(errs.ErrConflict, "testimonial.no_consent")
)

// SubmitTestimonial stores a customer's testimonial for the moderators.
func (s *Service) SubmitTestimonial(ctx context.Context, author *customers.Customer, in TestimonialInput) (*Testimonial, error) {
	if author.IsSuspended() {
		return nil, errs.New(errs.ErrSuspended, "account.suspended", "Reason", author.Suspension.Reason)
	}
	var f errs.Fields
	quote := strings.TrimSpace(in.Quote)
	switch n := utf8.RuneCountInString(quote); {
	case n < 10:
		f.Add("quote", "testimonial.quote_short", "Min", 10)
	case n > 600:
		f.Add("quote", "field.too_long", "Max", 600)
	}
	if !in.Consent {
		f.Add("consent", "testimonial.consent_required")
	}
	var productID *bson.ObjectID
	if in.Product != "" {
		p, err := s.Product(ctx, in.Product)
		if err != nil {
			f.Add("product", "product.not_found")
		} else {
			productID = &p.ID
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	// Every testimonial waits for a moderator anyway; screening can still refuse a blocked word.
	id := bson.NewObjectID()
	if _, err := s.screen.Screen(ctx, content.Submission{Ref: content.Ref{Kind: content.KindTestimonial, ID: id},
		Author: author.ID, Text: quote}); err != nil {
		var fields *errs.Fields
		if errors.As(err, &fields) && len(fields.Order) > 0 {
			m := fields.ByName[fields.Order[0]]
			return nil, errs.Field("quote", m.ID, m.Args...) // the rule's message, on this form's field
		}
		return nil, err
	}
	now := s.now()
	t := &Testimonial{ID: id, AuthorID: author.ID, Quote: quote, ProductID: productID, ConsentAt: &now,
		Status: TestimonialPending, CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	if _, err := s.testimonials.InsertOne(ctx, t); err != nil {
		return nil, fmt.Errorf("submit testimonial: %w", err)
	}
	return t, nil
}

// PromoteReview asks a 4- or 5-star review's author to let it be a testimonial. It is
// shown only after they consent; asking twice asks once.
func (s *Service) PromoteReview(ctx context.Context, staff *customers.Customer, reviewID bson.ObjectID) (*Testimonial, error) {
	if !staff.IsStaff() {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	r, err := s.Review(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusPublished || r.Rating < 4 {
		return nil, errs.New(errs.ErrConflict, "testimonial.promote_rating")
	}
	quote := r.BodyMD
	if runes := []rune(quote); len(runes) > 600 {
		quote = string(runes[:597]) + "…"
	}
	now := s.now()
	t := &Testimonial{ID: bson.NewObjectID(), AuthorID: r.AuthorID, Quote: quote, ProductID: &r.ProductID,
		Status: TestimonialPending, FromReviewID: &r.ID, CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	_, err = s.testimonials.InsertOne(ctx, t)
	if mongo.IsDuplicateKeyError(err) {
		return s.findTestimonial(ctx, bson.M{"from_review_id": r.ID})
	}
	if err != nil {
		return nil, fmt.Errorf("promote review: %w", err)
	}
	return t, nil
}

// AnswerConsent is the author's answer to a request to show their review as a testimonial.
// Staff asked for it, so allowing approves it.
func (s *Service) AnswerConsent(ctx context.Context, author *customers.Customer, id bson.ObjectID, allow bool) error {
	t, err := s.findTestimonial(ctx, bson.M{"_id": id, "author_id": author.ID})
	if err != nil {
		return err
	}
	if t.ConsentAt != nil || t.Status != TestimonialPending {
		return nil // answered already
	}
	now := s.now()
	set := bson.M{"updated_at": now, "search_dirty": true}
	if allow {
		set["consent_at"], set["status"], set["rank"] = now, TestimonialApproved, rankOf(TestimonialApproved, &now)
	} else {
		set["status"], set["reject_reason"] = TestimonialRejected, "declined by the author"
	}
	// Only an unanswered request is answered: a moderator's decision in between stands.
	_, err = s.testimonials.UpdateOne(ctx, bson.M{"_id": id, "consent_at": bson.M{"$exists": false}, "status": TestimonialPending},
		bson.M{"$set": set, "$inc": bson.M{"version": 1}})
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	return nil
}

// Decision is a moderator's verdict on a testimonial.
type Decision string

const (
	DecideApprove   Decision = "approve"
	DecideFeature   Decision = "feature"
	DecideUnfeature Decision = "unfeature"
	DecideReject    Decision = "reject"
)

// Decide approves, features or rejects a testimonial. Nothing without the author's
// consent can be shown; a rejection needs a reason the author sees.
func (s *Service) Decide(ctx context.Context, moderator *customers.Customer, id bson.ObjectID, d Decision, reason string) error {
	if !moderator.HasRole(customers.RoleModerator) {
		return errs.New(errs.ErrForbidden, "error.403.message")
	}
	t, err := s.findTestimonial(ctx, bson.M{"_id": id})
	if err != nil {
		return err
	}
	var status TestimonialStatus
	switch d {
	case DecideApprove, DecideUnfeature:
		status = TestimonialApproved
	case DecideFeature:
		status = TestimonialFeatured
	case DecideReject:
		status = TestimonialRejected
		if reason = strings.TrimSpace(reason); reason == "" {
			return errs.Field("reason", "field.required")
		}
	default:
		return errs.Field("decision", "field.choose_one")
	}
	if status != TestimonialRejected && t.ConsentAt == nil {
		return ErrNoConsent
	}
	_, err = s.testimonials.UpdateOne(ctx, bson.M{"_id": id}, bson.M{
		"$set": bson.M{"status": status, "rank": s.wallRank(ctx, t, status), "reject_reason": reason,
			"updated_at": s.now(), "search_dirty": true},
		"$inc": bson.M{"version": 1},
	})
	if err != nil {
		return fmt.Errorf("decide testimonial: %w", err)
	}
	product := bson.ObjectID{}
	if t.ProductID != nil {
		product = *t.ProductID
	}
	s.reward(ctx, content.Reward{Member: t.AuthorID, Cause: content.CauseTestimonial, Ref: t.ID.Hex(), Product: product},
		status == TestimonialFeatured)
	return nil
}

// Testimonial returns one testimonial.
func (s *Service) Testimonial(ctx context.Context, id bson.ObjectID) (*Testimonial, error) {
	return s.findTestimonial(ctx, bson.M{"_id": id})
}

func (s *Service) findTestimonial(ctx context.Context, filter bson.M) (*Testimonial, error) {
	return store.FindOne[Testimonial](ctx, s.testimonials, filter, ErrTestimonialNotFound)
}

// WallQuery selects shown testimonials.
type WallQuery struct {
	ProductID bson.ObjectID // zero: all products
	After     string        // cursor from the previous page
	Limit     int
}

// Wall lists the testimonials that may be shown (approved or featured, with consent),
// featured first, then newest, a page at a time by key.
func (s *Service) Wall(ctx context.Context, q WallQuery) ([]*Testimonial, string, error) {
	limit := store.Limit(q.Limit, 12, 50)
	filter := bson.M{"rank": bson.M{"$gte": 1}}
	if !q.ProductID.IsZero() {
		filter["product_id"] = q.ProductID
	}
	if q.After != "" {
		rank, id, ok := parseCursor(q.After)
		if !ok {
			return nil, "", ErrBadCursor
		}
		filter["$or"] = bson.A{bson.M{"rank": bson.M{"$lt": rank, "$gte": 1}}, bson.M{"rank": rank, "_id": bson.M{"$lt": id}}}
	}
	cur, err := s.testimonials.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "rank", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("wall: %w", err)
	}
	list := []*Testimonial{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, "", fmt.Errorf("wall: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = encodeCursor(last.Rank, last.ID)
	}
	return list, next, nil
}

// PendingCount is how many testimonials wait for a moderator.
func (s *Service) PendingCount(ctx context.Context) (int, error) {
	n, err := s.testimonials.CountDocuments(ctx, bson.M{"status": TestimonialPending})
	return int(n), err
}

// Pending lists testimonials waiting for a moderator, oldest first.
func (s *Service) Pending(ctx context.Context, limit int) ([]*Testimonial, error) {
	return s.testimonialList(ctx, bson.M{"status": TestimonialPending},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(store.Limit(limit, 50, 200))))
}

// TestimonialsBy lists a customer's testimonials, newest first: their own submissions and
// the requests to feature their reviews.
func (s *Service) TestimonialsBy(ctx context.Context, author bson.ObjectID, before ...time.Time) ([]*Testimonial, error) {
	filter := bson.M{"author_id": author}
	if len(before) > 0 && !before[0].IsZero() {
		filter["_id"] = bson.M{"$lt": bson.NewObjectIDFromTimestamp(before[0])}
	}
	return s.testimonialList(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(50))
}

func (s *Service) testimonialList(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]*Testimonial, error) {
	cur, err := s.testimonials.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("testimonials: %w", err)
	}
	list := []*Testimonial{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("testimonials: %w", err)
	}
	return list, nil
}

// TestimonialProducts loads the products a list of testimonials names, in one query.
func (s *Service) TestimonialProducts(ctx context.Context, list []*Testimonial) (map[bson.ObjectID]*Product, error) {
	var ids []bson.ObjectID
	for _, t := range list {
		if t.ProductID != nil {
			ids = append(ids, *t.ProductID)
		}
	}
	return s.ProductsByID(ctx, ids)
}

// wallRank is a testimonial's place on the wall; one made from a review shows only while
// that review is published.
func (s *Service) wallRank(ctx context.Context, t *Testimonial, status TestimonialStatus) int {
	if t.FromReviewID != nil {
		if r, err := s.Review(ctx, *t.FromReviewID); err != nil || r.Status != StatusPublished {
			return 0
		}
	}
	return rankOf(status, t.ConsentAt)
}

// syncTestimonial takes a testimonial made from a review off the wall while the review is
// not published (hidden, deleted, held), and puts it back when it is.
func (s *Service) syncTestimonial(ctx context.Context, reviewID bson.ObjectID, published bool) error {
	t, err := s.findTestimonial(ctx, bson.M{"from_review_id": reviewID})
	if errors.Is(err, ErrTestimonialNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rank := 0
	if published {
		rank = rankOf(t.Status, t.ConsentAt)
	}
	if rank == t.Rank {
		return nil
	}
	if _, err := s.testimonials.UpdateOne(ctx, bson.M{"_id": t.ID}, bson.M{"$set": bson.M{"rank": rank, "search_dirty": true}, "$inc": bson.M{"version": 1}}); err != nil {
		return fmt.Errorf("testimonial rank: %w", err)
	}
	return nil
}

// QuotedRatings are the stars of the reviews some testimonials were quoted from, by
// testimonial, in one query: a testimonial from a review shows its rating.
func (s *Service) QuotedRatings(ctx context.Context, list []*Testimonial) (map[bson.ObjectID]int, error) {
	byReview := map[bson.ObjectID]bson.ObjectID{}
	var ids []bson.ObjectID
	for _, t := range list {
		if t.FromReviewID != nil {
			byReview[*t.FromReviewID] = t.ID
			ids = append(ids, *t.FromReviewID)
		}
	}
	out := map[bson.ObjectID]int{}
	if len(ids) == 0 {
		return out, nil
	}
	revs, err := store.FindAll[Review](ctx, s.reviews, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"rating": 1}))
	if err != nil {
		return nil, fmt.Errorf("quoted ratings: %w", err)
	}
	for _, r := range revs {
		out[byReview[r.ID]] = r.Rating
	}
	return out, nil
}
