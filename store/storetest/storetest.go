// Package storetest gives each test a fresh database on one embedded FerretDB per test
// package, or on the real MongoDB named by GUYUB_TEST_MONGODB_URI.
//
// A package that uses it runs its tests through Main so the server stops at the end:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/store"
)

var (
	startOnce sync.Once
	shared    *store.Store
	startErr  error
	dataDir   string
	dbCounter atomic.Int64
)

// Main runs the package's tests and then stops the shared server and removes its files.
func Main(m *testing.M, after ...func() bool) {
	code := m.Run()
	for _, ok := range after { // checks of the whole run: false fails it
		if !ok() && code == 0 {
			code = 1
		}
	}
	if os.Getenv("GUYUB_TEST_SCANS") != "" {
		scans.Lock()
		for db, list := range scans.by {
			for _, q := range list {
				fmt.Fprintf(os.Stderr, "SCAN %s %s\n", db, q)
			}
		}
		scans.Unlock()
	}
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = shared.Close(ctx)
		cancel()
	}
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
	os.Exit(code)
}

// Server returns the shared store, starting it on first use.
func Server(t testing.TB) *store.Store {
	t.Helper()
	startOnce.Do(func() {
		cfg := store.Config{
			URI:     os.Getenv("GUYUB_TEST_MONGODB_URI"),
			Logger:  slog.New(scanRecorder{}),
			Monitor: &event.CommandMonitor{Started: recordCommand, Succeeded: succeeded, Failed: failed},
		}
		if cfg.URI == "" {
			dataDir, startErr = os.MkdirTemp("", "guyub-storetest-*")
			if startErr != nil {
				return
			}
			cfg.DataDir = dataDir
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shared, startErr = store.Open(ctx, cfg)
		if startErr == nil {
			startErr = shared.Ping(ctx)
		}
	})
	if startErr != nil {
		t.Fatalf("start test database: %v", startErr)
	}
	return shared
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// DB returns a database of its own for this test, dropped when the test ends.
func DB(t testing.TB) *mongo.Database {
	t.Helper()
	s := Server(t)
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	db := s.Client.Database(fmt.Sprintf("t%d_%s", dbCounter.Add(1), name))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// scans holds the queries the embedded server reported as reading a whole collection, by
// database name.
var scans = struct {
	sync.Mutex
	by map[string][]string
}{by: map[string][]string{}}

// FullScans returns the queries on db that read a whole collection on the embedded server:
// queries that no index serves. Always empty on MongoDB.
func FullScans(db *mongo.Database) []string {
	scans.Lock()
	defer scans.Unlock()
	return append([]string(nil), scans.by[db.Name()]...)
}

// scanRecorder drops log records but keeps the embedded server's full-scan reports.
type scanRecorder struct{}

func (scanRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (scanRecorder) WithAttrs([]slog.Attr) slog.Handler       { return scanRecorder{} }
func (scanRecorder) WithGroup(string) slog.Handler            { return scanRecorder{} }

func (scanRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Message != store.FullScanMessage {
		return nil
	}
	var db, coll, q string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "db":
			db = a.Value.String()
		case "collection":
			coll = a.Value.String()
		case "sql":
			q = a.Value.String()
		}
		return true
	})
	scans.Lock()
	scans.by[db] = append(scans.by[db], coll+": "+q)
	scans.Unlock()
	return nil
}

// commands holds what the driver sent, by database name.
var commands = struct {
	sync.Mutex
	by map[string][]Command
}{by: map[string][]Command{}}

// Command is one command the driver sent: its name, collection and filter (or query).
type Command struct {
	Name       string
	Collection string
	Filter     bson.Raw   // an update's: its first statement's
	Updates    []bson.Raw // an update's: every statement's filter
}

func (c Command) String() string {
	if c.Filter == nil {
		return c.Name + " " + c.Collection
	}
	return c.Name + " " + c.Collection + " " + c.Filter.String()
}

func recordCommand(ctx context.Context, e *event.CommandStartedEvent) {
	eachWatcher(func(m *event.CommandMonitor) {
		if m.Started != nil {
			m.Started(ctx, e)
		}
	})
	c := Command{Name: e.CommandName}
	if v, err := e.Command.LookupErr(e.CommandName); err == nil {
		c.Collection, _ = v.StringValueOK()
	}
	for _, key := range []string{"filter", "query", "q"} {
		if v, err := e.Command.LookupErr(key); err == nil {
			c.Filter, _ = v.DocumentOK()
		}
	}
	if v, err := e.Command.LookupErr("updates"); err == nil {
		if arr, ok := v.ArrayOK(); ok {
			values, _ := arr.Values()
			for _, u := range values {
				if doc, ok := u.DocumentOK(); ok {
					q, _ := doc.Lookup("q").DocumentOK()
					c.Updates = append(c.Updates, q)
				}
			}
			if len(c.Updates) > 0 {
				c.Filter = c.Updates[0]
			}
		}
	}
	commands.Lock()
	commands.by[e.DatabaseName] = append(commands.by[e.DatabaseName], c)
	commands.Unlock()
}

// Commands returns the commands sent to db since the last call, and forgets them: a test
// counts what one request sends.
func Commands(db *mongo.Database) []Command {
	commands.Lock()
	defer commands.Unlock()
	list := commands.by[db.Name()]
	delete(commands.by, db.Name())
	return list
}

// watchers are monitors tests added with Watch.
var watchers struct {
	sync.Mutex
	list []*event.CommandMonitor
}

// Watch adds a command monitor to the shared test client (a page cache, say). It sees every
// test's commands, as it would see every request's in a server.
func Watch(t testing.TB, m *event.CommandMonitor) {
	Server(t)
	watchers.Lock()
	watchers.list = append(watchers.list, m)
	watchers.Unlock()
	t.Cleanup(func() {
		watchers.Lock()
		defer watchers.Unlock()
		for i, w := range watchers.list {
			if w == m {
				watchers.list = append(watchers.list[:i], watchers.list[i+1:]...)
				break
			}
		}
	})
}

func eachWatcher(fn func(*event.CommandMonitor)) {
	watchers.Lock()
	list := append([]*event.CommandMonitor(nil), watchers.list...)
	watchers.Unlock()
	for _, m := range list {
		fn(m)
	}
}

func succeeded(ctx context.Context, e *event.CommandSucceededEvent) {
	eachWatcher(func(m *event.CommandMonitor) {
		if m.Succeeded != nil {
			m.Succeeded(ctx, e)
		}
	})
}

func failed(ctx context.Context, e *event.CommandFailedEvent) {
	eachWatcher(func(m *event.CommandMonitor) {
		if m.Failed != nil {
			m.Failed(ctx, e)
		}
	})
}
