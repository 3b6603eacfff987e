package feedback

import "time"

// NewWithClock is the service seeing another time, for expiry tests.
func NewWithClock(s *Service, now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}
