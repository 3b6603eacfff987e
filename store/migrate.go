package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// migrationState is where Migrate keeps its progress, in the target database, so that an
// interrupted run resumes and a finished one is not repeated.
const migrationState = "_guyub_migration"

// MigrationProgress is told how many documents have been copied of how many.
type MigrationProgress func(collection string, done, total int64)

// MigrationReport says what a migration did per collection.
type MigrationReport struct {
	Collections []CollectionReport
}

// CollectionReport is one collection's copy: documents and indexes in the source, documents
// written to the target by this run, and whether it was already complete.
type CollectionReport struct {
	Name     string
	Docs     int64
	Indexes  int
	Copied   int64
	Skipped  bool // a previous run copied it and source and target still agree
	Checksum uint64
}

type migrationDoc struct {
	ID       string `bson:"_id"` // the collection
	Done     bool   `bson:"done"`
	Docs     int64  `bson:"docs"`
	Checksum int64  `bson:"checksum"` // the uint64 checksum's bits: BSON has no unsigned integers
}

// Migrate copies every collection of src, its documents and its indexes, to dst: a batch at a
// time, each document written by _id (so a repeated write changes nothing), and verified at
// the end of each collection by the count and a checksum of its documents on both sides. It
// can be stopped at any point and run again: collections already copied and still equal are
// skipped, and the one in progress is copied again over itself. The source must not change
// while it runs (stop the portal first).
func Migrate(ctx context.Context, src, dst *mongo.Database, progress MigrationProgress) (*MigrationReport, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	names, err := src.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return nil, fmt.Errorf("migrate: list collections: %w", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == migrationState || strings.HasPrefix(n, "system.") })
	slices.Sort(names)
	state := dst.Collection(migrationState)
	rep := &MigrationReport{}
	for _, name := range names {
		cr, err := migrateCollection(ctx, src.Collection(name), dst.Collection(name), state, progress)
		if err != nil {
			return rep, fmt.Errorf("migrate %s: %w", name, err)
		}
		rep.Collections = append(rep.Collections, *cr)
	}
	return rep, nil
}

func migrateCollection(ctx context.Context, from, to, state *mongo.Collection, progress MigrationProgress) (*CollectionReport, error) {
	cr := &CollectionReport{Name: from.Name()}
	total, err := from.CountDocuments(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	cr.Docs = total
	if cr.Indexes, err = copyIndexes(ctx, from, to); err != nil {
		return nil, err
	}
	var prev migrationDoc
	if err := state.FindOne(ctx, bson.M{"_id": cr.Name}).Decode(&prev); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, err
	}
	if prev.Done && prev.Docs == total {
		sum, n, err := Checksum(ctx, from)
		if err != nil {
			return nil, err
		}
		if int64(sum) == prev.Checksum && n == total {
			if dstSum, dstN, err := Checksum(ctx, to); err == nil && dstSum == sum && dstN == n {
				cr.Skipped, cr.Checksum = true, sum
				progress(cr.Name, total, total)
				return cr, nil
			}
		}
	}
	if _, err := state.UpdateOne(ctx, bson.M{"_id": cr.Name}, bson.M{"$set": bson.M{"done": false}}, options.UpdateOne().SetUpsert(true)); err != nil {
		return nil, err
	}

	// Every document, in _id order, written over whatever the target holds under its _id.
	cur, err := from.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(1000))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var batch []mongo.WriteModel
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := to.BulkWrite(ctx, batch, options.BulkWrite().SetOrdered(false)); err != nil {
			return err
		}
		cr.Copied += int64(len(batch))
		progress(cr.Name, cr.Copied, total)
		batch = batch[:0]
		return nil
	}
	progress(cr.Name, 0, total)
	var sum uint64
	for cur.Next(ctx) {
		doc := bson.Raw(slices.Clone(cur.Current))
		sum += docHash(doc)
		batch = append(batch, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: doc.Lookup("_id")}}).
			SetReplacement(doc).SetUpsert(true))
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}

	// The target must now hold exactly the source's documents.
	dstSum, dstN, err := Checksum(ctx, to)
	if err != nil {
		return nil, err
	}
	if dstN != cr.Copied || dstSum != sum {
		return nil, fmt.Errorf("verification failed: %d documents read, the target holds %d (checksums %x and %x); "+
			"did something write to either database during the copy?", cr.Copied, dstN, sum, dstSum)
	}
	cr.Checksum = sum
	_, err = state.UpdateOne(ctx, bson.M{"_id": cr.Name}, bson.M{"$set": migrationDoc{ID: cr.Name, Done: true, Docs: cr.Copied, Checksum: int64(sum)}})
	return cr, err
}

// Checksum is an order-independent checksum of a collection's documents and their number.
func Checksum(ctx context.Context, coll *mongo.Collection) (sum uint64, n int64, err error) {
	cur, err := coll.Find(ctx, bson.M{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		sum += docHash(cur.Current)
		n++
	}
	return sum, n, cur.Err()
}

func docHash(doc bson.Raw) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(doc)
	return h.Sum64()
}

// copyIndexes creates on the target each index of the source but _id's, with its name, keys
// and uniqueness; one that exists already is left as it is.
func copyIndexes(ctx context.Context, from, to *mongo.Collection) (int, error) {
	cur, err := from.Indexes().List(ctx)
	if err != nil {
		return 0, err
	}
	var specs []struct {
		Name   string `bson:"name"`
		Key    bson.D `bson:"key"` // ordered: a compound index's fields in their order
		Unique bool   `bson:"unique"`
		Sparse bool   `bson:"sparse"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return 0, err
	}
	n := 0
	for _, spec := range specs {
		if spec.Name == "_id_" {
			continue
		}
		n++
		opts := options.Index().SetName(spec.Name)
		if spec.Unique {
			opts.SetUnique(true)
		}
		if spec.Sparse {
			opts.SetSparse(true)
		}
		if _, err := to.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: spec.Key, Options: opts}); err != nil {
			return n, fmt.Errorf("index %s: %w", spec.Name, err)
		}
	}
	return n, nil
}
