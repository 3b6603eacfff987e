package reviews

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
