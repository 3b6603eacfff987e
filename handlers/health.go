package handlers

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process is up; it asks nothing of its dependencies.
func (s *Server) healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok")
}

type readiness struct {
	Status string            `json:"status"` // ok, degraded or unavailable
	Checks map[string]string `json:"checks"`
	Advice map[string]string `json:"advice,omitempty"` // what to do about a check that is not ok
}

// readyz asks every dependency at once, each within two seconds.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	res := readiness{Status: "ok", Checks: make(map[string]string, len(s.deps.Readiness))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, check := range s.deps.Readiness {
		wg.Go(func() {
			err := check.Check(ctx)
			if err != nil {
				// The cause goes to the log; the public answer names only the dependency.
				s.log.Warn("readiness check failed", "check", check.Name, "err", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && check.Advice != "" {
				if res.Advice == nil {
					res.Advice = map[string]string{}
				}
				res.Advice[check.Name] = check.Advice
			}
			switch {
			case err == nil:
				res.Checks[check.Name] = "ok"
			case check.Critical:
				res.Checks[check.Name] = "unavailable"
				res.Status = "unavailable"
			default:
				res.Checks[check.Name] = "degraded"
				if res.Status == "ok" {
					res.Status = "degraded"
				}
			}
		})
	}
	wg.Wait()
	status := fiber.StatusOK
	if res.Status == "unavailable" {
		status = fiber.StatusServiceUnavailable
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(res)
}
