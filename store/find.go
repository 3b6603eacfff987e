package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// FindOne decodes the one document matching filter, or returns notFound (a domain error the
// caller chose) when there is none. Other failures are wrapped with the collection's name.
func FindOne[T any](ctx context.Context, coll *mongo.Collection, filter any, notFound error, opts ...options.Lister[options.FindOneOptions]) (*T, error) {
	var v T
	err := coll.FindOne(ctx, filter, opts...).Decode(&v)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	return &v, nil
}

// FindAll decodes every document matching filter (mind the limit in opts). Failures are
// wrapped with the collection's name.
func FindAll[T any](ctx context.Context, coll *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]*T, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	list := []*T{} // an empty list, never nil: JSON answers [] rather than null
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	return list, nil
}

// Marked says which of ids a customer has a document for in coll, a collection of one
// document per customer per item (likes, votes): {customer_id, <field>: item}. One query.
func Marked(ctx context.Context, coll *mongo.Collection, customer bson.ObjectID, field string, ids []bson.ObjectID) (map[bson.ObjectID]bool, error) {
	out := map[bson.ObjectID]bool{}
	if customer.IsZero() || len(ids) == 0 {
		return out, nil
	}
	rows, err := FindAll[bson.M](ctx, coll, bson.M{"customer_id": customer, field: bson.M{"$in": ids}},
		options.Find().SetProjection(bson.M{field: 1}))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if id, ok := (*r)[field].(bson.ObjectID); ok {
			out[id] = true
		}
	}
	return out, nil
}

// SetMark sets or clears one customer's mark on an item (a like, a vote) in a collection
// with a unique index on key: on inserts doc, off deletes the document matching key. It says
// how a count of the marks moves: +1, -1, or 0 when nothing changed (a retry), so a
// counter moved by it stays exact.
func SetMark(ctx context.Context, coll *mongo.Collection, key bson.M, doc any, on bool) (int, error) {
	if on {
		_, err := coll.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("mark in %s: %w", coll.Name(), err)
		}
		return 1, nil
	}
	res, err := coll.DeleteOne(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("unmark in %s: %w", coll.Name(), err)
	}
	return -int(res.DeletedCount), nil
}

// InsertNew inserts documents, skipping those a unique index already holds, and says how
// many were inserted: what a counter of them may add.
func InsertNew(ctx context.Context, coll *mongo.Collection, docs []any) (int, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return len(docs), nil
	}
	var bulk mongo.BulkWriteException
	if errors.As(err, &bulk) && bulk.WriteConcernError == nil {
		for _, we := range bulk.WriteErrors {
			if we.Code != 11000 {
				return 0, fmt.Errorf("insert into %s: %w", coll.Name(), err)
			}
		}
		return len(docs) - len(bulk.WriteErrors), nil
	}
	if mongo.IsDuplicateKeyError(err) && len(docs) == 1 {
		return 0, nil
	}
	return 0, fmt.Errorf("insert into %s: %w", coll.Name(), err)
}

// Unavailable reports whether err means the database could not be reached, did not answer
// in time, or cannot store anything now (CannotWrite): the request may succeed if tried
// again (503), unlike a failure of the request.
func Unavailable(err error) bool {
	return err != nil && (mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.Is(err, context.DeadlineExceeded) || CannotWrite(err))
}

// FollowUp runs the steps that follow a write already stored — counters, records, signals.
// The write stands whatever they do: failing the request now would make its retry store
// the content twice. A failure is logged and reported (false), so that the write's
// in-flight mark stays and the repair puts its counters right.
func FollowUp(ctx context.Context, what string, steps ...func() error) bool {
	ok := true
	for _, step := range steps {
		if err := step(); err != nil {
			ok = false
			slog.Default().WarnContext(ctx, "a step after a stored write failed; the repair job will correct it", "write", what, "err", err)
		}
	}
	return ok
}
