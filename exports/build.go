package exports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
)

// The build's lease: one instance builds at a time, renewing it at every chunk.
const (
	leaseName = "member exports"
	leaseTTL  = time.Minute
)

// perRun bounds the requests one run of the job takes on, so that its other instances and
// its health are heard from between them.
const perRun = 20

// errLeaseLost: another instance holds the build's lease now; it carries on.
var errLeaseLost = errors.New("export lease lost")

// Build is the background job: it prepares the archives asked for, oldest touched first,
// and tells each member theirs is ready. A build interrupted (a crash, a lost lease) is
// started again from the beginning, under a new attempt, after its chunks are deleted.
func (s *Service) Build(ctx context.Context) error {
	e, err := s.next(ctx)
	if err != nil || e == nil {
		return err
	}
	held, err := s.leases.Acquire(ctx, leaseName, s.owner, leaseTTL)
	if err != nil || !held {
		return err
	}
	defer func() { _ = s.leases.Release(context.WithoutCancel(ctx), leaseName, s.owner) }()
	keep := func() error {
		held, err := s.leases.Acquire(ctx, leaseName, s.owner, leaseTTL)
		if err == nil && !held {
			err = errLeaseLost
		}
		return err
	}
	for i := 0; e != nil && i < perRun; i++ {
		if e.Status == StatusPending {
			err = s.build(ctx, e, keep) // a failed build has touched its request already
		} else if err = s.tell(ctx, e); err != nil {
			s.touch(ctx, e)
		}
		if errors.Is(err, errLeaseLost) {
			return nil // the other instance starts it again
		}
		if err != nil {
			return err
		}
		if err := keep(); err != nil {
			return ignoreLost(err)
		}
		if e, err = s.next(ctx); err != nil {
			return err
		}
	}
	return nil
}

func ignoreLost(err error) error {
	if errors.Is(err, errLeaseLost) {
		return nil
	}
	return err
}

// next is the request with work to do that was touched longest ago: one that fails goes to
// the back, behind the others, and holds none of them up.
func (s *Service) next(ctx context.Context) (*Export, error) {
	return store.FindOne[Export](ctx, s.requests, bson.M{"status": bson.M{"$in": bson.A{StatusPending, StatusBuilt}}}, nil,
		options.FindOne().SetSort(bson.D{{Key: "updated_at", Value: 1}}))
}

// touch sends a request to the back of the queue.
func (s *Service) touch(ctx context.Context, e *Export) {
	_, _ = s.requests.UpdateOne(context.WithoutCancel(ctx), bson.M{"_id": e.Member, "attempt": e.Attempt}, bson.M{"$set": bson.M{"updated_at": s.now()}})
}

// build writes e's archive in chunks under a new attempt, then marks it built and tells the
// member.
func (s *Service) build(ctx context.Context, e *Export, keep func() error) error {
	// What an earlier attempt left (interrupted, or the archive this one replaces) goes first:
	// its chunks are named by the attempt and count still recorded.
	if err := s.deleteChunks(ctx, e.Member, e.Attempt, e.Chunks); err != nil {
		return err
	}
	attempt := e.Attempt + 1
	res, err := s.requests.UpdateOne(ctx, bson.M{"_id": e.Member, "status": StatusPending, "attempt": e.Attempt},
		bson.M{"$set": bson.M{"attempt": attempt, "chunks": 0, "size": 0, "updated_at": s.now()}})
	if err != nil {
		return fmt.Errorf("start export: %w", err)
	}
	if res.MatchedCount == 0 {
		return nil // erased, or changed since it was read: the next run sees it as it is
	}
	w := &chunkWriter{s: s, ctx: ctx, member: e.Member, attempt: attempt, keep: keep, buf: make([]byte, 0, chunkBytes)}
	err = WriteArchive(ctx, w, e.Member, s.now(), s.source)
	if err == nil {
		err = w.flush()
	}
	if errors.Is(err, errStale) {
		return s.deleteChunks(ctx, e.Member, attempt, w.n+1)
	}
	if err != nil {
		// Failing, this attempt goes to the back of the queue; the next deletes its chunks.
		return err
	}
	now := s.now()
	built := bson.M{"status": StatusBuilt, "chunks": w.n, "size": w.size, "updated_at": now, "expires_at": now.Add(Kept)}
	res, err = s.requests.UpdateOne(ctx, bson.M{"_id": e.Member, "status": StatusPending, "attempt": attempt}, bson.M{"$set": built})
	if err != nil {
		return fmt.Errorf("finish export: %w", err)
	}
	if res.MatchedCount == 0 {
		return s.deleteChunks(ctx, e.Member, attempt, w.n) // erased meanwhile
	}
	e.Status, e.Attempt = StatusBuilt, attempt
	return s.tell(ctx, e)
}

