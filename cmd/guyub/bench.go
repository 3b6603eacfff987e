package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/guyub/guyub/bench"
	"github.com/guyub/guyub/seed"
)

// bench drives a running portal with a mix of page views, API reads and signed-in writes and
// prints throughput and latency per route (see package bench). Run the portal with
// GUYUB_RATE_LIMIT=0, or the limiter answers most of the load with 429.
func (p program) bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("guyub bench", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	base := fs.String("url", "http://localhost:8080", "the running portal")
	duration := fs.Duration("duration", 30*time.Second, "how long to drive it")
	readers := fs.Int("connections", 64, "concurrent anonymous readers")
	writers := fs.Int("writers", 8, "concurrent signed-in writers (members guyub seed made); 0 for reads only")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	baseline := fs.Bool("baseline", true, "then drive a bare Fiber handler in this process for as long, for scale")
	uncached := fs.Bool("uncached", false, "readers ask for fresh pages (Cache-Control: no-cache), to measure what rendering costs")
	rate := fs.Int("rate", 0, "anonymous reads per second in all, spread over the connections; 0: as many as they can")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *readers < 1 || *writers < 0 || *duration <= 0 || *rate < 0 {
		return fmt.Errorf("--connections must be at least 1, --writers and --rate at least 0, --duration positive")
	}
	var members []bench.Member
	// One account per writer: sign-ins are limited per address (30 in 15 minutes).
	for i := range min(*writers, seed.BenchMembers) {
		members = append(members, bench.Member{Email: seed.MemberEmail(i), Password: seed.BenchPassword})
	}
	pace := "as fast as they can"
	if *rate > 0 {
		pace = fmt.Sprintf("%d reads/s", *rate)
	}
	fmt.Fprintf(p.stderr, "driving %s for %s: %d readers (%s), %d writers\n", *base, *duration, *readers, pace, *writers)
	rep, err := bench.Run(ctx, bench.Config{BaseURL: *base, Duration: *duration, Readers: *readers, ReadRate: *rate, Writers: *writers, Members: members, Uncached: *uncached})
	if err != nil {
		return err
	}
	if *baseline {
		if rep.Baseline, err = bench.Baseline(ctx, *readers, min(*duration, 10*time.Second)); err != nil {
			return err
		}
	}
	if err := rep.WriteTable(p.stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}
