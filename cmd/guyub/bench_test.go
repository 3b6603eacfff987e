package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/bench"
	"github.com/guyub/guyub/seed"
	"github.com/guyub/guyub/store"
)

// Every route guyub bench drives — page views, API reads and signed-in writes — is answered
// without a query that reads a whole collection on the embedded database (it logs each such
// statement, from its SQLite plan, the first time the statement runs), and without a 5xx.
func TestBench_EveryRouteRunsWithoutScansOrServerErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a community")
	}
	dir := t.TempDir()
	if out, err := runCmd(t, "seed", "--scale", "tiny", "--data", dir); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	r := start(t, "--data", dir, "--rate-limit", "0")
	var members []bench.Member
	for i := range 2 {
		members = append(members, bench.Member{Email: seed.MemberEmail(i), Password: seed.BenchPassword})
	}
	rep, err := bench.Run(context.Background(), bench.Config{BaseURL: r.URL, Duration: 4 * time.Second, Readers: 4, ReadRate: 150, Writers: 2, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Routes) < 14 {
		t.Errorf("only %d routes were driven", len(rep.Routes))
	}
	for _, route := range rep.Routes {
		if route.Errors > 0 || route.Requests == 0 {
			t.Errorf("%s: %d requests, %d errors, statuses %v", route.Route, route.Requests, route.Errors, route.Statuses)
		}
	}
	if rep.Reads.Requests > 150*4+1 {
		t.Errorf("%d reads in 4 s at 150 a second", rep.Reads.Requests)
	}
	if rep.Routes[0].Cache["hit"] == 0 && rep.Routes[0].Cache["stale"] == 0 {
		t.Errorf("%s was never answered from the page cache: %v", rep.Routes[0].Route, rep.Routes[0].Cache)
	}
	if rep.Readiness.Checks == 0 || rep.Readiness.NotOK > 0 {
		t.Errorf("/readyz during the run: %+v", rep.Readiness)
	}
	for _, line := range strings.Split(r.Log.String(), "\n") {
		if strings.Contains(line, store.FullScanMessage) {
			t.Errorf("a request read a whole collection: %s", line)
		}
	}
}
