package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// rateLimit counts requests per client IP in MongoDB, shared by every instance. If the
// counter store fails the request goes through: a limiter outage must not take the site down.
func (s *Server) rateLimit(c *fiber.Ctx) error {
	if s.cfg.RateLimit <= 0 || c.Locals(refreshLocal) != nil {
		return c.Next()
	}
	d, err := s.deps.Limiter.Allow(c.UserContext(), "ip:"+s.clientIP(c), s.cfg.RateLimit, s.cfg.RateWindow)
	if err != nil {
		s.log.Warn("rate limiter unavailable; request allowed", "err", err)
		return c.Next()
	}
	c.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	if !d.Allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(d.RetryAfter(time.Now()).Seconds())))
		return fiber.ErrTooManyRequests
	}
	return c.Next()
}
