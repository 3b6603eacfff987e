package reviews

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// ErrBadCursor is a page cursor that was not made here.
var ErrBadCursor = errs.New(errs.ErrInvalid, "list.bad_cursor")

// HelpfulVote is one customer's answer to "was this review helpful?".
type HelpfulVote struct {
	ID         bson.ObjectID `bson:"_id"`
	ReviewID   bson.ObjectID `bson:"review_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	Helpful    bool          `bson:"helpful"`
	At         time.Time     `bson:"at"`
}

// ErrOwnReview: nobody votes on their own review.
var ErrOwnReview = errs.New(errs.ErrForbidden, "review.own_vote")

// Vote records whether a customer found a review helpful. One vote per customer per review
// (a unique index); voting again changes the vote. The counters move only when the vote
// document did, so retries count once.
func (s *Service) Vote(ctx context.Context, voter *customers.Customer, reviewID bson.ObjectID, helpful bool) (_ *Review, err error) {
	r, err := s.Review(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusPublished {
		return nil, ErrReviewNotFound
	}
	if r.AuthorID == voter.ID {
		return nil, ErrOwnReview
	}
	end, err := s.inFlight.Begin(ctx, markHelpful, reviewID)
	if err != nil {
		return nil, err
	}
	defer func() { end(err == nil) }()
	vote := HelpfulVote{ID: bson.NewObjectID(), ReviewID: reviewID, CustomerID: voter.ID, Helpful: helpful, At: s.now()}
	_, err = s.votes.InsertOne(ctx, vote)
	switch {
	case err == nil:
		if s.signals != nil {
			if err := s.signals.Contributed(ctx, voter.ID, "votes", bson.ObjectID{}); err != nil {
				return nil, err
			}
		}
		s.rewardVote(ctx, r, voter, helpful)
		return s.countVote(ctx, reviewID, bson.M{helpfulField(helpful): 1})
	case !mongo.IsDuplicateKeyError(err):
		return nil, fmt.Errorf("vote: %w", err)
	}
	var existing HelpfulVote
	if err := s.votes.FindOne(ctx, bson.M{"review_id": reviewID, "customer_id": voter.ID}).Decode(&existing); err != nil {
		return nil, fmt.Errorf("vote: %w", err)
	}
	if existing.Helpful == helpful {
		return r, nil
	}
	res, err := s.votes.UpdateOne(ctx, bson.M{"_id": existing.ID, "helpful": existing.Helpful},
		bson.M{"$set": bson.M{"helpful": helpful, "at": vote.At}})
	if err != nil {
		return nil, fmt.Errorf("vote: %w", err)
	}
	if res.ModifiedCount == 0 {
		return s.Review(ctx, reviewID) // a concurrent change of the same vote counted it
	}
	s.rewardVote(ctx, r, voter, helpful)
	return s.countVote(ctx, reviewID, bson.M{helpfulField(helpful): 1, helpfulField(!helpful): -1})
}

// rewardVote gives the review's author points for a helpful vote, and takes them back
// when the vote turns to "not helpful".
func (s *Service) rewardVote(ctx context.Context, r *Review, voter *customers.Customer, helpful bool) {
	s.reward(ctx, content.Reward{Member: r.AuthorID, Cause: content.CauseHelpful, Ref: r.ID.Hex() + ":" + voter.ID.Hex(),
		Actor: voter.ID, ActorSince: voter.CreatedAt, Product: r.ProductID}, helpful)
}

// rewardVotes keeps the points of a review's helpful votes in step with whether the review
// is shown: hidden or deleted, they earn nothing; shown again, they earn again.
func (s *Service) rewardVotes(ctx context.Context, r *Review, shown bool) error {
	if s.rewarder == nil || r.HelpfulYes == 0 {
		return nil
	}
	votes, err := store.FindAll[HelpfulVote](ctx, s.votes, bson.M{"review_id": r.ID, "helpful": true})
	if err != nil {
		return err
	}
	for _, v := range votes {
		s.reward(ctx, content.Reward{Member: r.AuthorID, Cause: content.CauseHelpful, Ref: r.ID.Hex() + ":" + v.CustomerID.Hex(),
			Actor: v.CustomerID, Product: r.ProductID}, shown)
	}
	return nil
}

func helpfulField(helpful bool) string {
	if helpful {
		return "helpful_yes"
	}
	return "helpful_no"
}

func (s *Service) countVote(ctx context.Context, id bson.ObjectID, inc bson.M) (*Review, error) {
	if _, err := s.reviews.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": inc}); err != nil {
		return nil, fmt.Errorf("count vote: %w", err)
	}
	return s.Review(ctx, id)
}

// VotesBy returns a customer's votes on some reviews, in one query (for showing a page).
func (s *Service) VotesBy(ctx context.Context, voter bson.ObjectID, reviews []*Review) (map[bson.ObjectID]bool, error) {
	out := map[bson.ObjectID]bool{}
	if len(reviews) == 0 || voter.IsZero() {
		return out, nil
	}
	ids := make([]bson.ObjectID, len(reviews))
	for i, r := range reviews {
		ids[i] = r.ID
	}
	cur, err := s.votes.Find(ctx, bson.M{"customer_id": voter, "review_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, fmt.Errorf("votes: %w", err)
	}
	list := []HelpfulVote{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("votes: %w", err)
	}
	for _, v := range list {
		out[v.ReviewID] = v.Helpful
	}
	return out, nil
}

// HelpfulVoteBy is one of a customer's helpful votes, with the review and product it was on.
type HelpfulVoteBy struct {
	HelpfulVote
	Review  *Review
	Product *Product
}

// HelpfulVotesBy lists a customer's helpful votes cast before a time (zero: any), newest
// first, with their reviews and products (three queries), for their record's timeline.
func (s *Service) HelpfulVotesBy(ctx context.Context, voter bson.ObjectID, before time.Time, limit int) ([]HelpfulVoteBy, error) {
	filter := bson.M{"customer_id": voter}
	if !before.IsZero() {
		filter["at"] = bson.M{"$lt": before}
	}
	votes, err := store.FindAll[HelpfulVote](ctx, s.votes, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).
		SetLimit(int64(store.Limit(limit, 20, 100))))
	if err != nil {
		return nil, err
	}
	ids := make([]bson.ObjectID, len(votes))
	for i, v := range votes {
		ids[i] = v.ReviewID
	}
	revs, err := store.FindAll[Review](ctx, s.reviews, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, err
	}
	byID := map[bson.ObjectID]*Review{}
	productIDs := make([]bson.ObjectID, 0, len(revs))
	for _, r := range revs {
		byID[r.ID] = r
		productIDs = append(productIDs, r.ProductID)
	}
	products, err := s.ProductsByID(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	out := make([]HelpfulVoteBy, 0, len(votes))
	for _, v := range votes {
		if r := byID[v.ReviewID]; r != nil {
			out = append(out, HelpfulVoteBy{HelpfulVote: *v, Review: r, Product: products[r.ProductID]})
		}
	}
	return out, nil
}
