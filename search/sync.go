package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guyub/guyub/store"
)

// Pending is a document whose entry in the index may be out of date.
type Pending struct {
	Doc     Document
	Indexed bool // false: it must leave the index (hidden, deleted)
	Version int  // the content's version when read
}

// Source is a content owner's side of the sync: its content marked dirty on every write
// (ARCHITECTURE §5), and all of it for a rebuild. reviews implements it for reviews and
// testimonials; each kind of content adds its own.
type Source interface {
	Name() string
	Dirty(ctx context.Context, limit int) ([]Pending, error)
	// MarkIndexed clears the dirty flags only where the version is still the one indexed,
	// so an edit made while the batch was in flight stays dirty and is indexed next time.
	MarkIndexed(ctx context.Context, done []Pending) error
	Count(ctx context.Context) (int, error)
	All(ctx context.Context, batch int, fn func([]Pending) error) error
}

// Sink is told every change the index is, before the index: insights keeps its feedback
// items in step this way, and may annotate the documents (their sentiment) on the way.
type Sink interface {
	Upsert(ctx context.Context, docs []Document) error
	Delete(ctx context.Context, ids []string) error
}

// Syncer keeps the index, and its sinks, in step with MongoDB.
type Syncer struct {
	index   Index
	sinks   []Sink
	sources []Source
	leases  *store.Leases
	owner   string
	log     *slog.Logger

	working sync.Mutex // one batch at a time in this process: a sync's, or a refeed's

	mu      sync.Mutex
	lastErr error  // the index's last failure, for /readyz; nil once a pass succeeds
	changed func() // told after each batch reaches the index, so caches of search pages drop
}

// AlsoTo has the syncer tell sink of every change; a failing sink leaves the batch dirty,
// to be retried, as a failing index does.
func (s *Syncer) AlsoTo(sink Sink) { s.sinks = append(s.sinks, sink) }

// OnChange sets what is told when the index has changed.
func (s *Syncer) OnChange(fn func()) { s.changed = fn }

// NewSyncer builds the worker; owner names this instance for the lease.
func NewSyncer(index Index, leases *store.Leases, owner string, log *slog.Logger, sources ...Source) *Syncer {
	return &Syncer{index: index, sources: sources, leases: leases, owner: owner, log: log}
}

const (
	syncBatch = 500
	leaseName = "search-sync"
)

// SyncOnce pushes one batch of dirty content of every source and reports how many
// documents it handled. A failing index leaves everything dirty, to be retried.
func (s *Syncer) SyncOnce(ctx context.Context) (int, error) {
	s.working.Lock()
	defer s.working.Unlock()
	done := 0
	for _, src := range s.sources {
		pending, err := src.Dirty(ctx, syncBatch)
		if err != nil {
			return done, err
		}
		if len(pending) == 0 {
			continue
		}
		var upserts []Document
		var deletes []string
		for _, p := range pending {
			if p.Indexed {
				upserts = append(upserts, p.Doc)
			} else {
				deletes = append(deletes, p.Doc.ID)
			}
		}
		for _, sink := range s.sinks {
			if err := sink.Upsert(ctx, upserts); err != nil {
				return done, s.failed(fmt.Errorf("sink of %s: %w", src.Name(), err))
			}
			if err := sink.Delete(ctx, deletes); err != nil {
				return done, s.failed(fmt.Errorf("sink of %s: %w", src.Name(), err))
			}
		}
		if err := s.index.Upsert(ctx, public(upserts)...); err != nil {
			return done, s.failed(fmt.Errorf("index %s: %w", src.Name(), err))
		}
		if err := s.index.Delete(ctx, deletes...); err != nil {
			return done, s.failed(fmt.Errorf("index %s: %w", src.Name(), err))
		}
		if s.changed != nil {
			s.changed()
		}
		if err := src.MarkIndexed(ctx, pending); err != nil {
			return done, err
		}
		done += len(pending)
	}
	s.mu.Lock()
	s.lastErr = nil
	s.mu.Unlock()
	return done, nil
}

func (s *Syncer) failed(err error) error {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	return err
}

