package customers

// Exported for the tests in package customers_test.
var AssessRisk = assessRisk

// AfterStored runs fn between storing signals and counting them.
func (s *Service) AfterStored(fn func([]Signal)) { s.afterStored = fn }

// BeforeFold runs fn between reading the records of a batch of signals and writing them.
func (s *Service) BeforeFold(fn func()) { s.beforeFold = fn }
