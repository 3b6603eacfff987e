package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/guyub/guyub/jobs"
)

// A job that panics does not take the process down: the panic is recovered and counted,
// the job is reported failing after a few tries in a row, and healthy again after a success.
func TestSupervisor_SurvivesPanicsAndReportsFailures(t *testing.T) {
	s := jobs.New(slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := s.Register(reg); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	job := jobs.Job{Name: "search sync", Every: time.Millisecond, Run: func(context.Context) error {
		switch calls.Add(1) {
		case 1:
			panic("bleve: write failed")
		case 2, 3:
			return errors.New("database or disk is full")
		}
		return nil
	}}
	ctx := context.Background()
	for want := 1; want <= 3; want++ {
		if got := s.RunOnce(ctx, job); got != want {
			t.Fatalf("failures in a row: %d, want %d", got, want)
		}
	}
	if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), "search sync failing") || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Check after three failures: %v", err)
	}
	want := `guyub_job_runs_total{job="search sync",result="panic"} 1`
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP guyub_job_runs_total Background job runs, by job and result (ok, error, panic).\n# TYPE guyub_job_runs_total counter\n"+
		want+"\n"+`guyub_job_runs_total{job="search sync",result="error"} 2`+"\n"), "guyub_job_runs_total"); err != nil {
		t.Fatal(err)
	}
	if s.RunOnce(ctx, job) != 0 || s.Check(ctx) != nil {
		t.Fatalf("after a success: %v", s.Check(ctx))
	}
}

// While a job fails it backs off, doubling its wait; it stops when its context ends.
func TestSupervisor_BacksOffAndStops(t *testing.T) {
	s := jobs.New(slog.New(slog.DiscardHandler))
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	s.Go(ctx, &wg, jobs.Job{Name: "failing", Every: 10 * time.Millisecond, MaxBackoff: time.Hour, Run: func(context.Context) error {
		calls.Add(1)
		return errors.New("no")
	}})
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	// Without backoff, 30 tries; with it, at 0, 10, 30, 70, 150 and 310 ms: 5 or 6.
	if n := calls.Load(); n < 3 || n > 8 {
		t.Fatalf("%d tries in 300 ms", n)
	}
}