// Check is the index's readiness: reachable, and the last sync pass did not fail.
func (s *Syncer) Check(ctx context.Context) error {
	if err := s.index.Ping(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// syncLease is how long the sync lease lasts unrenewed: it is renewed before every batch.
const syncLease = 20 * time.Second

// Pass drains the dirty content while this instance holds the sync lease; another instance
// holding it does the work meanwhile. Run it every few seconds (package jobs does).
func (s *Syncer) Pass(ctx context.Context) error {
	for {
		// Renewed before every batch: a long backlog must not outlast the lease and let a
		// second instance write older versions beside this one.
		held, err := s.leases.Acquire(ctx, leaseName, s.owner, syncLease)
		if err != nil || !held {
			return err
		}
		n, err := s.SyncOnce(ctx)
		if err != nil || n < syncBatch {
			return err
		}
	}
}

// Release gives the sync lease up, so that another instance takes over at once.
func (s *Syncer) Release(ctx context.Context) error {
	return s.leases.Release(ctx, leaseName, s.owner)
}

// Reindex rebuilds the index from MongoDB: everything out, then every source's indexable
// content in (and told to the sinks). progress is told how far it is.
func (s *Syncer) Reindex(ctx context.Context, progress func(done, total int)) error {
	if err := s.index.Clear(ctx); err != nil {
		return err
	}
	return s.walk(ctx, progress, func(src Source, batch []Pending, upserts []Document, deletes []string) error {
		for _, sink := range s.sinks {
			if c, ok := sink.(interface{ ChangesOnly() bool }); ok && c.ChangesOnly() {
				continue // a reindex goes over what did not change (webhooks tell only changes)
			}
			if err := sink.Upsert(ctx, upserts); err != nil {
				return err
			}
			if err := sink.Delete(ctx, deletes); err != nil {
				return err
			}
		}
		if err := s.index.Upsert(ctx, public(upserts)...); err != nil {
			return err
		}
		return src.MarkIndexed(ctx, batch)
	})
}

// Fill puts every source's indexable content into the index, and nothing into the sinks
// nor the dirty flags: how an index made empty (a new mapping) is filled again while the
// sync goes on with what changes.
func (s *Syncer) Fill(ctx context.Context, progress func(done, total int)) error {
	return s.walk(ctx, progress, func(_ Source, _ []Pending, upserts []Document, _ []string) error {
		return s.index.Upsert(ctx, public(upserts)...)
	})
}

// ErrSyncBusy is a refeed refused because another process holds the sync: it keeps the
// sinks in step itself.
var ErrSyncBusy = errors.New("another process syncs the index: it keeps insights in step")

// Refeed tells one sink every source's content, as if all of it had changed: how a sink
// catches up with what existed before it (insights' reanalysis). Each batch holds the
// sync's lease and takes turns with the sync, so content hidden meanwhile is not brought
// back: its removal is synced after the batch that read it.
func (s *Syncer) Refeed(ctx context.Context, sink Sink, progress func(done, total int)) error {
	return s.walk(ctx, progress, func(_ Source, _ []Pending, upserts []Document, deletes []string) error {
		held, err := s.leases.Acquire(ctx, leaseName, s.owner, syncLease)
		if err != nil {
			return err
		}
		if !held {
			return ErrSyncBusy
		}
		s.working.Lock()
		defer s.working.Unlock()
		if err := sink.Upsert(ctx, upserts); err != nil {
			return err
		}
		return sink.Delete(ctx, deletes)
	})
}

// walk hands every source's content to fn, a batch at a time, split into what is indexed
// and what is not.
func (s *Syncer) walk(ctx context.Context, progress func(done, total int), fn func(Source, []Pending, []Document, []string) error) error {
	total := 0
	for _, src := range s.sources {
		n, err := src.Count(ctx)
		if err != nil {
			return err
		}
		total += n
	}
	done := 0
	progress(done, total)
	for _, src := range s.sources {
		err := src.All(ctx, 500, func(batch []Pending) error {
			var upserts []Document
			var deletes []string
			for _, p := range batch {
				if p.Indexed {
					upserts = append(upserts, p.Doc)
				} else {
					deletes = append(deletes, p.Doc.ID)
				}
			}
			if err := fn(src, batch, upserts, deletes); err != nil {
				return err
			}
			done += len(batch)
			progress(done, total)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", src.Name(), err)
		}
	}
	return nil
}
