package customers

import "time"

// Exported for the tests in package customers_test.
var AssessRisk = assessRisk

func (s *Service) SetNow(now func() time.Time) { s.now = now }

// AfterStored runs fn between storing signals and counting them.
func (s *Service) AfterStored(fn func([]Signal)) { s.afterStored = fn }
