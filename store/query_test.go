package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	_ "modernc.org/sqlite" // to make a data directory look as upstream FerretDB left it

	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// The embedded server pushes filters and sorts down to SQLite (third_party/ferretdb). These
// tests pin MongoDB's answers on the cases where SQL differs: mixed number types, null and
// missing, arrays, values SQL conflates (an ObjectID and its hex, true and 1). They run on
// MongoDB too (GUYUB_TEST_MONGODB_URI) with the same expectations.

var (
	owner1 = bson.NewObjectID()
	owner2 = bson.NewObjectID()
	day    = func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
)

func itemsForQueries(t *testing.T) (*mongo.Database, *mongo.Collection) {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, store.Indexes{Collection: "items", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "n", Value: 1}}},
		{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "at", Value: 1}}},
		{Keys: bson.D{{Key: "owner", Value: 1}}},
		{Keys: bson.D{{Key: "flag", Value: 1}}},
		{Keys: bson.D{{Key: "tags", Value: 1}}},
		{Keys: bson.D{{Key: "sub.v", Value: 1}}},
	}}); err != nil {
		t.Fatal(err)
	}
	coll := db.Collection("items")
	docs := []any{
		bson.M{"_id": "a", "n": int32(5), "tags": bson.A{"x", "y"}, "kind": "k1", "at": day(1), "owner": owner1, "flag": true, "sub": bson.M{"v": 1}},
		bson.M{"_id": "b", "n": 5.0, "tags": "x", "kind": "k1", "at": day(2), "owner": owner2, "flag": false, "sub": bson.M{"v": 2}},
		bson.M{"_id": "c", "n": int64(7), "kind": "k2", "at": day(3), "owner": owner1.Hex(), "flag": 1, "sub": bson.M{"v": bson.A{1, 3}}},
		bson.M{"_id": "d", "n": nil, "kind": "k2"},
		bson.M{"_id": "e", "kind": "k3"},
		bson.M{"_id": "f", "n": "5", "kind": "k3"},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	return db, coll
}

func ids(t *testing.T, coll *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) []string {
	t.Helper()
	list, err := store.FindAll[struct {
		ID string `bson:"_id"`
	}](context.Background(), coll, filter, opts...)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, d := range list {
		out = append(out, d.ID)
	}
	return out
}

