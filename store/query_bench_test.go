package store_test

import (
	"context"
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

// benchPosts is a collection shaped like the forum's posts at the size where the embedded
// default used to fall over (~20k posts in 200 threads), built once per benchmark run.
var benchPosts struct {
	once    sync.Once
	coll    *mongo.Collection
	threads []bson.ObjectID
	ids     []bson.ObjectID
}

const benchPostCount = 20_000

func postsForBench(b *testing.B) (*mongo.Collection, []bson.ObjectID, []bson.ObjectID) {
	b.Helper()
	benchPosts.once.Do(func() {
		ctx := context.Background()
		db := storetest.Server(b).Client.Database("bench_posts")
		_ = db.Drop(ctx)
		coll := db.Collection("posts")
		if err := store.EnsureIndexes(ctx, db, store.Indexes{Collection: "posts", Models: []mongo.IndexModel{
			{Keys: bson.D{{Key: "thread_id", Value: 1}, {Key: "created_at", Value: 1}}},
			{Keys: bson.D{{Key: "search_dirty", Value: 1}}},
		}}); err != nil {
			b.Fatal(err)
		}
		body := strings.Repeat("Kopinya enak, pengiriman cepat. ", 15)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for t := 0; t < 200; t++ {
			benchPosts.threads = append(benchPosts.threads, bson.NewObjectID())
		}
		docs := make([]any, 0, 1000)
		for i := 0; i < benchPostCount; i++ {
			id := bson.NewObjectID()
			benchPosts.ids = append(benchPosts.ids, id)
			docs = append(docs, bson.M{"_id": id, "thread_id": benchPosts.threads[i%200], "status": "published",
				"created_at": start.Add(time.Duration(i) * time.Minute), "body_md": body, "version": 1,
				"search_dirty": false})
			if len(docs) == cap(docs) {
				if _, err := coll.InsertMany(ctx, docs); err != nil {
					b.Fatal(err)
				}
				docs = docs[:0]
			}
		}
		benchPosts.coll = coll
	})
	return benchPosts.coll, benchPosts.threads, benchPosts.ids
}

func BenchmarkEmbedded_FindByID(b *testing.B) {
	coll, _, ids := postsForBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var doc bson.M
		if err := coll.FindOne(ctx, bson.M{"_id": ids[i%len(ids)]}).Decode(&doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbedded_ThreadPage(b *testing.B) {
	coll, threads, _ := postsForBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		list, err := store.FindAll[bson.M](ctx, coll, bson.M{"thread_id": threads[i%len(threads)], "status": "published"},
			options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(20))
		if err != nil || len(list) != 20 {
			b.Fatal(err, len(list))
		}
	}
}

func BenchmarkEmbedded_ConditionalUpdate(b *testing.B) {
	coll, _, ids := postsForBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := coll.UpdateOne(ctx, bson.M{"_id": ids[i%len(ids)], "version": bson.M{"$gte": 1}},
			bson.M{"$inc": bson.M{"version": 1}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbedded_DirtyPoll(b *testing.B) {
	coll, _, _ := postsForBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := store.FindAll[bson.M](ctx, coll, bson.M{"search_dirty": true}, options.Find().SetLimit(100)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedded_MarkIndexed is the search sync marking 500 posts indexed: one bulk write
// of 500 updates, each guarded by the version it read (search.MarkIndexed).
func BenchmarkEmbedded_MarkIndexed(b *testing.B) {
	coll, _, ids := postsForBench(b)
	ctx := context.Background()
	models := make([]mongo.WriteModel, 500)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range models {
			models[j] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": ids[(i*500+j)%len(ids)], "version": bson.M{"$gte": 1}}).
				SetUpdate(bson.M{"$set": bson.M{"search_dirty": i%2 == 0}})
		}
		if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedded_GroupManyKeys counts 20,000 posts by a key each holds alone: a repair's
// recount of replies per thread at scale has as many groups.
func BenchmarkEmbedded_GroupManyKeys(b *testing.B) {
	coll, _, _ := postsForBench(b)
	ctx := context.Background()
	for b.Loop() {
		cur, err := coll.Aggregate(ctx, bson.A{bson.M{"$group": bson.M{"_id": "$created_at", "n": bson.M{"$sum": 1}}}})
		if err != nil {
			b.Fatal(err)
		}
		var rows []bson.Raw
		if err := cur.All(ctx, &rows); err != nil || len(rows) != benchPostCount {
			b.Fatal(len(rows), err)
		}
	}
}
