package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/store"
)

// repair recomputes every denormalised counter from the raw documents (ARCHITECTURE §5).
// It is safe to run beside a live server: it writes only what differs.
func (p program) repair(ctx context.Context, args []string) error {
	cfg, err := loadConfig("guyub repair", args, p.environ, p.stderr)
	if err != nil {
		return err
	}
	svc, err := openServices(ctx, cfg, cfg.logger(p.stderr), true)
	if err != nil {
		return err
	}
	defer svc.close()
	started := time.Now()
	rep, forum, people, err := svc.repairAll(ctx)
	if err != nil {
		return err
	}
	balances, err := svc.loyalty.RepairBalances(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "products: %d checked, %d fixed\nreviews: %d checked, %d fixed\n", rep.Products, rep.ProductsFixed, rep.Reviews, rep.ReviewsFixed)
	fmt.Fprintf(p.stdout, "posts: %d checked, %d fixed\nthreads: %d checked, %d fixed\nideas: %d checked, %d fixed\n",
		forum.Posts, forum.PostsFixed, forum.Threads, forum.ThreadsFixed, forum.Ideas, forum.IdeasFixed)
	fmt.Fprintf(p.stdout, "customers: %d scores and stages recomputed\npoints: %d balances put right from the ledger\ndone in %s\n",
		people, balances, time.Since(started).Round(time.Millisecond))
	return nil
}

// repairAll recomputes the counters of reviews, then the forums and ideas, then the scores
// and stages that read them.
func (s *services) repairAll(ctx context.Context) (reviews.RepairReport, community.RepairReport, int, error) {
	rep, err := s.reviews.Repair(ctx)
	if err != nil {
		return rep, community.RepairReport{}, 0, err
	}
	forum, err := s.community.Repair(ctx)
	if err != nil {
		return rep, forum, 0, err
	}
	people, err := s.customers.Repair(ctx)
	return rep, forum, people, err
}

// repairInFlight puts right what a write that died between its steps left behind (a reply
// stored, its thread's count not moved): every write of several steps marks what it changes
// while it runs (store.InFlight), and this job, at start-up and then every minute, recounts
// only what stale marks name — at once for the marks of a process that crashed. Each
// package recounts the kinds it owns; one instance at a time runs it, under a lease.
func (s *services) repairInFlight(log *slog.Logger) func(context.Context) error {
	marks := store.NewInFlight(s.store.DB)
	leases := store.NewLeases(s.store.DB)
	recounters := []func(context.Context, string, bson.ObjectID, []store.Mark) (bool, error){
		s.community.RepairMarked, s.reviews.RepairMarked}
	return func(ctx context.Context) error {
		stale, err := marks.Stale(ctx, time.Minute)
		if err != nil || len(stale) == 0 {
			return err
		}
		held, err := leases.Acquire(ctx, "repair in flight", s.owner, 10*time.Minute)
		if err != nil || !held {
			return err
		}
		defer func() { _ = leases.Release(context.WithoutCancel(ctx), "repair in flight", s.owner) }()
		type target struct {
			kind string
			id   bson.ObjectID
		}
		byTarget := map[target][]store.Mark{}
		var order []target
		for _, m := range stale {
			t := target{m.Kind, m.Target}
			if byTarget[t] == nil {
				order = append(order, t)
			}
			byTarget[t] = append(byTarget[t], m)
		}
		started, recounted, left := time.Now(), 0, 0
		var failed error
		for _, t := range order {
			done := true
			for _, recount := range recounters {
				ok, err := recount(ctx, t.kind, t.id, byTarget[t])
				if err != nil {
					// One target that cannot be recounted must not hold up the others.
					log.Warn("repair in flight: a recount failed", "kind", t.kind, "target", t.id.Hex(), "err", err)
					failed = err
				}
				done = done && ok && err == nil
			}
			if !done {
				left++ // busy or failed: the next run tries again
				continue
			}
			if err := marks.Clear(ctx, byTarget[t]); err != nil {
				return err
			}
			recounted++
		}
		log.Info("repair in flight", "marks", len(stale), "recounted", recounted, "left", left,
			"duration_ms", time.Since(started).Milliseconds())
		return failed
	}
}

// repairJob is the full repair, once a day as a safety net under the in-flight one (it
// reads every counted document, and also puts right what marks do not cover, such as the
// customers' contribution counters). Tried hourly, it runs once per day whatever the
// restarts: the day's lease is marked done; one instance at a time runs it.
func (s *services) repairJob(log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		return s.onceToday(ctx, "repair", func() error {
			started := time.Now()
			rep, forum, people, err := s.repairAll(ctx)
			balances := 0
			if err == nil {
				balances, err = s.loyalty.RepairBalances(ctx)
			}
			log.Info("repair", "balances_fixed", balances, "products_fixed", rep.ProductsFixed, "reviews_fixed", rep.ReviewsFixed, "posts_fixed", forum.PostsFixed,
				"threads_fixed", forum.ThreadsFixed, "ideas_fixed", forum.IdeasFixed, "customers", people,
				"duration_ms", time.Since(started).Milliseconds(), "err", err)
			return err
		})
	}
}

// repairDelay is when the first full repair is tried: at once after a crash of the embedded
// database's last process, otherwise a minute in, once start-up's own work is done.
func repairDelay(st *store.Store) time.Duration {
	if st.Crashed {
		return 0
	}
	return time.Minute
}
