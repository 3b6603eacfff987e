package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Leases let one instance of many do a job (the search sync, a daily job): the holder
// renews its lease while it works; if it dies, the lease expires and another takes over.
type Leases struct {
	coll *mongo.Collection
	now  func() time.Time
}

// NewLeases returns the leases on db.
func NewLeases(db *mongo.Database) *Leases {
	return &Leases{coll: db.Collection("leases"), now: func() time.Time { return time.Now().UTC() }}
}

// Acquire takes or renews the named lease for owner, for ttl. It reports whether owner
// holds it now. Only a free or expired lease, or one owner already holds, can be taken.
func (l *Leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	now := l.now()
	_, err := l.coll.UpdateOne(ctx,
		bson.M{"_id": name, "$or": bson.A{bson.M{"owner": owner}, bson.M{"expires_at": bson.M{"$lt": now}}}},
		bson.M{"$set": bson.M{"owner": owner, "expires_at": now.Add(ttl)}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil // held by another, not expired: the upsert's insert collided
	}
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return true, nil
}

// Release gives the lease up, if owner holds it.
func (l *Leases) Release(ctx context.Context, name, owner string) error {
	_, err := l.coll.DeleteOne(ctx, bson.M{"_id": name, "owner": owner})
	return err
}
