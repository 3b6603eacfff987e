package reviews

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/store"
)

// Status of a review: the status every kind of user content has.
type Status = content.Status

const (
	StatusPending   = content.StatusPending
	StatusPublished = content.StatusPublished
	StatusHidden    = content.StatusHidden
	StatusDeleted   = content.StatusDeleted
)

// Review is one customer's rating and opinion of one product.
type Review struct {
	ID         bson.ObjectID `bson:"_id" json:"id"`
	ProductID  bson.ObjectID `bson:"product_id" json:"product_id"`
	AuthorID   bson.ObjectID `bson:"author_id" json:"author_id"`
	Rating     int           `bson:"rating" json:"rating"`
	Title      string        `bson:"title" json:"title"`
	BodyMD     string        `bson:"body_md" json:"body"`
	BodyHTML   template.HTML `bson:"body_html" json:"body_html"`
	Pros       string        `bson:"pros,omitempty" json:"pros,omitempty"`
	Cons       string        `bson:"cons,omitempty" json:"cons,omitempty"`
	Lang       string        `bson:"lang,omitempty" json:"lang,omitempty"`
	Verified   bool          `bson:"verified" json:"verified_purchase"`
	HelpfulYes int           `bson:"helpful_yes" json:"helpful_yes"`
	HelpfulNo  int           `bson:"helpful_no" json:"helpful_no"`
	Reply      *Reply        `bson:"reply,omitempty" json:"brand_reply,omitempty"`
	Photos     []media.Photo `bson:"photos,omitempty" json:"photos,omitempty"`
	HasPhotos  bool          `bson:"has_photos,omitempty" json:"-"` // for the "with photos" filter's index
	Status     Status        `bson:"status" json:"status"`
	// ModerationReason tells the author why a moderator hid the review.
	ModerationReason string     `bson:"moderation_reason,omitempty" json:"-"`
	History          []Revision `bson:"history,omitempty" json:"-"`
	EditedAt         *time.Time `bson:"edited_at,omitempty" json:"edited_at,omitempty"`
	// CountedRating is the rating this review adds to its product's summary now (0: none).
	// Moving it is what guards the summary against counting a retry twice.
	CountedRating int       `bson:"counted_rating" json:"-"`
	CreatedAt     time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bson:"updated_at" json:"updated_at"`
	Version       int       `bson:"version" json:"-"`
	SearchDirty   bool      `bson:"search_dirty" json:"-"`
}

// Revision is an earlier version of an edited review.
type Revision struct {
	Rating int           `bson:"rating"`
	Title  string        `bson:"title"`
	BodyMD string        `bson:"body_md"`
	Pros   string        `bson:"pros,omitempty"`
	Cons   string        `bson:"cons,omitempty"`
	Photos []media.Photo `bson:"photos,omitempty"`
	At     time.Time     `bson:"at"`
}

// Reply is the company's answer under a review.
type Reply struct {
	BodyMD   string        `bson:"body_md" json:"body"`
	BodyHTML template.HTML `bson:"body_html" json:"body_html"`
	AuthorID bson.ObjectID `bson:"author_id" json:"-"`
	At       time.Time     `bson:"at" json:"at"`
}

// Input is the review form and the API's review.
type Input struct {
	Rating int    `form:"rating" json:"rating"`
	Title  string `form:"title" json:"title"`
	Body   string `form:"body" json:"body"`
	Pros   string `form:"pros" json:"pros"`
	Cons   string `form:"cons" json:"cons"`
	Lang   string `form:"-" json:"lang"`
	// Photos are the review's pictures, stored already by media.Service.Save; nil on an
	// edit keeps the ones it has. The API names them by key (PhotoKeys), looked up by the
	// handler.
	Photos    []media.Photo `form:"-" json:"-"`
	PhotoKeys []string      `form:"-" json:"photos,omitempty"`
}

// Limits of a review.
const (
	MaxTitle   = 120
	MaxBody    = 5000
	MaxProsCon = 500
)

// Validate checks a review.
func (in *Input) Validate() error {
	var f errs.Fields
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	in.Pros, in.Cons = strings.TrimSpace(in.Pros), strings.TrimSpace(in.Cons)
	if in.Rating < 1 || in.Rating > 5 {
		f.Add("rating", "review.rating_range")
	}
	if utf8.RuneCountInString(in.Title) > MaxTitle {
		f.Add("title", "field.too_long", "Max", MaxTitle)
	}
	switch n := utf8.RuneCountInString(in.Body); {
	case n == 0:
		f.Add("body", "review.body_required")
	case n > MaxBody:
		f.Add("body", "field.too_long", "Max", MaxBody)
	}
	if utf8.RuneCountInString(in.Pros) > MaxProsCon {
		f.Add("pros", "field.too_long", "Max", MaxProsCon)
	}
	if utf8.RuneCountInString(in.Cons) > MaxProsCon {
		f.Add("cons", "field.too_long", "Max", MaxProsCon)
	}
	if len(in.Photos) > media.MaxPerReview {
		f.Add("photos", "media.too_many", "Max", media.MaxPerReview)
	}
	return f.Err()
}

// Errors of reviewing.
var (
	ErrReviewNotFound = errs.New(errs.ErrNotFound, "review.not_found")
	ErrNotAuthor      = errs.New(errs.ErrForbidden, "review.not_author")
	ErrEditConflict   = errs.New(errs.ErrConflict, "review.edit_conflict")
)

// Create publishes a customer's review of a product. A second review of the same product
// is refused by the unique index, with a link to the first; a review the author deleted
// is written over (its old text stays in the history).
func (s *Service) Create(ctx context.Context, author *customers.Customer, productSlug string, in Input) (_ *Review, err error) {
	if author.IsSuspended() {
		return nil, errs.New(errs.ErrSuspended, "account.suspended", "Reason", author.Suspension.Reason)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p, err := s.Product(ctx, productSlug)
	if err != nil {
		return nil, err
	}
	if p.Archived {
		return nil, ErrProductArchived
	}
	// A member whose record says they reviewed this product is answered from that review
	// with nothing written; the unique index below still guards a record out of date.
	if slices.Contains(author.ReviewedProducts, p.ID) {
		existing, err := s.findReview(ctx, bson.M{"product_id": p.ID, "author_id": author.ID})
		if err == nil {
			return s.again(ctx, existing, author.ID, in)
		}
		if !errors.Is(err, ErrReviewNotFound) {
			return nil, err
		}
	}
	now := content.Now(ctx, s.now)
	imported, _ := content.ImportedFrom(ctx)
	r := &Review{
		ID: bson.NewObjectID(), ProductID: p.ID, AuthorID: author.ID, Rating: in.Rating, Title: in.Title,
		BodyMD: in.Body, BodyHTML: s.md.HTML(in.Body), Pros: in.Pros, Cons: in.Cons, Lang: in.Lang,
		Photos: in.Photos, HasPhotos: len(in.Photos) > 0, Verified: author.HasPurchased(p.ID) || imported.Verified, Status: StatusPublished,
		CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true,
	}
	sub := submission(r.ID, author.ID, p.ID, in)
	verdict, err := s.screen.Screen(ctx, sub)
	if err != nil {
		return nil, err
	}
	r.Status = verdict.Status
	end, err := s.inFlight.Begin(ctx, markRating, p.ID)
	if err != nil {
		return nil, err
	}
	followed := true // the follow-ups too: else the mark stays for the repair
	defer func() { end(err == nil && followed) }()
	_, err = s.reviews.InsertOne(ctx, r)
	if mongo.IsDuplicateKeyError(err) {
		existing, ferr := s.findReview(ctx, bson.M{"product_id": p.ID, "author_id": author.ID})
		if ferr != nil {
			return nil, ferr
		}
		return s.again(ctx, existing, author.ID, in)
	}
	if err != nil {
		return nil, fmt.Errorf("create review: %w", err)
	}
	followed = store.FollowUp(ctx, "create review",
		func() error { return s.reviewed(ctx, author.ID, p.ID) },
		func() error { return s.screen.Record(ctx, sub, verdict) },
		func() error { return s.syncRating(ctx, r.ID, r) },
		func() error {
			if s.signals == nil {
				return nil
			}
			return s.signals.Contributed(ctx, author.ID, "reviews", p.ID)
		})
	return r, nil
}

// submission is a review as moderation screens it.
func submission(id, author, product bson.ObjectID, in Input) content.Submission {
	sub := content.Submission{
		Ref: content.Ref{Kind: content.KindReview, ID: id}, Author: author, ProductID: product,
		Text: strings.Join([]string{in.Title, in.Body, in.Pros, in.Cons}, "\n"),
		Parts: []content.Part{{Label: "moderation.part.title", Text: in.Title}, {Label: "moderation.part.body", Text: in.Body},
			{Label: "moderation.part.pros", Text: in.Pros}, {Label: "moderation.part.cons", Text: in.Cons}},
	}
	for _, p := range in.Photos {
		sub.Photos = append(sub.Photos, p.ThumbURL())
	}
	return sub
}

// Update edits a review, keeping the earlier version in its history: its author may, and so
// may a moderator (editing from the queue).
func (s *Service) Update(ctx context.Context, editor *customers.Customer, id bson.ObjectID, in Input) (*Review, error) {
	if editor.IsSuspended() {
		return nil, errs.New(errs.ErrSuspended, "account.suspended", "Reason", editor.Suspension.Reason)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r, err := s.Review(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.AuthorID != editor.ID && !editor.HasRole(customers.RoleModerator) {
		return nil, ErrNotAuthor
	}
	if r.Status == StatusDeleted {
		return nil, ErrReviewNotFound
	}
	return s.revise(ctx, r, editor.ID, in)
}

// revise writes new text over a review, guarded by its version so that two edits at once
// cannot silently overwrite each other. The new text is screened again: an author's edit
// can be held for a moderator; a moderator's edit is not; a hidden review stays hidden.
func (s *Service) revise(ctx context.Context, r *Review, editor bson.ObjectID, in Input) (_ *Review, err error) {
	sub := submission(r.ID, r.AuthorID, r.ProductID, in)
	status := r.Status
	verdict := content.Verdict{Status: StatusPublished}
	if editor == r.AuthorID {
		var err error
		if verdict, err = s.screen.Screen(ctx, sub); err != nil {
			return nil, err
		}
		switch {
		case r.Status == StatusDeleted && r.ModerationReason != "":
			// Hidden by a moderator, then deleted and written again: a moderator looks again.
			status, verdict.Status = StatusPending, StatusPending
			verdict.Reasons = append(verdict.Reasons, content.Reason{Rule: "previously_hidden"})
		case r.Status == StatusDeleted: // written again after deleting
			status = verdict.Status
		case r.Status == StatusPublished && verdict.Status == StatusPending:
			status = StatusPending
		}
	}
	end, err := s.inFlight.Begin(ctx, markRating, r.ProductID)
	if err != nil {
		return nil, err
	}
	defer func() { end(err == nil) }()
	now := s.now()
	prev := Revision{Rating: r.Rating, Title: r.Title, BodyMD: r.BodyMD, Pros: r.Pros, Cons: r.Cons, Photos: r.Photos, At: r.UpdatedAt}
	set := bson.M{"rating": in.Rating, "title": in.Title, "body_md": in.Body, "body_html": s.md.HTML(in.Body),
		"pros": in.Pros, "cons": in.Cons, "status": status, "edited_at": now, "updated_at": now, "search_dirty": true}
	if in.Photos != nil {
		set["photos"], set["has_photos"] = in.Photos, len(in.Photos) > 0
	}
	var out Review
	err = s.reviews.FindOneAndUpdate(ctx, bson.M{"_id": r.ID, "version": r.Version}, bson.M{
		"$set":  set,
		"$push": bson.M{"history": prev},
		"$inc":  bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrEditConflict
	}
	if err != nil {
		return nil, fmt.Errorf("edit review: %w", err)
	}
	if status == StatusPending && r.Status != StatusPending {
		verdict.Status = StatusPending
	}
	if err := s.screen.Record(ctx, sub, verdict); err != nil {
		return nil, err
	}
	if err := s.syncRating(ctx, r.ID, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes a review from view: its author or staff may. Nothing is lost; the
// review's status becomes deleted.
func (s *Service) Delete(ctx context.Context, by *customers.Customer, id bson.ObjectID) error {
	r, err := s.Review(ctx, id)
	if err != nil {
		return err
	}
	if r.AuthorID != by.ID && !by.HasAnyRole(customers.RoleModerator) {
		return ErrNotAuthor
	}
	_, err = s.SetStatus(ctx, id, StatusDeleted, "")
	return err
}

// SetStatus moves a review between pending, published, hidden and deleted (moderation
// uses it, with the reason the author is shown); the product's summary and the author's
// signal follow. It returns the status before.
func (s *Service) SetStatus(ctx context.Context, id bson.ObjectID, status Status, reason string) (_ Status, err error) {
	r, err := s.Review(ctx, id)
	if err != nil {
		return "", err
	}
	end, err := s.inFlight.Begin(ctx, markRating, r.ProductID)
	if err != nil {
		return "", err
	}
	defer func() { end(err == nil) }()
	var before Review
	set := bson.M{"status": status, "updated_at": s.now(), "search_dirty": true}
	if reason != "" || status == StatusPublished {
		set["moderation_reason"] = reason // an author's own delete keeps a moderator's reason
	}
	err = s.reviews.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{
		"$set": set,
		"$inc": bson.M{"version": 1},
	}).Decode(&before) // FerretDB v1 takes no projection on findAndModify
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrReviewNotFound
	}
	if err != nil {
		return "", fmt.Errorf("review status: %w", err)
	}
	if err := s.syncTestimonial(ctx, id, status == StatusPublished); err != nil {
		return "", err
	}
	return before.Status, s.syncRating(ctx, id, nil)
}

// Describe is a review as moderation sees it.
func (s *Service) Describe(ctx context.Context, id bson.ObjectID) (content.Submission, content.Status, error) {
	r, err := s.Review(ctx, id)
	if err != nil {
		return content.Submission{}, "", err
	}
	in := Input{Title: r.Title, Body: r.BodyMD, Pros: r.Pros, Cons: r.Cons, Photos: r.Photos}
	return submission(r.ID, r.AuthorID, r.ProductID, in), r.Status, nil
}

// syncRating makes the product's rating summary agree with the review as stored: a
// published review counts its rating, any other counts nothing. The review's
// counted_rating moves first, guarded by its old value, and only the call that moved it
// changes the product, so a retry or a concurrent call cannot count twice. A crash between
// the two writes leaves a difference that repair removes. stored, if not nil, is the review
// as the caller has just written it: the first look is at it instead of a read (a guess
// the guarded write checks).
func (s *Service) syncRating(ctx context.Context, id bson.ObjectID, stored *Review) error {
	for range 5 {
		r := stored
		stored = nil // only the first look; a retry reads what is stored now
		if r == nil {
			var err error
			if r, err = s.Review(ctx, id); err != nil {
				return err
			}
		}
		want := 0
		if r.Status == StatusPublished {
			want = r.Rating
		}
		if want == r.CountedRating {
			return s.syncSignal(ctx, r, want)
		}
		res, err := s.reviews.UpdateOne(ctx,
			bson.M{"_id": id, "counted_rating": r.CountedRating, "rating": r.Rating, "status": r.Status},
			bson.M{"$set": bson.M{"counted_rating": want}})
		if err != nil {
			return fmt.Errorf("count rating: %w", err)
		}
		if res.ModifiedCount == 0 {
			continue // the review changed under us; look again
		}
		inc := ratingDelta(r.CountedRating, want)
		inc["version"] = 1 // its rating is in the search index
		if _, err := s.products.UpdateOne(ctx, bson.M{"_id": r.ProductID}, bson.M{"$inc": inc, "$set": bson.M{"search_dirty": true}}); err != nil {
			return fmt.Errorf("count rating: %w", err)
		}
		return s.syncSignal(ctx, r, want)
	}
	return ErrEditConflict
}

// ratingDelta is the $inc that moves a summary from counting rating from to rating to.
func ratingDelta(from, to int) bson.M {
	inc := bson.M{}
	add := func(key string, n int) {
		if v, ok := inc[key].(int); ok {
			n += v
		}
		inc[key] = n
	}
	if from > 0 {
		add("rating.count", -1)
		add("rating.sum", -from)
		add(fmt.Sprintf("rating.hist.%d", from-1), -1)
	}
	if to > 0 {
		add("rating.count", 1)
		add("rating.sum", to)
		add(fmt.Sprintf("rating.hist.%d", to-1), 1)
	}
	return inc
}

func (s *Service) syncSignal(ctx context.Context, r *Review, counted int) error {
	s.reward(ctx, content.Reward{Member: r.AuthorID, Cause: content.CauseReview, Ref: r.ID.Hex(), Product: r.ProductID, Lang: r.Lang}, counted > 0)
	if err := s.rewardVotes(ctx, r, counted > 0); err != nil {
		return err
	}
	if s.signals == nil {
		return nil
	}
	sig := customers.ReviewSignal(r.AuthorID, r.ID.Hex(), r.Rating, r.UpdatedAt)
	if counted == 0 {
		return s.signals.WithdrawSignal(ctx, sig.ID)
	}
	return s.signals.RecordSignal(ctx, sig)
}

// Review returns one review.
func (s *Service) Review(ctx context.Context, id bson.ObjectID) (*Review, error) {
	return s.findReview(ctx, bson.M{"_id": id})
}

// ReviewBy returns a customer's review of a product, if any (deleted ones included).
func (s *Service) ReviewBy(ctx context.Context, author, product bson.ObjectID) (*Review, error) {
	return s.findReview(ctx, bson.M{"product_id": product, "author_id": author})
}

// again answers a second review of a product: refused with a link to the first, or written
// over the first if its author deleted it.
func (s *Service) again(ctx context.Context, existing *Review, author bson.ObjectID, in Input) (*Review, error) {
	if existing.Status != StatusDeleted {
		return nil, &errs.Error{Kind: errs.ErrConflict, Message: errs.Message{ID: "review.exists"},
			Link: "/reviews/" + existing.ID.Hex() + "/edit"}
	}
	return s.revise(ctx, existing, author, in)
}

func (s *Service) findReview(ctx context.Context, filter bson.M) (*Review, error) {
	return store.FindOne[Review](ctx, s.reviews, filter, ErrReviewNotFound)
}

// ReplyInput is the brand reply form.
type ReplyInput struct {
	Body string `form:"body" json:"body"`
}

// SetReply writes (or rewrites) the company's reply under a review.
func (s *Service) SetReply(ctx context.Context, staff *customers.Customer, id bson.ObjectID, in ReplyInput) (*Review, error) {
	if !staff.HasAnyRole(customers.RoleProduct) {
		return nil, errs.New(errs.ErrForbidden, "review.reply_staff_only")
	}
	body := strings.TrimSpace(in.Body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return nil, errs.Field("body", "field.required")
	case n > 2000:
		return nil, errs.Field("body", "field.too_long", "Max", 2000)
	}
	reply := Reply{BodyMD: body, BodyHTML: s.md.HTML(body), AuthorID: staff.ID, At: s.now()}
	var out Review
	err := s.reviews.FindOneAndUpdate(ctx, bson.M{"_id": id, "status": StatusPublished}, bson.M{
		"$set": bson.M{"reply": reply, "updated_at": reply.At, "search_dirty": true}, "$inc": bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrReviewNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	return &out, nil
}

// RecordPurchase records that a customer bought a product, and marks their review of it,
// if any, as a verified purchase.
func (s *Service) RecordPurchase(ctx context.Context, customer bson.ObjectID, p customers.Purchase) (bool, error) {
	if _, err := s.ProductByID(ctx, p.ProductID); err != nil {
		return false, errs.Field("product_id", "product.not_found")
	}
	added, err := s.customers.AddPurchase(ctx, customer, p)
	if err != nil {
		return false, err
	}
	if p.OrderID != "" { // a purchase the shop told us of: verified
		s.reward(ctx, content.Reward{Member: customer, Cause: content.CausePurchase, Ref: customer.Hex() + ":" + p.OrderID, Product: p.ProductID}, true)
	}
	if added {
		if p.At.IsZero() {
			p.At = s.now()
		}
		store.FollowUp(ctx, "plan a review request", func() error { return s.planRequest(ctx, customer, p) })
	}
	_, err = s.reviews.UpdateOne(ctx, bson.M{"product_id": p.ProductID, "author_id": customer, "verified": false},
		bson.M{"$set": bson.M{"verified": true, "search_dirty": true}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("verify review: %w", err)
	}
	return added, nil
}

// DeleteAllBy deletes every review a member wrote, each through SetStatus, so that the
// products' ratings follow (their erasure, when they ask for their words to go).
func (s *Service) DeleteAllBy(ctx context.Context, member bson.ObjectID) error {
	// Their testimonials are withdrawn, as when they decline their consent.
	if _, err := s.testimonials.UpdateMany(ctx, bson.M{"author_id": member}, bson.M{"$set": bson.M{
		"status": TestimonialRejected, "reject_reason": "withdrawn with the account", "search_dirty": true}}); err != nil {
		return fmt.Errorf("withdraw testimonials: %w", err)
	}
	for {
		list, err := store.FindAll[Review](ctx, s.reviews, bson.M{"author_id": member, "status": bson.M{"$ne": StatusDeleted}},
			options.Find().SetProjection(bson.M{"_id": 1}).SetLimit(200))
		if err != nil || len(list) == 0 {
			return err
		}
		for _, r := range list {
			if _, err := s.SetStatus(ctx, r.ID, StatusDeleted, ""); err != nil {
				return err
			}
		}
	}
}