// tell tells the member their archive is ready, in the portal and by email to a confirmed
// address, then marks it ready. Both are keyed by the attempt: told again after a failure,
// the member hears once.
func (s *Service) tell(ctx context.Context, e *Export) error {
	key := fmt.Sprintf("export:%s:%d", e.Member.Hex(), e.Attempt)
	if s.notifier != nil {
		if err := s.notifier.ExportReady(ctx, e.Member, Page, key); err != nil {
			return err
		}
	}
	if s.mailer != nil && s.members != nil {
		c, err := s.members.Get(ctx, e.Member)
		if err != nil {
			return err
		}
		// Their own request answered: sent whatever they chose for notifications, to an
		// address they confirmed.
		if c.Email != "" && c.EmailVerified {
			if err := s.mailer.Letter(ctx, c.Email, c.Locale, "export_ready", key, Page, "Days", int(Kept/(24*time.Hour))); err != nil {
				return err
			}
		}
	}
	_, err := s.requests.UpdateOne(ctx, bson.M{"_id": e.Member, "status": StatusBuilt, "attempt": e.Attempt},
		bson.M{"$set": bson.M{"status": StatusReady, "updated_at": s.now()}})
	if err != nil {
		return fmt.Errorf("export told: %w", err)
	}
	return nil
}

// chunkWriter stores what is written to it as the chunks of one attempt, each recorded on the
// request before it is written, the lease renewed.
type chunkWriter struct {
	s       *Service
	ctx     context.Context
	member  bson.ObjectID
	attempt int
	keep    func() error
	buf     []byte
	n       int // chunks written
	size    int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		k := min(chunkBytes-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p, done = p[k:], done+k
		if len(w.buf) == chunkBytes {
			if err := w.flush(); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// flush stores the chunk filled so far.
func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.keep(); err != nil {
		return err
	}
	res, err := w.s.requests.UpdateOne(w.ctx, bson.M{"_id": w.member, "status": StatusPending, "attempt": w.attempt},
		bson.M{"$set": bson.M{"chunks": w.n + 1, "updated_at": w.s.now()}})
	if err != nil {
		return fmt.Errorf("export progress: %w", err)
	}
	if res.MatchedCount == 0 {
		return errStale
	}
	c := chunk{ID: chunkID(w.member, w.attempt, w.n), Member: w.member, Data: w.buf}
	if _, err := w.s.chunks.ReplaceOne(w.ctx, bson.M{"_id": c.ID}, c, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("store export chunk: %w", err)
	}
	w.n++
	w.size += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// Purge removes the archives past their week, by _id: the purge job.
func (s *Service) Purge(ctx context.Context) error {
	for {
		expired, err := store.FindAll[Export](ctx, s.requests, bson.M{"status": bson.M{"$in": bson.A{StatusBuilt, StatusReady}},
			"expires_at": bson.M{"$lte": s.now()}}, options.Find().SetLimit(100))
		if err != nil || len(expired) == 0 {
			return err
		}
		for _, e := range expired {
			if err := s.deleteChunks(ctx, e.Member, e.Attempt, e.Chunks); err != nil {
				return err
			}
			// Asked again meanwhile, it is a request to build, not to remove.
			if _, err := s.requests.DeleteOne(ctx, bson.M{"_id": e.Member, "attempt": e.Attempt,
				"status": bson.M{"$in": bson.A{StatusBuilt, StatusReady}}}); err != nil {
				return fmt.Errorf("purge export: %w", err)
			}
		}
	}
}
