package reviews

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
)

// RepairReport says what repair found wrong and put right.
type RepairReport struct {
	Products, ProductsFixed int
	Reviews, ReviewsFixed   int
}

// Repair recomputes every denormalised count from the raw documents: each product's
// rating summary from its published reviews, each review's helpful counts from its votes.
// It reads in batches and writes only what differs.
func (s *Service) Repair(ctx context.Context) (RepairReport, error) {
	var rep RepairReport
	// Products made before they were searchable have never been indexed: they are now.
	if _, err := s.products.UpdateMany(ctx, bson.M{"search_dirty": bson.M{"$exists": false}}, bson.M{"$set": bson.M{"search_dirty": true}}); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	// Published ratings per product, and what each review should count.
	summaries := map[bson.ObjectID]*RatingSummary{}
	cur, err := s.reviews.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{
		"product_id": 1, "rating": 1, "status": 1, "counted_rating": 1, "helpful_yes": 1, "helpful_no": 1}))
	if err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	type row struct {
		ID            bson.ObjectID `bson:"_id"`
		ProductID     bson.ObjectID `bson:"product_id"`
		Rating        int           `bson:"rating"`
		Status        Status        `bson:"status"`
		CountedRating int           `bson:"counted_rating"`
		HelpfulYes    int           `bson:"helpful_yes"`
		HelpfulNo     int           `bson:"helpful_no"`
	}
	defer cur.Close(ctx)
	votes, err := s.voteCounts(ctx)
	if err != nil {
		return rep, err
	}
	// Streamed: memory grows with the number of products, not of reviews.
	for cur.Next(ctx) {
		var r row
		if err := cur.Decode(&r); err != nil {
			return rep, fmt.Errorf("repair: %w", err)
		}
		rep.Reviews++
		want := 0
		if r.Status == StatusPublished {
			want = r.Rating
			sum := summaries[r.ProductID]
			if sum == nil {
				sum = &RatingSummary{}
				summaries[r.ProductID] = sum
			}
			sum.Count++
			sum.Sum += r.Rating
			sum.Hist[r.Rating-1]++
		}
		v := votes[r.ID]
		if want != r.CountedRating || v[0] != r.HelpfulYes || v[1] != r.HelpfulNo {
			rep.ReviewsFixed++
			_, err := s.reviews.UpdateOne(ctx, bson.M{"_id": r.ID},
				bson.M{"$set": bson.M{"counted_rating": want, "helpful_yes": v[0], "helpful_no": v[1]}})
			if err != nil {
				return rep, fmt.Errorf("repair review: %w", err)
			}
		}
	}
	if err := cur.Err(); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	pcur, err := s.products.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"rating": 1}))
	if err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	var products []Product
	if err := pcur.All(ctx, &products); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	for _, p := range products {
		rep.Products++
		want := RatingSummary{}
		if sum := summaries[p.ID]; sum != nil {
			want = *sum
		}
		if want != p.Rating {
			rep.ProductsFixed++
			if _, err := s.products.UpdateOne(ctx, bson.M{"_id": p.ID}, bson.M{"$set": bson.M{"rating": want}}); err != nil {
				return rep, fmt.Errorf("repair product: %w", err)
			}
		}
	}
	return rep, nil
}

