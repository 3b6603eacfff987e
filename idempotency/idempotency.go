// Package idempotency remembers the answers to API writes sent with an Idempotency-Key, so a
// client that retries after a lost answer (a timeout, a dropped connection, a 5xx) gets the
// first answer again instead of a second review or thread. It owns the idempotency_keys
// collection; entries live a day and are purged by a job (FerretDB v1 has no TTL index).
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/store"
)

const collection = "idempotency_keys"

// Lifetime is how long an answer is kept for retries.
const Lifetime = 24 * time.Hour

// staleAfter is how long a request may stay in flight before its key is free again: past
// every request deadline, so its process has died or given up.
const staleAfter = 2 * time.Minute

// Indexes lets Purge find expired entries without a scan.
var Indexes = store.Indexes{Collection: collection, Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "expires_at", Value: 1}}},
	{Keys: bson.D{{Key: "caller", Value: 1}}}, // an erased member's answers
}}

// Errors a caller answers with.
var (
	ErrInFlight = errors.New("a request with this Idempotency-Key is still being answered")
	ErrReused   = errors.New("this Idempotency-Key was used for a different request")
)

// Answer is a stored response.
type Answer struct {
	Status      int    `bson:"status"`
	ContentType string `bson:"content_type"`
	Location    string `bson:"location,omitempty"`
	Body        []byte `bson:"body"`
}

type entry struct {
	ID          string    `bson:"_id"`
	Caller      string    `bson:"caller,omitempty"` // so that an erased member's answers can be found
	Fingerprint string    `bson:"fingerprint"`
	Done        bool      `bson:"done"`
	Answer      *Answer   `bson:"answer,omitempty"`
	StartedAt   time.Time `bson:"started_at"`
	ExpiresAt   time.Time `bson:"expires_at"`
}

// Keys stores the answers.
type Keys struct {
	coll *mongo.Collection
	now  func() time.Time
}

// New returns the keys on db.
func New(db *mongo.Database) *Keys {
	return &Keys{coll: db.Collection(collection), now: func() time.Time { return time.Now().UTC() }}
}

// Request names one request: who sent it and with which key, and what it asked.
type Request struct {
	Caller string // the caller's account or token: keys are per caller
	Key    string
	Method string
	Path   string // with the query
	Body   []byte
}

func (r Request) id() string {
	sum := sha256.Sum256([]byte(r.Caller + "\x00" + r.Key))
	return hex.EncodeToString(sum[:])
}

func (r Request) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\x00", r.Method, r.Path)
	h.Write(r.Body)
	return hex.EncodeToString(h.Sum(nil))
}

// Begin claims the key for r. It returns the stored answer if r was answered before (the
// caller replays it), nil if r is to run now (then Finish or Abandon), ErrInFlight while the
// first request still runs, or ErrReused if the key came with another request.
func (k *Keys) Begin(ctx context.Context, r Request) (*Answer, error) {
	now := k.now()
	e := entry{ID: r.id(), Caller: r.Caller, Fingerprint: r.fingerprint(), StartedAt: now, ExpiresAt: now.Add(Lifetime)}
	var prev entry
	for try := 0; ; try++ {
		_, err := k.coll.InsertOne(ctx, e)
		if err == nil {
			return nil, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, fmt.Errorf("idempotency key: %w", err)
		}
		err = k.coll.FindOne(ctx, bson.M{"_id": e.ID}).Decode(&prev)
		if err == nil {
			break
		}
		if !errors.Is(err, mongo.ErrNoDocuments) || try > 0 {
			return nil, fmt.Errorf("idempotency key: %w", err)
		}
		// Abandoned or purged between the two: claim it again.
	}
	switch {
	case prev.Fingerprint != e.Fingerprint:
		return nil, ErrReused
	case prev.Done:
		return prev.Answer, nil
	case now.Sub(prev.StartedAt) < staleAfter:
		return nil, ErrInFlight
	}
	// The first try died unanswered (its process crashed): this one runs instead.
	res, err := k.coll.UpdateOne(ctx, bson.M{"_id": e.ID, "done": false, "started_at": prev.StartedAt},
		bson.M{"$set": bson.M{"started_at": now, "expires_at": e.ExpiresAt}})
	if err != nil {
		return nil, fmt.Errorf("idempotency key: %w", err)
	}
	if res.ModifiedCount == 0 {
		return nil, ErrInFlight // another retry took it first
	}
	return nil, nil
}

// Finish stores the answer to r, for its retries.
func (k *Keys) Finish(ctx context.Context, r Request, a Answer) error {
	_, err := k.coll.UpdateOne(ctx, bson.M{"_id": r.id()}, bson.M{"$set": bson.M{"done": true, "answer": a}})
	return err
}

// Abandon frees the key of a request that was refused before it did anything (the database
// was unavailable), so a retry runs it.
func (k *Keys) Abandon(ctx context.Context, r Request) error {
	_, err := k.coll.DeleteOne(ctx, bson.M{"_id": r.id(), "done": false})
	return err
}

// Purge removes the entries past their lifetime.
func (k *Keys) Purge(ctx context.Context) error {
	_, err := k.coll.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": k.now()}})
	return err
}

// Forget removes the answers kept for a caller (an erased member).
func (k *Keys) Forget(ctx context.Context, caller string) error {
	if _, err := k.coll.DeleteMany(ctx, bson.M{"caller": caller}); err != nil {
		return fmt.Errorf("forget idempotency keys: %w", err)
	}
	return nil
}
