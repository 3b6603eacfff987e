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

// MarkIndexed clears the dirty flags of documents whose version is still the one indexed,
// in one round trip: the sync and reindex mark a batch at a time.
func MarkIndexed(ctx context.Context, coll *mongo.Collection, prefix string, done []Pending) error {
	if len(done) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(done))
	for _, p := range done {
		oid, err := bson.ObjectIDFromHex(strings.TrimPrefix(p.Doc.ID, prefix))
		if err != nil {
			return fmt.Errorf("mark indexed %s: %w", p.Doc.ID, err)
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": oid, "version": p.Version}).
			SetUpdate(bson.M{"$set": bson.M{"search_dirty": false}}))
	}
	if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("mark indexed in %s: %w", coll.Name(), err)
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
