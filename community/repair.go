package community

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
)

// RepairReport says what repair found wrong and put right.
type RepairReport struct {
	Posts, PostsFixed     int
	Threads, ThreadsFixed int
	Ideas, IdeasFixed     int
}

// Repair recomputes every denormalised count from the raw documents: each post's likes from
// post_likes, each thread's and idea's reply count from its published posts, each idea's
// votes from idea_votes. It streams the posts and writes only what differs.
func (s *Service) Repair(ctx context.Context) (RepairReport, error) {
	var rep RepairReport
	likes, err := countBy(ctx, s.likes, nil, "$post_id")
	if err != nil {
		return rep, err
	}
	votes, err := countBy(ctx, s.votes, nil, "$idea_id")
	if err != nil {
		return rep, err
	}
	// A vote is in its idea's trending count while it is within the window.
	cutoff := s.now().Add(-TrendingWindow)
	if _, err := s.votes.UpdateMany(ctx, bson.M{"at": bson.M{"$gte": cutoff}, "in_window": bson.M{"$ne": true}}, bson.M{"$set": bson.M{"in_window": true}}); err != nil {
		return rep, fmt.Errorf("repair trending: %w", err)
	}
	if _, err := s.votes.UpdateMany(ctx, bson.M{"at": bson.M{"$lt": cutoff}, "in_window": true}, bson.M{"$unset": bson.M{"in_window": ""}}); err != nil {
		return rep, fmt.Errorf("repair trending: %w", err)
	}
	trend, err := countBy(ctx, s.votes, bson.M{"in_window": true}, "$idea_id")
	if err != nil {
		return rep, err
	}
	replies := map[bson.ObjectID]int{}
	cur, err := s.posts.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"parent_id": 1, "opening": 1, "status": 1, "counted": 1, "likes": 1}))
	if err != nil {
		return rep, fmt.Errorf("repair posts: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var p Post
		if err := cur.Decode(&p); err != nil {
			return rep, fmt.Errorf("repair posts: %w", err)
		}
		rep.Posts++
		counted := p.Status == content.StatusPublished && !p.Opening
		if counted {
			replies[p.ParentID]++
		}
		if counted != p.Counted || likes[p.ID] != p.Likes {
			rep.PostsFixed++
			if _, err := s.posts.UpdateOne(ctx, bson.M{"_id": p.ID}, bson.M{"$set": bson.M{"counted": counted, "likes": likes[p.ID]}}); err != nil {
				return rep, fmt.Errorf("repair post: %w", err)
			}
		}
	}
	if err := cur.Err(); err != nil {
		return rep, fmt.Errorf("repair posts: %w", err)
	}
	rep.Threads, rep.ThreadsFixed, err = fixCounts(ctx, s.threads, func(id bson.ObjectID) bson.M {
		return bson.M{"reply_count": replies[id]}
	})
	if err != nil {
		return rep, err
	}
	rep.Ideas, rep.IdeasFixed, err = fixCounts(ctx, s.ideas, func(id bson.ObjectID) bson.M {
		return bson.M{"reply_count": replies[id], "vote_count": votes[id], "trend_votes": trend[id]}
	})
	return rep, err
}

// countBy counts a collection's documents (those matching match, if any) per value of
// field, with one aggregation.
func countBy(ctx context.Context, coll *mongo.Collection, match bson.M, field string) (map[bson.ObjectID]int, error) {
	pipeline := bson.A{bson.M{"$group": bson.M{"_id": field, "n": bson.M{"$sum": 1}}}}
	if match != nil {
		pipeline = append(bson.A{bson.M{"$match": match}}, pipeline...)
	}
	cur, err := coll.Aggregate(ctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", coll.Name(), err)
	}
	var rows []struct {
		ID bson.ObjectID `bson:"_id"`
		N  int           `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("repair %s: %w", coll.Name(), err)
	}
	out := make(map[bson.ObjectID]int, len(rows))
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// fixCounts sets each document's counters to want(id) where they differ.
func fixCounts(ctx context.Context, coll *mongo.Collection, want func(bson.ObjectID) bson.M) (seen, fixed int, err error) {
	cur, err := coll.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"reply_count": 1, "vote_count": 1, "trend_votes": 1}))
	if err != nil {
		return 0, 0, fmt.Errorf("repair %s: %w", coll.Name(), err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var doc bson.M
		if err := cur.Decode(&doc); err != nil {
			return seen, fixed, fmt.Errorf("repair %s: %w", coll.Name(), err)
		}
		seen++
		id, _ := doc["_id"].(bson.ObjectID)
		w := want(id)
		for k, v := range w {
			if n, ok := asInt(doc[k]); !ok || n != v.(int) {
				fixed++
				if _, err := coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": w}); err != nil {
					return seen, fixed, fmt.Errorf("repair %s: %w", coll.Name(), err)
				}
				break
			}
		}
	}
	return seen, fixed, cur.Err()
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}
