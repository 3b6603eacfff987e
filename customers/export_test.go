package customers

// Exported for the tests in package customers_test.
var AssessRisk = assessRisk

// AfterStored runs fn between storing signals and counting them.
func (s *Service) AfterStored(fn func([]Signal)) { s.afterStored = fn }

// BeforeFold runs fn between reading the records of a batch of signals and writing them.
func (s *Service) BeforeFold(fn func()) { s.beforeFold = fn }

// Applied is what a batch's write of set (and a stage move) makes of the record before.
func Applied(before *Customer, set map[string]any, moved *StageChange) (*Customer, error) {
	return assessed{set: set, moved: moved}.applied(before)
}
