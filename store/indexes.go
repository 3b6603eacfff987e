package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Indexes declares the indexes of one collection. Each package declares its own, next to the
// queries that use them, and applies them at start with EnsureIndexes.
type Indexes struct {
	Collection string
	Models     []mongo.IndexModel
	// Retired names indexes an earlier version declared and this one does not: each costs
	// every write to the collection, so EnsureIndexes drops them where they remain.
	Retired []string
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
		for _, name := range set.Retired {
			var cmdErr mongo.CommandError
			if err := db.Collection(set.Collection).Indexes().DropOne(ctx, name); err != nil &&
				!(errors.As(err, &cmdErr) && (cmdErr.Code == indexNotFound || cmdErr.Code == namespaceNotFound)) {
				return fmt.Errorf("retired index %s on %s: %w", name, set.Collection, err)
			}
		}
	}
	return nil
}

// Codes of the errors that say a retired index is gone already.
const (
	namespaceNotFound = 26
	indexNotFound     = 27
)
