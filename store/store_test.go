package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestOpenEmbedded_KeepsDataAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfg := store.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)}

	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Reachable by this user only: a socket in a private directory, no TCP port.
	sock := filepath.Join(dir, "mongodb.sock")
	if !s.Embedded || s.URI != "mongodb://"+url.PathEscape(sock)+"/" {
		t.Fatalf("embedded server should listen on %s only, got %q", sock, s.URI)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "db"): 0o700, sock: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	if uri, ok := store.EmbeddedURI(dir); !ok || uri != s.URI {
		t.Fatalf("recorded address = %q, want %q", uri, s.URI)
	}
	if _, err := s.DB.Collection("notes").InsertOne(ctx, bson.M{"_id": "n1", "text": "halo"}); err != nil {
		t.Fatal(err)
	}

	// A second process on the same files must be refused while the first runs.
	if _, err := store.Open(ctx, cfg); !errors.Is(err, store.ErrDataDirInUse) {
		t.Fatalf("second open: err = %v, want ErrDataDirInUse", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.EmbeddedURI(dir); ok {
		t.Fatal("address file should be removed at close")
	}

	s, err = store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var got bson.M
	if err := s.DB.Collection("notes").FindOne(ctx, bson.M{"_id": "n1"}).Decode(&got); err != nil {
		t.Fatalf("data lost across restart: %v", err)
	}
	if got["text"] != "halo" {
		t.Fatalf("text = %v", got["text"])
	}
}

func TestEnsureIndexes_IdempotentAndUnique(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	// Two or more: FerretDB v1 crashed re-creating several existing indexes in one command.
	set := store.Indexes{Collection: "things", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: -1}}},
	}}
	for range 2 {
		if err := store.EnsureIndexes(ctx, db, set); err != nil {
			t.Fatal(err)
		}
	}
	coll := db.Collection("things")
	if _, err := coll.InsertOne(ctx, bson.M{"slug": "a"}); err != nil {
		t.Fatal(err)
	}
	_, err := coll.InsertOne(ctx, bson.M{"slug": "a"})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("second insert: err = %v, want a duplicate-key error", err)
	}
}

