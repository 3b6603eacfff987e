package reviews

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Damage helpers for repair tests: they write what a crash between two writes could leave.

func corruptRatingOf(t *testing.T, s *Service, slug string) {
	t.Helper()
	if _, err := s.products.UpdateOne(context.Background(), bson.M{"slug": slug},
		bson.M{"$set": bson.M{"rating": RatingSummary{Count: 99, Sum: 1, Hist: [5]int{9, 9, 9, 9, 9}}}}); err != nil {
		t.Fatal(err)
	}
}

func corruptHelpfulOf(t *testing.T, s *Service, id bson.ObjectID) {
	t.Helper()
	if _, err := s.reviews.UpdateOne(context.Background(), bson.M{"_id": id},
		bson.M{"$set": bson.M{"helpful_yes": 42, "helpful_no": 7}}); err != nil {
		t.Fatal(err)
	}
}

// asBeforeSearch makes a product look as products were before they were searchable.
func asBeforeSearch(t *testing.T, s *Service, slug string) {
	t.Helper()
	if _, err := s.products.UpdateOne(context.Background(), bson.M{"slug": slug}, bson.M{"$unset": bson.M{"search_dirty": ""}}); err != nil {
		t.Fatal(err)
	}
}

// Exported for the external test package.
var (
	AsBeforeSearch   = asBeforeSearch
	CorruptRatingOf  = corruptRatingOf
	CorruptHelpfulOf = corruptHelpfulOf
)
