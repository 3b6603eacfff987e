package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Indexes declares the indexes of one collection. Each package declares its own, next to the
// queries that use them, and applies them at start with EnsureIndexes.
type Indexes struct {
	Collection string
	Models     []mongo.IndexModel
}

// EnsureIndexes creates the declared indexes. Creating an index that exists with the same
// keys and options is a no-op, so this is safe on every start and from every instance.
// Indexes are created one by one: FerretDB v1 crashes the connection when one
// createIndexes command names two or more indexes that already exist.
func EnsureIndexes(ctx context.Context, db *mongo.Database, sets ...Indexes) error {
	for _, set := range sets {
		for _, model := range set.Models {
			if _, err := db.Collection(set.Collection).Indexes().CreateOne(ctx, model); err != nil {
				return fmt.Errorf("indexes on %s: %w", set.Collection, err)
			}
		}
	}
	return nil
}
