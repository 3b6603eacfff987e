package community

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/store"
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

// What a write in flight (store.InFlight) can leave half done here, by mark kind: a
// thread's or an idea's reply count (and an idea's votes), named by the parent; a post's
// likes, named by the post.
const markLikes = "likes"

// RepairMarked recounts what the marks handled name (all on one target, of one kind):
// the counter is recomputed from the raw documents and stored only if no other write on
// the target is in flight and the counter has not moved since it was read. It reports
// whether it is done; if not, the marks stay for the next run.
func (s *Service) RepairMarked(ctx context.Context, kind string, target bson.ObjectID, handled []store.Mark) (bool, error) {
	switch kind {
	case string(content.KindThread), string(content.KindIdea):
		return s.recountParent(ctx, content.Kind(kind), target, handled)
	case markLikes:
		return s.recountLikes(ctx, target, handled)
	}
	return true, nil // not ours
}

// recountParent puts a thread's or idea's reply count right, with its posts' counted
// flags, and an idea's vote counts.
func (s *Service) recountParent(ctx context.Context, kind content.Kind, id bson.ObjectID, handled []store.Mark) (bool, error) {
	coll := s.parentCollection(kind)
	var before struct {
		Replies int `bson:"reply_count"`
		Votes   int `bson:"vote_count"`
		Trend   int `bson:"trend_votes"`
	}
	err := coll.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"reply_count": 1, "vote_count": 1, "trend_votes": 1})).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return true, nil // never written: the crash came before it
	}
	if err != nil {
		return false, fmt.Errorf("recount %s: %w", kind, err)
	}
	posts, err := store.FindAll[Post](ctx, s.posts, bson.M{"parent_id": id},
		options.Find().SetProjection(bson.M{"opening": 1, "status": 1, "counted": 1}))
	if err != nil {
		return false, err
	}
	replies := 0
	var flip []*Post
	for _, p := range posts {
		counted := p.Status == content.StatusPublished && !p.Opening
		if counted {
			replies++
		}
		if counted != p.Counted {
			flip = append(flip, p)
		}
	}
	set := bson.M{"reply_count": replies}
	filter := bson.M{"_id": id, "reply_count": before.Replies}
	if kind == content.KindIdea {
		votes, err := s.votes.CountDocuments(ctx, bson.M{"idea_id": id})
		if err != nil {
			return false, fmt.Errorf("recount votes: %w", err)
		}
		trend, err := s.votes.CountDocuments(ctx, bson.M{"idea_id": id, "in_window": true})
		if err != nil {
			return false, fmt.Errorf("recount votes: %w", err)
		}
		set["vote_count"], set["trend_votes"] = int(votes), int(trend)
		filter["vote_count"], filter["trend_votes"] = before.Votes, before.Trend
	}
	if busy, err := s.inFlight.Busy(ctx, string(kind), id, handled); busy || err != nil {
		return false, err
	}
	for _, p := range flip {
		if _, err := s.posts.UpdateOne(ctx, bson.M{"_id": p.ID, "counted": p.Counted, "status": p.Status},
			bson.M{"$set": bson.M{"counted": !p.Counted}}); err != nil {
			return false, fmt.Errorf("recount %s: %w", kind, err)
		}
	}
	res, err := coll.UpdateOne(ctx, filter, bson.M{"$set": set})
	if err != nil {
		return false, fmt.Errorf("recount %s: %w", kind, err)
	}
	return res.MatchedCount == 1, nil
}

// recountLikes puts a post's like count right.
func (s *Service) recountLikes(ctx context.Context, id bson.ObjectID, handled []store.Mark) (bool, error) {
	var before struct {
		Likes int `bson:"likes"`
	}
	err := s.posts.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"likes": 1})).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("recount likes: %w", err)
	}
	likes, err := s.likes.CountDocuments(ctx, bson.M{"post_id": id})
	if err != nil {
		return false, fmt.Errorf("recount likes: %w", err)
	}
	if busy, err := s.inFlight.Busy(ctx, markLikes, id, handled); busy || err != nil {
		return false, err
	}
	res, err := s.posts.UpdateOne(ctx, bson.M{"_id": id, "likes": before.Likes}, bson.M{"$set": bson.M{"likes": int(likes)}})
	if err != nil {
		return false, fmt.Errorf("recount likes: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// DeleteAllBy deletes every thread, reply, comment and idea a member wrote, through the same
// status changes as one by one, so that counts follow (their erasure, when they ask for
// their words to go). A page of 200 at a time by the author's indexes.
func (s *Service) DeleteAllBy(ctx context.Context, member bson.ObjectID) error {
	for _, coll := range []*mongo.Collection{s.posts, s.ideas} {
		for {
			list, err := store.FindAll[bson.M](ctx, coll, bson.M{"author_id": member, "status": bson.M{"$ne": content.StatusDeleted}},
				options.Find().SetProjection(bson.M{"_id": 1, "opening": 1, "parent_id": 1}).SetLimit(200))
			if err != nil {
				return err
			}
			if len(list) == 0 {
				break
			}
			for _, d := range list {
				if err := s.deleteOne(ctx, coll == s.ideas, *d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Service) deleteOne(ctx context.Context, idea bool, d bson.M) error {
	id, _ := d["_id"].(bson.ObjectID)
	if idea {
		_, err := s.SetIdeaStatus(ctx, id, content.StatusDeleted, "")
		return err
	}
	if d["opening"] == true { // the thread goes with its opening post
		parent, _ := d["parent_id"].(bson.ObjectID)
		if _, err := s.SetThreadStatus(ctx, parent, content.StatusDeleted, ""); err != nil {
			return err
		}
	}
	_, err := s.SetPostStatus(ctx, id, content.StatusDeleted, "")
	return err
}
