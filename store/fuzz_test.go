package store_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/store"
)

// A cursor from a client is read or refused, never a panic; one we made reads back the same.
func FuzzParseCursor(f *testing.F) {
	f.Add("MTIzLjZiMGQzYTEyODczZDIzOTE3NmUwMGM2Yw", int64(123))
	f.Add("", int64(-1))
	f.Add("!!!", int64(1<<62))
	f.Fuzz(func(t *testing.T, c string, v int64) {
		_, _, _ = store.ParseCursor(c)
		id := bson.NewObjectID()
		got, gotID, ok := store.ParseCursor(store.EncodeCursor(v, id))
		if !ok || got != v || gotID != id {
			t.Fatalf("EncodeCursor(%d, %s) reads back as %d %s %v", v, id.Hex(), got, gotID.Hex(), ok)
		}
	})
}
