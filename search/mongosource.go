package search

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Helpers for sources whose content lives in MongoDB with the _id, version and
// search_dirty fields of ARCHITECTURE §3; a document's index ID is "<kind>-<hex _id>".

// MarkIndexed clears the dirty flag of a document if its version is still the one indexed.
func MarkIndexed(ctx context.Context, coll *mongo.Collection, prefix, id string, version int) error {
	oid, err := bson.ObjectIDFromHex(strings.TrimPrefix(id, prefix))
	if err != nil {
		return fmt.Errorf("mark indexed %s: %w", id, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.M{"_id": oid, "version": version}, bson.M{"$set": bson.M{"search_dirty": false}}); err != nil {
		return fmt.Errorf("mark indexed %s: %w", id, err)
	}
	return nil
}

// InBatches walks a collection by _id, a batch at a time.
func InBatches(ctx context.Context, size int, filter bson.M, find func(context.Context, bson.M, *options.FindOptionsBuilder) ([]Pending, error), fn func([]Pending) error) error {
	var after bson.ObjectID
	for {
		f := bson.M{}
		for k, v := range filter {
			f[k] = v
		}
		if !after.IsZero() {
			f["_id"] = bson.M{"$gt": after}
		}
		batch, err := find(ctx, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(size)))
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := fn(batch); err != nil {
			return err
		}
		last := batch[len(batch)-1].Doc.ID
		if after, err = bson.ObjectIDFromHex(last[strings.LastIndex(last, "-")+1:]); err != nil {
			return err
		}
		if len(batch) < size {
			return nil
		}
	}
}
