package exports

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// notes is a place of member data for the tests: big documents, so that an archive takes
// several chunks.
var notes = []store.MemberData{{Collection: "notes", Field: "member"}}

// world is a database with a member's notes and the service on it, its clock fixed.
type world struct {
	t      *testing.T
	db     *mongo.Database
	s      *Service
	member bson.ObjectID
}

func newWorld(t *testing.T, notesOf int) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	all := append([]store.Indexes{{Collection: "notes", Models: []mongo.IndexModel{{Keys: bson.D{{Key: "member", Value: 1}}}}}}, Indexes...)
	if err := store.EnsureIndexes(ctx, db, all...); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	w := &world{t: t, db: db, member: bson.NewObjectID(),
		s: New(db, append(append([]store.MemberData{}, notes...), MemberData...), Config{DirectLimit: 1, Owner: "here", Now: func() time.Time { return now }})}
	for i := range notesOf {
		// 700 kB each, < and & among them (escaped in the archive).
		text := strings.Repeat(string(rune('a'+i))+"<&>", 700_000/4)
		if _, err := db.Collection("notes").InsertOne(ctx, bson.M{"_id": bson.NewObjectID(), "member": w.member, "text": text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Collection("notes").InsertOne(ctx, bson.M{"_id": bson.NewObjectID(), "member": bson.NewObjectID(), "text": "someone else's"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// direct is the archive written at once.
func (w *world) direct() []byte {
	w.t.Helper()
	var b bytes.Buffer
	if err := w.s.Write(context.Background(), &b, w.member); err != nil {
		w.t.Fatal(err)
	}
	return b.Bytes()
}

// download reads the prepared archive whole.
func (w *world) download() []byte {
	w.t.Helper()
	e, err := w.s.Status(context.Background(), w.member)
	if err != nil || e == nil || e.Status != StatusReady {
		w.t.Fatalf("not ready: %+v, %v", e, err)
	}
	a, err := w.s.Open(context.Background(), w.member, e.Attempt)
	if err != nil {
		w.t.Fatal(err)
	}
	b, err := io.ReadAll(a)
	if err != nil {
		w.t.Fatal(err)
	}
	if int64(len(b)) != a.Size {
		w.t.Errorf("read %d bytes, the size says %d", len(b), a.Size)
	}
	return b
}

// chunksLeft counts the chunks of attempt still stored, by _id.
func (w *world) chunksLeft(attempt, upTo int) int {
	n := 0
	for i := range upTo {
		if w.db.Collection(chunksCollection).FindOne(context.Background(), bson.M{"_id": chunkID(w.member, attempt, i)}).Err() == nil {
			n++
		}
	}
	return n
}

func (w *world) noFullScans() {
	for _, q := range storetest.FullScans(w.db) {
		w.t.Errorf("a query read a whole collection: %s", q)
	}
}

// An archive of several MB is stored in chunks of under 1 MiB and read back as the very
// bytes the direct download writes; its own collections are not in it.
func TestBuild_ChunksReadBackAsTheDirectArchive(t *testing.T) {
	w := newWorld(t, 3)
	ctx := context.Background()
	if direct, err := w.s.Request(ctx, w.member); err != nil || direct {
		t.Fatalf("request: direct %v, %v", direct, err)
	}
	if err := w.s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	e, _ := w.s.Status(ctx, w.member)
	if e.Chunks < 3 || e.Size <= 2_000_000 {
		t.Errorf("%d chunks, %d bytes", e.Chunks, e.Size)
	}
	got, want := w.download(), w.direct()
	if !bytes.Equal(got, want) {
		t.Errorf("the prepared archive (%d bytes) is not the direct one (%d bytes)", len(got), len(want))
	}
	if bytes.Contains(got, []byte("<&>")) || bytes.Contains(got, []byte("someone else's")) || bytes.Contains(got, []byte(`"exports"`)) {
		t.Error("the archive holds unescaped markup, another member's note, or itself")
	}
	w.noFullScans()
}

// A build cut short by a crash is started again under a new attempt once its lease has
// expired: the chunks it left are deleted, and the archive is whole.
func TestBuild_RestartsAfterACrash(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	if _, err := w.s.Request(ctx, w.member); err != nil {
		t.Fatal(err)
	}
	// The crashed build: attempt 1, two chunks recorded (one written), its lease run out.
	if _, err := w.s.requests.UpdateOne(ctx, bson.M{"_id": w.member}, bson.M{"$set": bson.M{"attempt": 1, "chunks": 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.chunks.InsertOne(ctx, chunk{ID: chunkID(w.member, 1, 0), Member: w.member, Data: []byte("half")}); err != nil {
		t.Fatal(err)
	}
	leases := store.NewLeases(w.db)
	if held, err := leases.Acquire(ctx, leaseName, "elsewhere", -time.Second); err != nil || !held {
		t.Fatal(held, err)
	}
	if err := w.s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	if e, _ := w.s.Status(ctx, w.member); e.Attempt != 2 {
		t.Errorf("attempt %d, want 2", e.Attempt)
	}
	if n := w.chunksLeft(1, 2); n != 0 {
		t.Errorf("%d chunks of the crashed build are left", n)
	}
	if !bytes.Equal(w.download(), w.direct()) {
		t.Error("the archive is not whole")
	}
	w.noFullScans()
}

// While another instance holds the lease, nothing is built here.
func TestBuild_OneInstanceAtATime(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	if _, err := w.s.Request(ctx, w.member); err != nil {
		t.Fatal(err)
	}
	if held, err := store.NewLeases(w.db).Acquire(ctx, leaseName, "elsewhere", time.Minute); err != nil || !held {
		t.Fatal(held, err)
	}
	if err := w.s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	if e, _ := w.s.Status(ctx, w.member); e.Status != StatusPending || e.Attempt != 0 {
		t.Errorf("built beside the lease's holder: %+v", e)
	}
}

// buildInterrupted requests the member's archive and builds it, running meanwhile once the
// first chunk is stored.
func (w *world) buildInterrupted(meanwhile func() error) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.s.Request(ctx, w.member); err != nil {
		w.t.Fatal(err)
	}
	e, _ := w.s.Status(ctx, w.member)
	flushes := 0
	keep := func() error {
		if flushes++; flushes == 2 {
			return meanwhile()
		}
		return nil
	}
	if err := w.s.build(ctx, e, keep); err != nil {
		w.t.Fatal(err)
	}
}

// An account erased during the build (its request gone) leaves no chunk behind.
func TestBuild_ErasedMeanwhileLeavesNothing(t *testing.T) {
	w := newWorld(t, 3)
	ctx := context.Background()
	w.buildInterrupted(func() error {
		return store.EraseMember(ctx, w.db, w.member, bson.NewObjectID(), MemberData, nil, false)
	})
	if n := w.chunksLeft(1, 4); n != 0 {
		t.Errorf("%d chunks left", n)
	}
	if e, _ := w.s.Status(ctx, w.member); e != nil {
		t.Errorf("the request is back: %+v", e)
	}
}

// A build whose request was taken over (another instance started it again: a new attempt)
// stops at its next chunk and takes the chunks it wrote away.
func TestBuild_TakenOverTakesItsChunksAway(t *testing.T) {
	w := newWorld(t, 3)
	ctx := context.Background()
	w.buildInterrupted(func() error {
		_, err := w.s.requests.UpdateOne(ctx, bson.M{"_id": w.member}, bson.M{"$set": bson.M{"attempt": 2, "chunks": 0}})
		return err
	})
	if n := w.chunksLeft(1, 4); n != 0 {
		t.Errorf("%d chunks of the stale build are left", n)
	}
}

// Asking while an archive is ready prepares a new one in its place; the old one's chunks go.
func TestRequest_AgainWhenReadyReplacesIt(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	if _, err := w.s.Request(ctx, w.member); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := w.s.Status(ctx, w.member)
	if _, err := w.s.Request(ctx, w.member); err != nil {
		t.Fatal(err)
	}
	if e, _ := w.s.Status(ctx, w.member); e.Status != StatusPending {
		t.Fatalf("asked again: %+v", e)
	}
	if _, err := w.s.Open(ctx, w.member, first.Attempt); !errors.Is(err, ErrNotFound) {
		t.Errorf("the old archive still opens: %v", err)
	}
	if err := w.s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.chunksLeft(first.Attempt, first.Chunks); n != 0 {
		t.Errorf("%d chunks of the old archive are left", n)
	}
	if !bytes.Equal(w.download(), w.direct()) {
		t.Error("the new archive is not whole")
	}
	w.noFullScans()
}
