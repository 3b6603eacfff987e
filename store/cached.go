package store

import (
	"context"
	"sync"
	"time"
)

// Cached is a small piece of data that nearly every request reads and that rarely changes
// (the moderation rules, the forum categories), read from the database once and kept for ttl,
// or until Forget — which the writer calls. Other instances' writes are seen within ttl.
type Cached[T any] struct {
	collection string
	ttl        time.Duration
	load       func(context.Context) (T, error)

	mu    sync.Mutex
	value T
	at    time.Time
	valid bool
}

// NewCached returns a cache of what load reads from collection.
func NewCached[T any](collection string, ttl time.Duration, load func(context.Context) (T, error)) *Cached[T] {
	return &Cached[T]{collection: collection, ttl: ttl, load: load}
}

// Get returns the value, reading it again when it is older than ttl or forgotten. The value
// is shared: callers must not change it.
func (c *Cached[T]) Get(ctx context.Context) (T, error) {
	NoteRead(ctx, c.collection)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && time.Since(c.at) < c.ttl {
		return c.value, nil
	}
	v, err := c.load(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	c.value, c.at, c.valid = v, time.Now(), true
	return v, nil
}

// Forget drops the value: the next Get reads it again.
func (c *Cached[T]) Forget() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}

// ReadObserver is told of reads a request makes that do not reach the database driver,
// because a Cached served them (the page cache notes what each page read).
type ReadObserver interface {
	ReadCollection(name string)
}

type readObserverKey struct{}

// WithReadObserver returns ctx carrying o.
func WithReadObserver(ctx context.Context, o ReadObserver) context.Context {
	return context.WithValue(ctx, readObserverKey{}, o)
}

// ReadObserverFrom returns the observer ctx carries, or nil.
func ReadObserverFrom(ctx context.Context) ReadObserver {
	o, _ := ctx.Value(readObserverKey{}).(ReadObserver)
	return o
}

// NoteRead tells ctx's observer, if any, that collection was read.
func NoteRead(ctx context.Context, collection string) {
	if o := ReadObserverFrom(ctx); o != nil {
		o.ReadCollection(collection)
	}
}
