package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// cannotWriteSigns are how a database says a write cannot be stored, whatever is asked: a
// full disk or quota (SQLite under the embedded FerretDB, MongoDB's OutOfDiskSpace), files
// it may not write, a failing disk.
var cannotWriteSigns = []string{
	"database or disk is full", "no space left on device", "disk quota exceeded", "outofdiskspace",
	"readonly database", "read-only file system", "disk i/o error",
}

// CannotWrite reports whether err means the database refused a write for want of space or
// permission: nothing the request did wrong, and reads still work. Such a request is
// answered 503 and may be tried again once an operator has made room.
func CannotWrite(err error) bool {
	if err == nil {
		return false
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) && ce.Code == 14031 { // OutOfDiskSpace
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, sign := range cannotWriteSigns {
		if strings.Contains(msg, sign) {
			return true
		}
	}
	return false
}

// writeWatch remembers the last write the database refused (CannotWrite), seen in the
// driver's command events, so readiness can tell that writes fail even when a probe of its
// own happens to fit.
type writeWatch struct {
	mu       sync.Mutex
	failedAt time.Time
	failure  error
}

// writeCommands are the commands that store something.
var writeCommands = map[string]bool{"insert": true, "update": true, "delete": true, "findAndModify": true}

func (w *writeWatch) failed(_ context.Context, e *event.CommandFailedEvent) {
	if writeCommands[e.CommandName] && CannotWrite(e.Failure) {
		w.mu.Lock()
		w.failedAt, w.failure = time.Now(), e.Failure
		w.mu.Unlock()
	}
}

// monitor is the driver's command monitor: the write watch, then the caller's, if any.
func (w *writeWatch) monitor(next *event.CommandMonitor) *event.CommandMonitor {
	if next == nil {
		return &event.CommandMonitor{Failed: w.failed}
	}
	m := *next
	m.Failed = func(ctx context.Context, e *event.CommandFailedEvent) {
		w.failed(ctx, e)
		if next.Failed != nil {
			next.Failed(ctx, e)
		}
	}
	return &m
}

// writeFailureMemory is how long a refused write keeps readiness degraded after the last one.
const writeFailureMemory = 10 * time.Second

// CheckWrites is the readiness of writes: a small write of its own succeeds, and no write
// was refused for want of space or permission in the last ten seconds. Ping alone answers
// from a database that can no longer store anything.
func (s *Store) CheckWrites(ctx context.Context) error {
	_, err := s.DB.Collection("health").UpdateOne(ctx, bson.M{"_id": "write-probe"},
		bson.M{"$set": bson.M{"at": time.Now().UTC()}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	s.writes.mu.Lock()
	defer s.writes.mu.Unlock()
	if !s.writes.failedAt.IsZero() && time.Since(s.writes.failedAt) < writeFailureMemory {
		return fmt.Errorf("a write was refused %s ago: %w", time.Since(s.writes.failedAt).Round(time.Second), s.writes.failure)
	}
	return nil
}
