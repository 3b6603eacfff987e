// Package ratelimit counts requests in fixed windows stored in MongoDB, so that every
// instance of the web tier shares the same counters. It owns the rate_limits collection.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
)

const collection = "rate_limits"

// Indexes lets the purge find expired windows without a scan. (A TTL index would do this
// by itself on MongoDB, but FerretDB v1 has none, so Purge runs from a periodic job.)
var Indexes = store.Indexes{Collection: collection, Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "expires_at", Value: 1}}},
}}

// Limiter allows a number of events per key in each window.
type Limiter struct {
	coll *mongo.Collection
	now  func() time.Time
}

// New returns a limiter on db.
func New(db *mongo.Database) *Limiter {
	return &Limiter{coll: db.Collection(collection), now: time.Now}
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time // when the current window ends
}

// RetryAfter is how long a refused caller should wait.
func (d Decision) RetryAfter(now time.Time) time.Duration {
	if d.Allowed {
		return 0
	}
	return max(d.Reset.Sub(now), time.Second).Round(time.Second)
}

type window struct {
	Count int `bson:"n"`
}

// Allow counts one event for key and reports whether it is within limit per window.
// The count is one atomic upsert with $inc, so concurrent requests on any instance are
// counted exactly.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, per time.Duration) (Decision, error) {
	now := l.now().UTC()
	start := now.Truncate(per)
	reset := start.Add(per)
	id := key + "|" + strconv.FormatInt(start.Unix(), 10)
	update := bson.M{
		"$inc":         bson.M{"n": 1},
		"$setOnInsert": bson.M{"expires_at": reset, "created_at": now},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var w window
	err := l.coll.FindOneAndUpdate(ctx, bson.M{"_id": id}, update, opts).Decode(&w)
	if mongo.IsDuplicateKeyError(err) {
		// Two first requests raced to create the window; the loser's retry finds it.
		err = l.coll.FindOneAndUpdate(ctx, bson.M{"_id": id}, update, opts).Decode(&w)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return Decision{
		Allowed:   w.Count <= limit,
		Limit:     limit,
		Remaining: max(limit-w.Count, 0),
		Reset:     reset,
	}, nil
}

// Forget removes the windows of keys starting with each prefix (an erased member's): a range
// of _id each, so no scan.
func (l *Limiter) Forget(ctx context.Context, prefixes ...string) error {
	for _, p := range prefixes {
		if _, err := l.coll.DeleteMany(ctx, bson.M{"_id": bson.M{"$gte": p, "$lt": p + "\uffff"}}); err != nil {
			return fmt.Errorf("forget rate limits: %w", err)
		}
	}
	return nil
}

// Purge removes windows that have ended.
func (l *Limiter) Purge(ctx context.Context) (int64, error) {
	res, err := l.coll.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": l.now().UTC()}})
	if err != nil {
		return 0, fmt.Errorf("purge rate limits: %w", err)
	}
	return res.DeletedCount, nil
}
