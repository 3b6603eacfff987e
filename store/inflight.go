package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// InFlight marks what a write of several steps is about to change, for as long as it
// runs: a reply is a post, then its parent's reply count; a vote is a vote, then the
// idea's tally. A mark is written before the first step and deleted after the last, so a
// crash in between leaves the mark behind, and the repair recounts just what it names
// (Stale) instead of rescanning every collection. Marks exist only while writes run, so
// the collection stays a handful of documents, read whole.
type InFlight struct {
	coll  *mongo.Collection
	owner string
	now   func() time.Time

	mu      sync.Mutex
	ended   []bson.ObjectID // marks whose writes are done, deleted together soon
	begun   []*begun        // marks waiting to be written together
	writing bool            // a writer of begun marks is at work
}

// begun is a mark waiting to be written, and where its writer says how that went.
type begun struct {
	mark Mark
	done chan error
}

// errLead hands the writing of the begun marks to the one it is sent to.
var errLead = errors.New("write the begun marks")

// endBatch is how long ended marks wait to be deleted together: one delete for many writes
// instead of one each (a mark left a little longer only makes the repair wait for it).
const endBatch = 100 * time.Millisecond

// Mark is one write in flight: the kind of thing whose counters it changes and which one.
type Mark struct {
	ID     bson.ObjectID `bson:"_id"`
	Kind   string        `bson:"kind"`
	Target bson.ObjectID `bson:"target"`
	Owner  string        `bson:"owner"`
	At     time.Time     `bson:"at"`
}

// InFlightIndexes serve Busy: the marks on one target.
var InFlightIndexes = Indexes{Collection: "in_flight", Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "target", Value: 1}}},
}}

// ProcessOwner names this process for marks and leases: one NewOwner per process.
var ProcessOwner = sync.OnceValue(NewOwner)

// NewInFlight returns the marks on db, written as this process.
func NewInFlight(db *mongo.Database) *InFlight {
	return &InFlight{coll: db.Collection("in_flight"), owner: ProcessOwner(), now: func() time.Time { return time.Now().UTC() }}
}

// Begin marks target (of kind) as being changed, and returns what ends the mark: end(true)
// when every step is done, end(false) when one failed, which leaves the mark for the repair.
// If the mark cannot be written the write must not start: nothing would find what it leaves
// half done. A mark that cannot be ended only makes the repair recount its target.
func (f *InFlight) Begin(ctx context.Context, kind string, target bson.ObjectID) (end func(done bool), err error) {
	m := Mark{ID: bson.NewObjectID(), Kind: kind, Target: target, Owner: f.owner, At: f.now()}
	if err := f.write(ctx, m); err != nil {
		return nil, fmt.Errorf("mark %s in flight: %w", kind, err)
	}
	return func(done bool) {
		if done {
			f.end(m.ID)
		}
	}, nil
}

// write stores a mark together with those begun while the marks before them were being
// written (a group commit): with many writes at once, one insert for several instead of one
// each, and none waits longer than the insert before its own. The first caller writes; when
// it is done it hands the next batch to the first of those waiting.
func (f *InFlight) write(ctx context.Context, m Mark) error {
	me := &begun{mark: m, done: make(chan error, 1)}
	f.mu.Lock()
	f.begun = append(f.begun, me)
	lead := !f.writing
	f.writing = true
	f.mu.Unlock()
	if !lead {
		if err := <-me.done; err != errLead {
			return err
		}
	}
	f.mu.Lock()
	batch := f.begun
	f.begun = nil
	f.mu.Unlock()
	docs := make([]any, len(batch))
	for i, b := range batch {
		docs[i] = b.mark
	}
	// The batch's marks are others' too: written whatever becomes of this request.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_, err := f.coll.InsertMany(wctx, docs)
	cancel()
	for _, b := range batch {
		if b != me {
			b.done <- err
		}
	}
	f.mu.Lock()
	if len(f.begun) > 0 {
		f.begun[0].done <- errLead
	} else {
		f.writing = false
	}
	f.mu.Unlock()
	return err
}

// end queues a mark for deletion; the first in a batch schedules the delete.
func (f *InFlight) end(id bson.ObjectID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, id)
	if len(f.ended) == 1 {
		time.AfterFunc(endBatch, f.flush)
	}
}

// flush deletes the ended marks. A crash before it leaves them behind: the repair then
// recounts their targets, which changes nothing.
func (f *InFlight) flush() {
	f.mu.Lock()
	ids := f.ended
	f.ended = nil
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.coll.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		slog.Default().Warn("ended in-flight marks stay; the repair will recount their targets", "marks", len(ids), "err", err)
	}
}

// Stale lists the marks a write has left behind: older than grace (longer than any write
// runs), or written by a process that has died (OwnerDead), which after a crash is every
// mark it left, at once. Oldest first.
func (f *InFlight) Stale(ctx context.Context, grace time.Duration) ([]Mark, error) {
	cur, err := f.coll.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("in-flight marks: %w", err)
	}
	var all []Mark
	if err := cur.All(ctx, &all); err != nil {
		return nil, fmt.Errorf("in-flight marks: %w", err)
	}
	cutoff := f.now().Add(-grace)
	stale := all[:0]
	for _, m := range all {
		if m.At.Before(cutoff) || OwnerDead(m.Owner, f.owner) {
			stale = append(stale, m)
		}
	}
	return stale, nil
}

// Busy reports whether a write other than those in handled is in flight on target: a
// recount then would race it, so the repair leaves the target for its next run.
func (f *InFlight) Busy(ctx context.Context, kind string, target bson.ObjectID, handled []Mark) (bool, error) {
	ids := make(bson.A, 0, len(handled))
	for _, m := range handled {
		ids = append(ids, m.ID)
	}
	n, err := f.coll.CountDocuments(ctx, bson.M{"kind": kind, "target": target, "_id": bson.M{"$nin": ids}})
	if err != nil {
		return false, fmt.Errorf("in-flight marks: %w", err)
	}
	return n > 0, nil
}

// Clear deletes marks the repair has dealt with.
func (f *InFlight) Clear(ctx context.Context, marks []Mark) error {
	ids := make(bson.A, 0, len(marks))
	for _, m := range marks {
		ids = append(ids, m.ID)
	}
	if _, err := f.coll.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		return fmt.Errorf("in-flight marks: %w", err)
	}
	return nil
}
