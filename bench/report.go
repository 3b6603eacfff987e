package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gofiber/fiber/v2"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// WriteTable prints the report as a table: a row per route, then the totals and the bare
// handler for scale.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "route\trequests\tper s\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors\tstatus codes\tpage cache\t\n")
	row := func(s RouteStats) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", s.Route, s.Requests, s.PerSec, s.P50, s.P95, s.P99, s.Max, s.Errors, codes(s.Statuses), codes(s.Cache))
	}
	for _, s := range r.Routes {
		row(s)
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\t\t\n")
	row(r.Reads)
	if r.Writers > 0 {
		row(r.Writes)
	}
	if r.Baseline != nil {
		row(*r.Baseline)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "/readyz: asked %d times, not ok %d times\n", r.Readiness.Checks, r.Readiness.NotOK); err != nil {
		return err
	}
	if r.Baseline != nil && r.Baseline.PerSec > 0 {
		_, err := fmt.Fprintf(w, "reads / bare Fiber handler: %.4f (%.0f vs %.0f per second at %d connections)\n",
			r.Reads.PerSec/r.Baseline.PerSec, r.Reads.PerSec, r.Baseline.PerSec, r.Readers)
		return err
	}
	return nil
}

func codes(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// Baseline drives a bare Fiber handler, served by this process, with as many readers for as
// long: the ceiling this machine and this load generator allow, to read the portal's figures
// against.
func Baseline(ctx context.Context, readers int, duration time.Duration) (*RouteStats, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
	go func() { _ = app.Listener(ln) }()
	defer app.Shutdown()

	a := vegeta.NewAttacker(vegeta.Workers(uint64(readers)), vegeta.MaxWorkers(uint64(readers)),
		vegeta.Connections(readers), vegeta.MaxConnections(readers), vegeta.KeepAlive(true))
	go func() { <-ctx.Done(); a.Stop() }()
	target := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: "http://" + ln.Addr().String() + "/"})
	var m vegeta.Metrics
	codes := map[string]int{}
	for res := range a.Attack(target, vegeta.Rate{}, duration, "bare") {
		m.Add(res)
		codes[fmt.Sprint(res.Code)]++
	}
	s := stats("bare Fiber handler", &m, codes)
	return &s, nil
}
