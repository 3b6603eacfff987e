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
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
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

	// An index no longer declared is dropped, once; so is nothing on a collection not made yet.
	set.Models, set.Retired = set.Models[:1], []string{"kind_1__id_-1"}
	for range 2 {
		if err := store.EnsureIndexes(ctx, db, set, store.Indexes{Collection: "not_yet", Retired: []string{"x_1"}}); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if spec.Name == "kind_1__id_-1" {
			t.Fatalf("the retired index is still there: %+v", specs)
		}
	}
	if len(specs) != 2 {
		t.Fatalf("indexes %+v, want _id and slug", specs)
	}
}

// The embedded store writes the documents one update command changes together (the
// FerretDB fork's WriteBatch); its statements must still see each other's changes, as on
// MongoDB, and a refused one must leave those before it written.
func TestEmbedded_UpdatesOfOneCommandSeeEachOther(t *testing.T) {
	ctx := context.Background()
	coll := storetest.DB(t).Collection("batched")
	var docs []any
	for i := range 250 {
		docs = append(docs, bson.M{"_id": i, "group": "many", "n": 0})
	}
	docs = append(docs, bson.M{"_id": "a", "n": 0}, bson.M{"_id": "b"})
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	res, err := coll.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "a"}).SetUpdate(bson.M{"$inc": bson.M{"n": 1}}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "a"}).SetUpdate(bson.M{"$inc": bson.M{"n": 1}}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "b"}).SetUpdate(bson.M{"$set": bson.M{"x": 1}}),
		mongo.NewUpdateManyModel().SetFilter(bson.M{"x": 1}).SetUpdate(bson.M{"$set": bson.M{"y": 2}}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "c"}).SetUpdate(bson.M{"$set": bson.M{"z": 1}}).SetUpsert(true),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "c"}).SetUpdate(bson.M{"$inc": bson.M{"z": 1}}).SetUpsert(true),
		mongo.NewUpdateManyModel().SetFilter(bson.M{"group": "many"}).SetUpdate(bson.M{"$inc": bson.M{"n": 1}}),
	}, options.BulkWrite().SetOrdered(false))
	if err != nil {
		t.Fatal(err)
	}
	if res.ModifiedCount != 2+1+1+1+250 || res.UpsertedCount != 1 {
		t.Errorf("modified %d, upserted %d; want 255 and 1", res.ModifiedCount, res.UpsertedCount)
	}
	var got []struct {
		ID   any `bson:"_id"`
		N, Y int
		Z    int
	}
	cur, err := coll.Find(ctx, bson.M{"_id": bson.M{"$in": bson.A{"a", "b", "c"}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil || cur.All(ctx, &got) != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	if got[0].N != 2 || got[1].Y != 2 || got[2].Z != 2 {
		t.Errorf("a.n = %d (want 2), b.y = %d (want 2), c.z = %d (want 2)", got[0].N, got[1].Y, got[2].Z)
	}
	if n, _ := coll.CountDocuments(ctx, bson.M{"group": "many", "n": 1}); n != 250 {
		t.Errorf("%d of 250 documents of one update counted", n)
	}

	// A unique index refuses the second update: the first stays written, the second's
	// document is unchanged.
	unique := storetest.DB(t).Collection("batched_unique")
	if _, err := unique.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := unique.InsertMany(ctx, []any{bson.M{"_id": 0, "email": "a"}, bson.M{"_id": 1, "email": "b"}, bson.M{"_id": 2, "email": "c"}}); err != nil {
		t.Fatal(err)
	}
	_, err = unique.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 0}).SetUpdate(bson.M{"$set": bson.M{"email": "z"}}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 1}).SetUpdate(bson.M{"$set": bson.M{"email": "c"}}),
	}, options.BulkWrite().SetOrdered(true))
	if err == nil {
		t.Fatal("an update against a unique index was not refused")
	}
	if n, _ := unique.CountDocuments(ctx, bson.M{"_id": 0, "email": "z"}); n != 1 {
		t.Error("the update before the refused one was not written")
	}
	if n, _ := unique.CountDocuments(ctx, bson.M{"_id": 1, "email": "b"}); n != 1 {
		t.Error("the refused update was written")
	}
	// So does an upsert before a refused update, and an update before a statement that fails
	// before it writes (an $inc of text).
	_, err = unique.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 10}).SetUpdate(bson.M{"$set": bson.M{"email": "q"}}).SetUpsert(true),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 1}).SetUpdate(bson.M{"$set": bson.M{"email": "c"}}),
	}, options.BulkWrite().SetOrdered(true))
	if n, _ := unique.CountDocuments(ctx, bson.M{"_id": 10}); err == nil || n != 1 {
		t.Errorf("err = %v, upserted %d; want the refusal, and the upsert before it written", err, n)
	}
	_, err = unique.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 2}).SetUpdate(bson.M{"$set": bson.M{"seen": true}}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 1}).SetUpdate(bson.M{"$inc": bson.M{"email": 1}}),
	}, options.BulkWrite().SetOrdered(true))
	if n, _ := unique.CountDocuments(ctx, bson.M{"_id": 2, "seen": true}); err == nil || n != 1 {
		t.Errorf("err = %v, written %d; want the $inc refused, and the update before it written", err, n)
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

// Writes that begin while another's mark is being written have theirs written together, in
// one insert, and each mark is stored before its Begin returns.
func TestInFlight_MarksBegunTogetherAreWrittenTogether(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	f := store.NewInFlight(db)
	const writes = 40
	var begun, inserts atomic.Int32
	storetest.Watch(t, &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if coll, _ := e.Command.Lookup("insert").StringValueOK(); e.DatabaseName != db.Name() || coll != "in_flight" {
			return
		}
		if inserts.Add(1) == 1 {
			// The first insert waits until every other write has begun.
			for begun.Load() < writes {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}})
	var wg sync.WaitGroup
	errs := make(chan error, writes)
	for range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := bson.NewObjectID()
			begun.Add(1)
			if _, err := f.Begin(ctx, "thread", target); err != nil {
				errs <- err
				return
			}
			if busy, err := f.Busy(ctx, "thread", target, nil); !busy {
				errs <- fmt.Errorf("Begin returned before its mark was stored (%v)", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := db.Collection("in_flight").CountDocuments(ctx, bson.M{}); n != writes {
		t.Errorf("%d marks stored for %d writes", n, writes)
	}
	if n := inserts.Load(); n > 3 {
		t.Errorf("%d inserts for %d marks begun together, want 2", n, writes)
	}
}
