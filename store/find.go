package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
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
