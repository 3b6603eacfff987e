// Package jobs runs the portal's background work — the search sync, purges, the daily stage
// review, repairs — so that no job's failure can take the process down or go unnoticed: a
// panic is recovered and logged with its stack, a failing job backs off, and each job's
// health shows in /readyz (Check) and /metrics.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Job is one piece of background work, run every Every.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(context.Context) error
	// First is when the first run starts, after Go (0: at once).
	First time.Duration
	// MaxBackoff caps the wait between tries while the job fails (default 5 minutes, or
	// Every if longer): doubling from Every, so a full disk is not hammered.
	MaxBackoff time.Duration
}

// failingAfter is how many failures in a row make a job unhealthy: one blip is not news.
const failingAfter = 3

// Supervisor runs jobs and keeps their health.
type Supervisor struct {
	log *slog.Logger

	mu    sync.Mutex
	state map[string]*state

	runs     *prometheus.CounterVec
	failures *prometheus.GaugeVec
	success  *prometheus.GaugeVec
}

type state struct {
	failures    int // in a row
	lastErr     error
	failingFrom time.Time
}

// New returns a supervisor that logs to log.
func New(log *slog.Logger) *Supervisor {
	return &Supervisor{
		log:   log,
		state: map[string]*state{},
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guyub_job_runs_total",
			Help: "Background job runs, by job and result (ok, error, panic)."}, []string{"job", "result"}),
		failures: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "guyub_job_consecutive_failures",
			Help: "Failures in a row of each background job; 0 once it succeeds."}, []string{"job"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "guyub_job_last_success_timestamp_seconds",
			Help: "When each background job last succeeded (Unix time)."}, []string{"job"}),
	}
}

// Register adds the jobs' metrics to reg.
func (s *Supervisor) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.runs, s.failures, s.success} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Go starts job in its own goroutine, tracked by wg, until ctx ends. It runs after First,
// then every Every, or later while it fails.
func (s *Supervisor) Go(ctx context.Context, wg *sync.WaitGroup, job Job) {
	maxBackoff := job.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = 5 * time.Minute
	}
	maxBackoff = max(maxBackoff, job.Every)
	s.mu.Lock()
	s.state[job.Name] = &state{}
	s.mu.Unlock()
	wg.Go(func() {
		timer := time.NewTimer(job.First)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			wait := job.Every
			// Every, 2×Every, 4×Every … up to maxBackoff (doubled step by step: a shift
			// of a day's duration would overflow).
			failures := s.RunOnce(ctx, job)
			for i := 1; i < failures && wait < maxBackoff; i++ {
				wait *= 2
			}
			wait = min(wait, maxBackoff)
			timer.Reset(wait)
		}
	})
}

// RunOnce runs job once, recovering a panic, and records the outcome. It returns the job's
// failures in a row (0 after a success).
func (s *Supervisor) RunOnce(ctx context.Context, job Job) int {
	err := s.protect(job)(ctx)
	if ctx.Err() != nil {
		return 0 // stopping: an error from a cancelled context is no failure
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[job.Name]
	if st == nil {
		st = &state{}
		s.state[job.Name] = st
	}
	if err == nil {
		if st.failures >= failingAfter {
			s.log.Info("background job recovered", "job", job.Name, "after_failures", st.failures)
		}
		*st = state{}
		s.runs.WithLabelValues(job.Name, "ok").Inc()
		s.failures.WithLabelValues(job.Name).Set(0)
		s.success.WithLabelValues(job.Name).SetToCurrentTime()
		return 0
	}
	result := "error"
	if errors.As(err, new(*panicError)) {
		result = "panic"
	}
	if st.failures == 0 {
		st.failingFrom = time.Now()
	}
	st.failures++
	st.lastErr = err
	s.runs.WithLabelValues(job.Name, result).Inc()
	s.failures.WithLabelValues(job.Name).Set(float64(st.failures))
	s.log.Warn("background job failed; will retry", "job", job.Name, "failures", st.failures, "err", err)
	return st.failures
}

// panicError is a panic in a job, recovered.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func (s *Supervisor) protect(job Job) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				p := &panicError{value: v, stack: debug.Stack()}
				s.log.Error("background job panicked", "job", job.Name, "panic", fmt.Sprint(v), "stack", string(p.stack))
				err = p
			}
		}()
		return job.Run(ctx)
	}
}

// Check is the jobs' readiness: it names every job that has failed several times in a row,
// since when and why.
func (s *Supervisor) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var failing []string
	for name, st := range s.state {
		if st.failures >= failingAfter {
			failing = append(failing, fmt.Sprintf("%s failing for %s (%d times): %v",
				name, time.Since(st.failingFrom).Round(time.Second), st.failures, st.lastErr))
		}
	}
	if len(failing) == 0 {
		return nil
	}
	sort.Strings(failing)
	return errors.New(strings.Join(failing, "; "))
}