// FerretDB v1 updates by read-then-write; the embedded store must still count every $inc.
func TestEmbedded_ConcurrentIncrementsAreNotLost(t *testing.T) {
	ctx := context.Background()
	coll := storetest.DB(t).Collection("counters")
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "c", "n": 0}); err != nil {
		t.Fatal(err)
	}
	const writers = 40
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if _, err := coll.UpdateOne(ctx, bson.M{"_id": "c"}, bson.M{"$inc": bson.M{"n": 1}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var got struct{ N int }
	if err := coll.FindOne(ctx, bson.M{"_id": "c"}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.N != writers {
		t.Fatalf("n = %d after %d concurrent increments", got.N, writers)
	}
}

func TestConnect_RejectsBadURI(t *testing.T) {
	if _, _, err := store.Connect("postgres://nope"); err == nil {
		t.Fatal("want an error for a non-MongoDB URI")
	}
}

func TestLeases_OneHolderUntilExpiry(t *testing.T) {
	ctx := context.Background()
	l := store.NewLeases(storetest.DB(t))
	if ok, err := l.Acquire(ctx, "sync", "a", time.Minute); !ok || err != nil {
		t.Fatalf("a free lease: %v %v", ok, err)
	}
	if ok, _ := l.Acquire(ctx, "sync", "b", time.Minute); ok {
		t.Fatal("a held lease cannot be taken")
	}
	if ok, _ := l.Acquire(ctx, "sync", "a", time.Minute); !ok {
		t.Fatal("the holder renews")
	}
	if ok, _ := l.Acquire(ctx, "other", "b", 10*time.Millisecond); !ok {
		t.Fatal("another lease is free")
	}
	time.Sleep(20 * time.Millisecond)
	if ok, _ := l.Acquire(ctx, "other", "c", time.Minute); !ok {
		t.Fatal("an expired lease can be taken")
	}
	if err := l.Release(ctx, "sync", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, "sync", "b", time.Minute); !ok {
		t.Fatal("a released lease is free")
	}
}

// Past the size its figures hold for, the embedded store says so (the log and /readyz pass
// it on, with the advice to move to MongoDB).
func TestEmbedded_SaysWhenItHasOutgrownItself(t *testing.T) {
	if os.Getenv("GUYUB_TEST_MONGODB_URI") != "" {
		t.Skip("embedded only")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.CheckSize(ctx); err != nil {
		t.Fatalf("a new store: %v", err)
	}
	// A sparse file stands in for years of posts.
	f, err := os.Create(filepath.Join(dir, "db", "history.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(store.EmbeddedLimit + 1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSize(ctx); err == nil || !strings.Contains(err.Error(), "past the 3 GiB") {
		t.Fatalf("an outgrown store: %v", err)
	}
}

// A holder that provably died — its process gone from this host, or its pid now ours, as
// after a container restart — loses its lease at once; one on another host keeps it until
// it expires. A lease marked done is not taken again until it expires.
func TestLeases_DeadHolderAndDoneWork(t *testing.T) {
	ctx := context.Background()
	l := store.NewLeases(storetest.DB(t))
	self := store.NewOwner()
	host, _, _ := strings.Cut(self, "/")
	crashed := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), 1) // our pid, another process: a restart
	if ok, _ := l.Acquire(ctx, "sync", crashed, time.Hour); !ok {
		t.Fatal("a free lease")
	}
	if ok, err := l.Acquire(ctx, "sync", self, time.Hour); !ok || err != nil {
		t.Fatalf("a dead holder's lease is not taken over: %v %v", ok, err)
	}
	elsewhere := "other-host/1/ab"
	if ok, _ := l.Acquire(ctx, "far", elsewhere, time.Hour); !ok {
		t.Fatal("a free lease")
	}
	if ok, _ := l.Acquire(ctx, "far", self, time.Hour); ok {
		t.Fatal("a holder on another host was declared dead")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	exited := fmt.Sprintf("%s/%d/%x", host, gone.Process.Pid, 2)
	if !store.OwnerDead(exited, self) || store.OwnerDead(self, self) || store.OwnerDead("junk", self) {
		t.Fatal("OwnerDead")
	}

	if ok, _ := l.Acquire(ctx, "daily", self, 50*time.Millisecond); !ok {
		t.Fatal("a free lease")
	}
	if err := l.Done(ctx, "daily", self); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, "daily", self, time.Hour); ok {
		t.Fatal("done work was taken again before its lease expired")
	}
	time.Sleep(60 * time.Millisecond)
	if ok, _ := l.Acquire(ctx, "daily", self, time.Hour); !ok {
		t.Fatal("an expired done lease is free again")
	}
}

// A write's mark lives while it runs; what a crash leaves is stale at once if its process
// died here, after the grace otherwise; another write on the same target makes it busy.
func TestInFlight_MarksLiveWhileAWriteRuns(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	f := store.NewInFlight(db)
	target := bson.NewObjectID()
	end, err := f.Begin(ctx, "thread", target)
	if err != nil {
		t.Fatal(err)
	}
	if stale, err := f.Stale(ctx, time.Minute); err != nil || len(stale) != 0 {
		t.Fatalf("a running write's mark is stale: %v %v", stale, err)
	}
	if busy, _ := f.Busy(ctx, "thread", target, nil); !busy {
		t.Fatal("a target with a write in flight is not busy")
	}
	end(true)
	failed, err := f.Begin(ctx, "thread", target)
	if err != nil {
		t.Fatal(err)
	}
	failed(false) // a step failed: the mark stays for the repair
	// Ended marks are deleted together, a moment later; the failed write's stays.
	n := int64(2)
	for deadline := time.Now().Add(5 * time.Second); n > 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n, err = db.Collection("in_flight").CountDocuments(ctx, bson.M{}); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("%d marks after one write ended and one failed, want the failed one's", n)
	}

	if _, err := db.Collection("in_flight").DeleteMany(ctx, bson.M{}); err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(store.ProcessOwner(), "/")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	marks := []any{
		store.Mark{ID: bson.NewObjectID(), Kind: "thread", Target: target, Owner: fmt.Sprintf("%s/%d/%x", host, gone.Process.Pid, 1), At: now},
		store.Mark{ID: bson.NewObjectID(), Kind: "idea", Target: target, Owner: "other-host/1/ab", At: now.Add(-2 * time.Minute)},
		store.Mark{ID: bson.NewObjectID(), Kind: "likes", Target: target, Owner: "other-host/1/ab", At: now},
	}
	if _, err := db.Collection("in_flight").InsertMany(ctx, marks); err != nil {
		t.Fatal(err)
	}
	stale, err := f.Stale(ctx, time.Minute)
	if err != nil || len(stale) != 2 || stale[0].Kind != "thread" || stale[1].Kind != "idea" {
		t.Fatalf("stale marks: %+v %v (want the dead process's and the old one)", stale, err)
	}
	if busy, _ := f.Busy(ctx, "thread", target, stale[:1]); busy {
		t.Fatal("busy with only the marks being handled")
	}
	if busy, _ := f.Busy(ctx, "likes", target, stale); !busy {
		t.Fatal("a live write elsewhere does not make its target busy")
	}
	if err := f.Clear(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Collection("in_flight").CountDocuments(ctx, bson.M{}); n != 1 {
		t.Fatalf("%d marks after clearing two of three", n)
	}
}
