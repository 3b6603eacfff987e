package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// FindOne decodes the one document matching filter, or returns notFound (a domain error the
// caller chose) when there is none. Other failures are wrapped with the collection's name.
func FindOne[T any](ctx context.Context, coll *mongo.Collection, filter any, notFound error) (*T, error) {
	var v T
	err := coll.FindOne(ctx, filter).Decode(&v)
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
	var list []*T
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
