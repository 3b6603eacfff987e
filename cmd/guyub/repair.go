package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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
	fmt.Fprintf(p.stdout, "products: %d checked, %d fixed\nreviews: %d checked, %d fixed\n", rep.Products, rep.ProductsFixed, rep.Reviews, rep.ReviewsFixed)
	fmt.Fprintf(p.stdout, "posts: %d checked, %d fixed\nthreads: %d checked, %d fixed\nideas: %d checked, %d fixed\n",
		forum.Posts, forum.PostsFixed, forum.Threads, forum.ThreadsFixed, forum.Ideas, forum.IdeasFixed)
	fmt.Fprintf(p.stdout, "customers: %d scores and stages recomputed\ndone in %s\n", people, time.Since(started).Round(time.Millisecond))
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

// repairJob is the repair run in the background, at start-up and then daily, so what a
// crash leaves behind (a counter a write did not reach) is put right without anyone running
// guyub repair. One instance at a time runs it, under a lease.
func (s *services) repairJob(log *slog.Logger) func(context.Context) error {
	leases := store.NewLeases(s.store.DB)
	return func(ctx context.Context) error {
		held, err := leases.Acquire(ctx, "repair", s.owner, time.Hour)
		if err != nil || !held {
			return err
		}
		defer func() { _ = leases.Release(context.WithoutCancel(ctx), "repair", s.owner) }()
		started := time.Now()
		rep, forum, people, err := s.repairAll(ctx)
		log.Info("repair", "products_fixed", rep.ProductsFixed, "reviews_fixed", rep.ReviewsFixed, "posts_fixed", forum.PostsFixed,
			"threads_fixed", forum.ThreadsFixed, "ideas_fixed", forum.IdeasFixed, "customers", people,
			"duration_ms", time.Since(started).Milliseconds(), "err", err)
		return err
	}
}
