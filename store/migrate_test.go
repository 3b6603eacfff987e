package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// target is where a migration goes: a second embedded server, and the MongoDB of
// GUYUB_TEST_MONGODB_URI when it is set.
func migrationTargets(t *testing.T) map[string]func() *mongo.Database {
	t.Helper()
	targets := map[string]func() *mongo.Database{
		"second embedded server": func() *mongo.Database {
			s, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			return s.DB
		},
	}
	if uri := os.Getenv("GUYUB_TEST_MONGODB_URI"); uri != "" {
		targets["MongoDB"] = func() *mongo.Database {
			client, _, err := store.Connect(uri)
			if err != nil {
				t.Fatal(err)
			}
			db := client.Database(fmt.Sprintf("migrate_%d", time.Now().UnixNano()))
			t.Cleanup(func() { _ = db.Drop(context.Background()); _ = client.Disconnect(context.Background()) })
			return db
		}
	}
	return targets
}

func TestMigrate_CopiesEveryDocumentAndIndexOnceAndResumes(t *testing.T) {
	ctx := context.Background()
	src := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, src,
		store.Indexes{Collection: "posts", Models: []mongo.IndexModel{
			{Keys: bson.D{{Key: "thread_id", Value: 1}, {Key: "created_at", Value: -1}}},
			{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		}},
		store.Indexes{Collection: "customers", Models: []mongo.IndexModel{
			{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		}}); err != nil {
		t.Fatal(err)
	}
	thread := bson.NewObjectID()
	var posts []any
	for i := range 1300 {
		posts = append(posts, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "thread_id", Value: thread}, {Key: "slug", Value: fmt.Sprintf("post-%d", i)},
			{Key: "created_at", Value: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)}, {Key: "body", Value: "Kopi enak 🙂"}, {Key: "likes", Value: int32(i % 7)}})
	}
	if _, err := src.Collection("posts").InsertMany(ctx, posts); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Collection("customers").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "email", Value: "ayu@example.com"}, {Key: "purchases", Value: bson.A{bson.D{{Key: "amount", Value: int64(150000)}}}}},
		bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "name", Value: "no email"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Collection("settings").InsertOne(ctx, bson.D{{Key: "_id", Value: "rules"}, {Key: "max_links", Value: int32(3)}}); err != nil {
		t.Fatal(err)
	}

	for name, target := range migrationTargets(t) {
		t.Run(name, func(t *testing.T) {
			dst := target()

			// Interrupted after the first batch of posts...
			stopped, stop := context.WithCancel(ctx)
			_, err := store.Migrate(stopped, src, dst, func(coll string, done, _ int64) {
				if coll == "posts" && done > 0 {
					stop()
				}
			})
			if err == nil {
				t.Fatal("a cancelled migration should say so")
			}
			// ...then run again: it finishes.
			rep, err := store.Migrate(ctx, src, dst, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, coll := range []string{"customers", "posts", "settings"} {
				srcSum, srcN, err1 := store.Checksum(ctx, src.Collection(coll))
				dstSum, dstN, err2 := store.Checksum(ctx, dst.Collection(coll))
				if err := errors.Join(err1, err2); err != nil || srcSum != dstSum || srcN != dstN {
					t.Fatalf("%s: %d documents (%x) became %d (%x): %v", coll, srcN, srcSum, dstN, dstSum, err)
				}
			}
			if got := indexNames(t, dst.Collection("posts")); !slices.Equal(got, []string{"_id_", "slug_1", "thread_id_1_created_at_-1"}) {
				t.Fatalf("posts indexes: %v", got)
			}
			// The unique index arrived: a second customer with the same email is refused.
			if _, err := dst.Collection("customers").InsertOne(ctx, bson.M{"email": "ayu@example.com"}); !mongo.IsDuplicateKeyError(err) {
				t.Fatalf("unique email on the target: %v", err)
			}
			if len(rep.Collections) != 3 {
				t.Fatalf("report: %+v", rep.Collections)
			}

			// A second run finds everything in place and copies nothing.
			rep, err = store.Migrate(ctx, src, dst, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rep.Collections {
				if !c.Skipped || c.Copied != 0 {
					t.Fatalf("second run copied %s again: %+v", c.Name, c)
				}
			}
		})
	}
}

func indexNames(t *testing.T, coll *mongo.Collection) []string {
	t.Helper()
	cur, err := coll.Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(context.Background(), &specs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}
