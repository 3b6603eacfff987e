package customers

import (
	"context"
	"errors"
	"log/slog"
)

// Event is a change on a customer's record that others act on, such as the rules that open
// follow-up tasks.
type Event struct {
	Customer    *Customer    // the record after the change
	Before      *Customer    // the record before a change of score, stage or risk (nil for a signal)
	Signal      *Signal      // a signal recorded, or recorded again
	StageChange *StageChange // a move to another stage
}

// Watcher acts on events. The same event may come more than once (a retried request), so a
// watcher must act once per cause.
type Watcher func(context.Context, Event) error

// Watch registers w; set up before serving.
func (s *Service) Watch(w Watcher) { s.watchers = append(s.watchers, w) }

// notify tells every watcher. The change stands whatever they do; a failure is logged and
// returned, so that the caller's retry (which tells them again) can make up for it.
func (s *Service) notify(ctx context.Context, e Event) error {
	var errs []error
	for _, w := range s.watchers {
		if err := w(ctx, e); err != nil {
			slog.Default().WarnContext(ctx, "a watcher of customer records failed", "customer", e.Customer.ID.Hex(), "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