func TestQueries_MatchMongoDBSemantics(t *testing.T) {
	db, coll := itemsForQueries(t)
	cases := []struct {
		name   string
		filter bson.M
		want   []string
	}{
		{"an int matches a double of the same value, not a string", bson.M{"n": 5}, []string{"a", "b"}},
		{"ranges stay within numbers", bson.M{"n": bson.M{"$gte": 5}}, []string{"a", "b", "c"}},
		{"null matches null and missing", bson.M{"n": nil}, []string{"d", "e"}},
		{"$in with null", bson.M{"n": bson.M{"$in": bson.A{7, nil}}}, []string{"c", "d", "e"}},
		{"$in with nothing", bson.M{"n": bson.M{"$in": bson.A{}}}, []string{}},
		{"a value matches an array holding it", bson.M{"tags": "x"}, []string{"a", "b"}},
		{"a dotted path through an array", bson.M{"sub.v": 1}, []string{"a", "c"}},
		{"an ObjectID does not match its hex string", bson.M{"owner": owner1}, []string{"a"}},
		{"the hex string does not match the ObjectID", bson.M{"owner": owner1.Hex()}, []string{"c"}},
		{"true does not match 1", bson.M{"flag": true}, []string{"a"}},
		{"1 does not match true", bson.M{"flag": 1}, []string{"c"}},
		{"$or of indexed branches", bson.M{"$or": bson.A{bson.M{"kind": "k1"}, bson.M{"n": 7}}}, []string{"a", "b", "c"}},
		{"$or with a branch SQL cannot answer", bson.M{"$or": bson.A{bson.M{"kind": "k3"}, bson.M{"n": bson.M{"$exists": false}}}}, []string{"e", "f"}},
		{"a date range leaves out the missing", bson.M{"kind": "k2", "at": bson.M{"$lt": day(9)}}, []string{"c"}},
		{"$ne keeps the missing", bson.M{"kind": "k2", "n": bson.M{"$ne": 7}}, []string{"d"}},
		{"_id $in", bson.M{"_id": bson.M{"$in": bson.A{"c", "a", "zz"}}}, []string{"a", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(t, coll, tc.filter)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("find %v = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}

	t.Run("sorts put null and missing first, numbers by value", func(t *testing.T) {
		got := ids(t, coll, bson.M{"kind": bson.M{"$in": bson.A{"k1", "k2"}}},
			options.Find().SetSort(bson.D{{Key: "n", Value: 1}, {Key: "_id", Value: 1}}))
		if want := []string{"d", "a", "b", "c"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("a descending sort with a limit", func(t *testing.T) {
		got := ids(t, coll, bson.M{"kind": bson.M{"$in": bson.A{"k1", "k2"}}},
			options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(2))
		if want := []string{"c", "b"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	// Only the conditions on paths that hold arrays (SQLite answers them with json_each,
	// which no index serves) and the $or with a branch SQL cannot answer (nothing pushed
	// down) read the whole collection.
	elements := false
	for _, q := range storetest.FullScans(db) {
		elements = elements || strings.Contains(q, "json_each")
		if strings.Contains(q, "json_each") || !strings.Contains(q, "WHERE") {
			continue
		}
		t.Errorf("a query read the whole collection: %s", q)
	}
	if !elements && os.Getenv("GUYUB_TEST_MONGODB_URI") == "" {
		t.Error("conditions on arrays should be answered by SQLite (json_each), not by decoding every document")
	}
}

// A find of a few fields still filters and sorts on the others (the embedded server decodes
// only the fields a find reads).
func TestQueries_ProjectionFiltersAndSortsOnOtherFields(t *testing.T) {
	_, coll := itemsForQueries(t)
	filter := bson.M{"$or": bson.A{bson.M{"kind": "k1"}, bson.M{"sub.v": 3}}}
	list, err := store.FindAll[bson.M](context.Background(), coll, filter,
		options.Find().SetProjection(bson.M{"n": 1}).SetSort(bson.D{{Key: "at", Value: -1}}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		got = append(got, fmt.Sprint((*d)["_id"], ":", (*d)["n"], ":", len(*d)))
	}
	if want := []string{"c:7:2", "b:5:2", "a:5:2"}; !slices.Equal(got, want) {
		t.Fatalf("got %v (_id:n:fields), want %v", got, want)
	}
}

func TestQueries_AnArrayWrittenLaterIsStillMatched(t *testing.T) {
	ctx := context.Background()
	_, coll := itemsForQueries(t)
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if got := ids(t, coll, bson.M{"kind": "k1"}, byID); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("before: %v", got)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "g", "kind": bson.A{"k1", "k9"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, bson.M{"_id": "e"}, bson.M{"$set": bson.M{"kind": bson.A{"k1"}}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, coll, bson.M{"kind": "k1"}, byID); !slices.Equal(got, []string{"a", "b", "e", "g"}) {
		t.Fatalf("after arrays were written: %v", got)
	}
}

func TestQueries_WritesByFilterAndSort(t *testing.T) {
	ctx := context.Background()
	_, coll := itemsForQueries(t)

	// findAndModify takes the first match in sort order
	var got struct {
		ID string `bson:"_id"`
	}
	err := coll.FindOneAndUpdate(ctx, bson.M{"kind": "k1"}, bson.M{"$set": bson.M{"picked": true}},
		options.FindOneAndUpdate().SetSort(bson.D{{Key: "at", Value: -1}})).Decode(&got)
	if err != nil || got.ID != "b" {
		t.Fatalf("findAndModify took %q (%v), want b", got.ID, err)
	}
	res, err := coll.UpdateMany(ctx, bson.M{"n": bson.M{"$gte": 5}}, bson.M{"$inc": bson.M{"seen": 1}})
	if err != nil || res.MatchedCount != 3 {
		t.Fatalf("updateMany matched %v (%v), want 3", res, err)
	}
	del, err := coll.DeleteMany(ctx, bson.M{"kind": "k3"})
	if err != nil || del.DeletedCount != 2 {
		t.Fatalf("deleteMany deleted %v (%v), want 2", del, err)
	}
	if n, err := coll.CountDocuments(ctx, bson.M{"seen": 1}); err != nil || n != 3 {
		t.Fatalf("count = %d (%v), want 3", n, err)
	}

	// a document _id is found, updated and deleted by value
	key := bson.D{{Key: "idea", Value: "i1"}, {Key: "customer", Value: owner1}}
	if _, err := coll.InsertOne(ctx, bson.M{"_id": key, "kind": "vote"}); err != nil {
		t.Fatal(err)
	}
	if res, err := coll.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": bson.M{"n": 1}}); err != nil || res.ModifiedCount != 1 {
		t.Fatalf("update by document _id: %v %v", res, err)
	}
	if res, err := coll.DeleteOne(ctx, bson.M{"_id": key}); err != nil || res.DeletedCount != 1 {
		t.Fatalf("delete by document _id: %v %v", res, err)
	}
}

// A data directory written before the fork (or by upstream FerretDB) has indexes on JSON text
// and no record of array paths; start-up rebuilds both.
func TestOpenEmbedded_UpgradesIndexesAndArrayPaths(t *testing.T) {
	if os.Getenv("GUYUB_TEST_MONGODB_URI") != "" {
		t.Skip("embedded only")
	}
	ctx := context.Background()
	dir := t.TempDir()
	warnings := &scanLog{}
	cfg := store.Config{DataDir: dir, Logger: slog.New(warnings)}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	coll := s.DB.Collection("items")
	if err := store.EnsureIndexes(ctx, s.DB, store.Indexes{Collection: "items", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "n", Value: 1}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertMany(ctx, []any{bson.M{"_id": "a", "n": 1, "tags": bson.A{"x"}}, bson.M{"_id": "b", "n": 2, "tags": "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Make the file look as upstream left it.
	raw, err := sql.Open("sqlite", filepath.Join(dir, "db", store.DefaultDatabase+".sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var table string
	if err := raw.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'items'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`DROP INDEX "%s_n_1"`, table),
		fmt.Sprintf(`CREATE INDEX "%[1]s_n_1" ON "%[1]s" (_ferretdb_sjson->"n")`, table),
		fmt.Sprintf(`DROP INDEX "%s__id_"`, table),
		fmt.Sprintf(`CREATE UNIQUE INDEX "%[1]s__id_" ON "%[1]s" (_ferretdb_sjson->"_id")`, table),
		`UPDATE _ferretdb_collections SET settings = json_remove(settings, '$.arrayPaths', '$.arrayPathsKnown') WHERE name = 'items'`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	s, err = store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	coll = s.DB.Collection("items")
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if got := ids(t, coll, bson.M{"tags": "x"}, byID); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("array paths not recovered: %v", got)
	}
	warnings.reset()
	if got := ids(t, coll, bson.M{"n": 2}); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("n = 2: %v", got)
	}
	if got := ids(t, coll, bson.M{"_id": "a"}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("_id = a: %v", got)
	}
	if w := warnings.all(); len(w) != 0 {
		t.Fatalf("indexes not rebuilt, full scans: %v", w)
	}
}

// scanLog keeps the full-scan warnings a store logs.
type scanLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *scanLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *scanLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *scanLog) WithGroup(string) slog.Handler            { return l }
func (l *scanLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == store.FullScanMessage {
		l.mu.Lock()
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "sql" {
				l.msgs = append(l.msgs, a.Value.String())
			}
			return true
		})
		l.mu.Unlock()
	}
	return nil
}
func (l *scanLog) reset()        { l.mu.Lock(); l.msgs = nil; l.mu.Unlock() }
func (l *scanLog) all() []string { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.msgs) }

// $group puts values MongoDB counts equal in one group whatever their type: numbers by value
// (1, 1.0 and int64 1; 0 and -0), null with a missing field, documents key by key in
// order, arrays element by element.
func TestQueries_GroupMatchesMongoDBSemantics(t *testing.T) {
	ctx := context.Background()
	coll := storetest.DB(t).Collection("grouped")
	oid := bson.NewObjectID()
	keys := []any{int32(1), int64(1), 1.0, 0.0, math.Copysign(0, -1), "1", oid, oid, nil,
		bson.D{{Key: "a", Value: 1}, {Key: "b", Value: "x"}}, bson.D{{Key: "a", Value: 1.0}, {Key: "b", Value: "x"}},
		bson.D{{Key: "b", Value: "x"}, {Key: "a", Value: 1}}, bson.A{1, 2}, bson.A{1.0, 2}, true, day(1), day(1)}
	docs := []any{bson.M{"_id": "missing"}}
	for i, k := range keys {
		docs = append(docs, bson.M{"_id": fmt.Sprint(i), "k": k})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	cur, err := coll.Aggregate(ctx, bson.A{bson.M{"$group": bson.M{"_id": "$k", "n": bson.M{"$sum": 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		ID bson.RawValue `bson:"_id"`
		N  int           `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		t.Fatal(err)
	}
	var counts []int
	one := 0
	for _, g := range groups {
		counts = append(counts, g.N)
		if n, ok := g.ID.AsInt64OK(); ok && n == 1 && g.ID.Type != bson.TypeBoolean {
			one = g.N
		}
	}
	slices.Sort(counts)
	// 1 ×3; 0, the ObjectID, null, {a:1,b:"x"}, [1,2], the date ×2; "1", {b:"x",a:1}, true ×1.
	if want := []int{1, 1, 1, 2, 2, 2, 2, 2, 2, 3}; !slices.Equal(counts, want) || one != 3 {
		t.Fatalf("group sizes %v (the group of 1: %d), want %v (3)", counts, one, want)
	}
}
