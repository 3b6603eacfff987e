package handlers

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guyub_http_requests_total",
			Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "guyub_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// observe logs each request and counts it in the metrics. It renders errors itself, so
// what it records is the status the client really got.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	// The request's work ends when its answer could no longer be sent, so a long list of
	// decisions or an export stops instead of running on; the error page is made within it.
	ctx, cancel := context.WithTimeout(c.UserContext(), requestDeadline)
	c.SetUserContext(ctx)
	if err := c.Next(); err != nil {
		if herr := s.handleError(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	cancel()
	elapsed := time.Since(start)
	status := c.Response().StatusCode()
	// Label values live on in the registry: copies, not Fiber's strings, which the next
	// request on this connection overwrites.
	method, route := strings.Clone(c.Method()), strings.Clone(routeLabel(c))
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
	s.log.Info("request",
		"method", c.Method(),
		"path", c.Path(),
		"route", route,
		"status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000,
		"bytes", len(c.Response().Body()),
		"ip", s.clientIP(c),
		"request_id", c.Locals("requestid"),
	)
	return nil
}

// routeLabel names the matched route pattern, so metrics do not grow a series per URL.
// When no route matched, Fiber leaves the last middleware ("/", registered with Use) as the
// route; a request for any other path is then unmatched.
func routeLabel(c *fiber.Ctx) string {
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		return "unmatched"
	}
	return route
}

func (s *Server) logPanic(c *fiber.Ctx, e any) {
	s.log.Error("panic", "path", c.Path(), "request_id", c.Locals("requestid"),
		"panic", fmt.Sprint(e), "stack", string(debug.Stack()))
}

func (s *Server) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{}))
}
