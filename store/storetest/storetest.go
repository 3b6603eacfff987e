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
func Main(m *testing.M) {
	code := m.Run()
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
			URI:    os.Getenv("GUYUB_TEST_MONGODB_URI"),
			Logger: slog.New(slog.DiscardHandler),
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
