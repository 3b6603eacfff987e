package store_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/store"
)

func TestCursor_RoundTripAndGarbage(t *testing.T) {
	id := bson.NewObjectID()
	for _, v := range []int64{0, -3, 1732550000123} {
		got, gotID, ok := store.ParseCursor(store.EncodeCursor(v, id))
		if !ok || got != v || gotID != id {
			t.Errorf("round trip of %d: %d %v %v", v, got, gotID, ok)
		}
	}
	for _, bad := range []string{"", "!!", "bm9kb3Q", store.EncodeCursor(1, id)[:10]} {
		if _, _, ok := store.ParseCursor(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