// voteCounts counts helpful and unhelpful votes per review with one aggregation.
func (s *Service) voteCounts(ctx context.Context) (map[bson.ObjectID][2]int, error) {
	cur, err := s.votes.Aggregate(ctx, bson.A{
		bson.M{"$group": bson.M{"_id": bson.M{"review": "$review_id", "helpful": "$helpful"}, "n": bson.M{"$sum": 1}}},
	})
	if err != nil {
		return nil, fmt.Errorf("repair votes: %w", err)
	}
	var groups []struct {
		ID struct {
			Review  bson.ObjectID `bson:"review"`
			Helpful bool          `bson:"helpful"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, fmt.Errorf("repair votes: %w", err)
	}
	out := map[bson.ObjectID][2]int{}
	for _, g := range groups {
		c := out[g.ID.Review]
		if g.ID.Helpful {
			c[0] = g.N
		} else {
			c[1] = g.N
		}
		out[g.ID.Review] = c
	}
	return out, nil
}

// What a write in flight (store.InFlight) can leave half done here, by mark kind: a
// product's rating summary, named by the product; a review's helpful counts, by the review.
const (
	markRating  = "rating"
	markHelpful = "helpful"
)

// RepairMarked recounts what the marks handled name (all on one target, of one kind):
// the counter is recomputed from the raw documents and stored only if no other write on
// the target is in flight and the counter has not moved since it was read. It reports
// whether it is done; if not, the marks stay for the next run.
func (s *Service) RepairMarked(ctx context.Context, kind string, target bson.ObjectID, handled []store.Mark) (bool, error) {
	switch kind {
	case markRating:
		return s.recountRating(ctx, target, handled)
	case markHelpful:
		return s.recountHelpful(ctx, target, handled)
	}
	return true, nil // not ours
}

// recountRating puts a product's rating summary right, with its reviews' counted ratings.
func (s *Service) recountRating(ctx context.Context, id bson.ObjectID, handled []store.Mark) (bool, error) {
	var before Product
	err := s.products.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"rating": 1})).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("recount rating: %w", err)
	}
	list, err := store.FindAll[Review](ctx, s.reviews, bson.M{"product_id": id},
		options.Find().SetProjection(bson.M{"rating": 1, "status": 1, "counted_rating": 1}))
	if err != nil {
		return false, err
	}
	var sum RatingSummary
	var recount []*Review
	for _, r := range list {
		want := 0
		if r.Status == StatusPublished {
			want = r.Rating
			sum.Count++
			sum.Sum += r.Rating
			sum.Hist[r.Rating-1]++
		}
		if want != r.CountedRating {
			recount = append(recount, r)
		}
	}
	if busy, err := s.inFlight.Busy(ctx, markRating, id, handled); busy || err != nil {
		return false, err
	}
	for _, r := range recount {
		want := 0
		if r.Status == StatusPublished {
			want = r.Rating
		}
		if _, err := s.reviews.UpdateOne(ctx, bson.M{"_id": r.ID, "counted_rating": r.CountedRating, "rating": r.Rating, "status": r.Status},
			bson.M{"$set": bson.M{"counted_rating": want}}); err != nil {
			return false, fmt.Errorf("recount rating: %w", err)
		}
	}
	res, err := s.products.UpdateOne(ctx, bson.M{"_id": id, "rating.count": before.Rating.Count, "rating.sum": before.Rating.Sum},
		bson.M{"$set": bson.M{"rating": sum, "search_dirty": true}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("recount rating: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// recountHelpful puts a review's helpful counts right.
func (s *Service) recountHelpful(ctx context.Context, id bson.ObjectID, handled []store.Mark) (bool, error) {
	var before Review
	err := s.reviews.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"helpful_yes": 1, "helpful_no": 1})).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("recount helpful: %w", err)
	}
	yes, err := s.votes.CountDocuments(ctx, bson.M{"review_id": id, "helpful": true})
	if err != nil {
		return false, fmt.Errorf("recount helpful: %w", err)
	}
	no, err := s.votes.CountDocuments(ctx, bson.M{"review_id": id, "helpful": false})
	if err != nil {
		return false, fmt.Errorf("recount helpful: %w", err)
	}
	if busy, err := s.inFlight.Busy(ctx, markHelpful, id, handled); busy || err != nil {
		return false, err
	}
	res, err := s.reviews.UpdateOne(ctx, bson.M{"_id": id, "helpful_yes": before.HelpfulYes, "helpful_no": before.HelpfulNo},
		bson.M{"$set": bson.M{"helpful_yes": int(yes), "helpful_no": int(no)}})
	if err != nil {
		return false, fmt.Errorf("recount helpful: %w", err)
	}
	return res.MatchedCount == 1, nil
}
