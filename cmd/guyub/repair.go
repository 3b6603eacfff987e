package main

import (
	"context"
	"fmt"
	"time"
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
	rep, err := svc.reviews.Repair(ctx)
	if err != nil {
		return err
	}
	forum, err := svc.community.Repair(ctx)
	if err != nil {
		return err
	}
	// Counts first, then the scores and stages that read them.
	people, err := svc.customers.Repair(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "products: %d checked, %d fixed\nreviews: %d checked, %d fixed\n", rep.Products, rep.ProductsFixed, rep.Reviews, rep.ReviewsFixed)
	fmt.Fprintf(p.stdout, "posts: %d checked, %d fixed\nthreads: %d checked, %d fixed\nideas: %d checked, %d fixed\n",
		forum.Posts, forum.PostsFixed, forum.Threads, forum.ThreadsFixed, forum.Ideas, forum.IdeasFixed)
	fmt.Fprintf(p.stdout, "customers: %d scores and stages recomputed\ndone in %s\n", people, time.Since(started).Round(time.Millisecond))
	return nil
}
