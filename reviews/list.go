package reviews

import (
	"context"
	"fmt"
	"time"

	"github.com/guyub/guyub/store"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Sort orders of a product's reviews.
const (
	SortHelpful = "helpful"
	SortNewest  = "newest"
	SortHighest = "highest"
	SortLowest  = "lowest"
)

// Sorts lists the orders, the default first.
var Sorts = []string{SortHelpful, SortNewest, SortHighest, SortLowest}

// Query selects a page of a product's published reviews.
type Query struct {
	ProductID    bson.ObjectID
	Sort         string
	Stars        int // 1–5 to show only that rating; 0 for all
	VerifiedOnly bool
	WithPhotos   bool
	After        string
	Limit        int
}

// Page is one page of reviews and the cursor of the next, "" on the last.
type Page struct {
	Reviews []*Review
	Next    string
}

// sortKey is the field a sort orders by before _id (newest first breaks every tie).
func sortKey(sort string) (field string, dir int) {
	switch sort {
	case SortNewest:
		return "", 0
	case SortHighest:
		return "rating", -1
	case SortLowest:
		return "rating", 1
	default:
		return "helpful_yes", -1
	}
}

// cursor encodes the last review of a page: its sort value and ID.
func cursor(r *Review, field string) string {
	v := 0
	switch field {
	case "rating":
		v = r.Rating
	case "helpful_yes":
		v = r.HelpfulYes
	}
	return encodeCursor(v, r.ID)
}

func encodeCursor(v int, id bson.ObjectID) string { return store.EncodeCursor(int64(v), id) }

func parseCursor(c string) (int, bson.ObjectID, bool) {
	v, id, ok := store.ParseCursor(c)
	return int(v), id, ok
}

// Reviews lists a product's published reviews, a page at a time by key: the next page
// starts after the last review of this one, so reviews arriving in between neither repeat
// nor go missing.
func (s *Service) Reviews(ctx context.Context, q Query) (*Page, error) {
	limit := store.Limit(q.Limit, 10, 50)
	field, dir := sortKey(q.Sort)
	filter := bson.M{"product_id": q.ProductID, "status": StatusPublished}
	if q.Stars >= 1 && q.Stars <= 5 {
		filter["rating"] = q.Stars
	}
	if q.VerifiedOnly {
		filter["verified"] = true
	}
	if q.WithPhotos {
		filter["has_photos"] = true
	}
	if q.After != "" {
		v, id, ok := parseCursor(q.After)
		if !ok {
			return nil, fmt.Errorf("reviews: bad cursor: %w", ErrBadCursor)
		}
		if field == "" {
			filter["_id"] = bson.M{"$lt": id}
		} else {
			op := "$lt"
			if dir > 0 {
				op = "$gt"
			}
			after := bson.A{bson.M{field: bson.M{op: v}}, bson.M{field: v, "_id": bson.M{"$lt": id}}}
			if q.Stars > 0 && field == "rating" {
				after = bson.A{bson.M{"_id": bson.M{"$lt": id}}} // one rating: only _id orders
			}
			filter["$or"] = after
		}
	}
	sort := bson.D{{Key: "_id", Value: -1}}
	if field != "" {
		sort = bson.D{{Key: field, Value: dir}, {Key: "_id", Value: -1}}
	}
	cur, err := s.reviews.Find(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit+1)).
		SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	list := []*Review{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	page := &Page{Reviews: list}
	if len(list) > limit {
		page.Reviews = list[:limit]
		page.Next = cursor(list[limit-1], field)
	}
	return page, nil
}

// ReviewsByAuthor lists a customer's reviews, newest first, written before a time (zero:
// any), for their profile and record.
func (s *Service) ReviewsByAuthor(ctx context.Context, author bson.ObjectID, before time.Time, limit int) ([]*Review, map[bson.ObjectID]*Product, error) {
	filter := bson.M{"author_id": author, "status": bson.M{"$ne": StatusDeleted}}
	if !before.IsZero() {
		filter["_id"] = bson.M{"$lt": bson.NewObjectIDFromTimestamp(before)}
	}
	cur, err := s.reviews.Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(store.Limit(limit, 20, 100))).
			SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, nil, fmt.Errorf("reviews by author: %w", err)
	}
	list := []*Review{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, nil, fmt.Errorf("reviews by author: %w", err)
	}
	ids := make([]bson.ObjectID, 0, len(list))
	for _, r := range list {
		ids = append(ids, r.ProductID)
	}
	products, err := s.ProductsByID(ctx, ids)
	return list, products, err
}

// Latest lists the newest published reviews of any product, with their products (for the
// home page).
func (s *Service) Latest(ctx context.Context, limit int) ([]*Review, map[bson.ObjectID]*Product, error) {
	cur, err := s.reviews.Find(ctx, bson.M{"status": StatusPublished}, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(store.Limit(limit, 3, 20))).SetProjection(bson.M{"history": 0}))
	if err != nil {
		return nil, nil, fmt.Errorf("latest reviews: %w", err)
	}
	list := []*Review{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, nil, fmt.Errorf("latest reviews: %w", err)
	}
	ids := make([]bson.ObjectID, len(list))
	for i, r := range list {
		ids[i] = r.ProductID
	}
	products, err := s.ProductsByID(ctx, ids)
	return list, products, err
}
