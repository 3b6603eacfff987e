package store_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store/storetest"
)

// The embedded server stores documents as JSON with a schema and reads them back with a
// decoder of this project's (third_party/ferretdb, sjson/fast.go). Every value must come
// back exactly as it went in.
func TestEmbedded_DocumentsComeBackExactly(t *testing.T) {
	ctx := context.Background()
	coll := storetest.DB(t).Collection("roundtrip")
	at := time.Date(2026, 11, 30, 7, 1, 2, 345_000_000, time.UTC)
	docs := []bson.D{
		{{Key: "_id", Value: "plain"}, {Key: "s", Value: "Kopi enak, pengiriman cepat"}, {Key: "n", Value: int32(-7)},
			{Key: "l", Value: int64(math.MaxInt64)}, {Key: "f", Value: 0.1}, {Key: "big", Value: 1e21},
			{Key: "t", Value: true}, {Key: "no", Value: false}, {Key: "at", Value: bson.NewDateTimeFromTime(at)},
			{Key: "old", Value: bson.NewDateTimeFromTime(time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC))},
			{Key: "id", Value: bson.NewObjectID()}, {Key: "null", Value: nil}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "escapes", Value: "quote \" backslash \\ slash / <b>&amp;</b> tab\tnewline\n\u0001"},
			{Key: "unicode", Value: "Bahasa Indonesia — “mantul” 🙂 日本語 \u2028"}, {Key: "empty", Value: ""}},
		{{Key: "_id", Value: "nested"}, {Key: "sub", Value: bson.D{{Key: "a", Value: int32(1)}, {Key: "b \"q\"", Value: bson.D{{Key: "c", Value: bson.A{}}}}}},
			{Key: "list", Value: bson.A{int32(1), "two", 3.5, nil, bson.D{{Key: "x", Value: bson.A{true, false}}}}},
			{Key: "emptyDoc", Value: bson.D{}}},
		{{Key: "_id", Value: "rare"}, {Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{0, 1, 2, 255}}},
			{Key: "re", Value: bson.Regex{Pattern: "^kopi", Options: "i"}}, {Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}},
	}
	for _, d := range docs {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
		id := d[0].Value
		var got bson.D
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
			t.Fatal(err)
		}
		want, _ := bson.Marshal(d)
		have, _ := bson.Marshal(got)
		if !bytes.Equal(want, have) {
			t.Errorf("document %v changed:\nput %s\ngot %s", id, bson.Raw(want), bson.Raw(have))
		}
	}

	// A find of one field decodes only that one (and _id): every kind of value before and
	// after it is skipped.
	for _, d := range docs {
		for _, field := range d[1:] {
			var got bson.D
			err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: d[0].Value}}, options.FindOne().SetProjection(bson.D{{Key: field.Key, Value: 1}})).Decode(&got)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := bson.Marshal(bson.D{d[0], field})
			have, _ := bson.Marshal(got)
			if !bytes.Equal(want, have) {
				t.Errorf("document %v, field %s alone:\nwant %s\ngot  %s", d[0].Value, field.Key, bson.Raw(want), bson.Raw(have))
			}
		}
	}
}
