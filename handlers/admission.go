package handlers

import (
	"runtime"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
)

// admission keeps an overloaded instance answering: at most so many requests work at once
// (writes fewer still, since each holds the database longer), and a request that cannot
// start within a short wait is refused with 503 and Retry-After before it has read or
// written anything, rather than queueing until every request times out. Pages served from
// the cache never wait here.
type admission struct {
	reads, writes chan struct{}
	wait          time.Duration
}

func newAdmission() *admission {
	n := runtime.GOMAXPROCS(0)
	return &admission{reads: make(chan struct{}, 64*n), writes: make(chan struct{}, 8*n), wait: 3 * time.Second}
}

// admit runs the rest of the request once there is room for it.
func (s *Server) admit(c *fiber.Ctx) error {
	if c.Locals(refreshLocal) != nil {
		return c.Next() // a page the cache renders again: bounded by its own slots
	}
	slots := s.admission.reads
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
		slots = s.admission.writes
	}
	select {
	case slots <- struct{}{}:
	default:
		t := time.NewTimer(s.admission.wait)
		defer t.Stop()
		select {
		case slots <- struct{}{}:
		case <-t.C:
			return errBusy
		case <-c.Context().Done():
			return errBusy
		}
	}
	defer func() { <-slots }()
	return c.Next()
}

// errBusy is the answer to a request that found no room: 503, try again in a second.
var errBusy = errs.New(errs.ErrUnavailable, "error.503.message")
