package community

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/store"
)

// Activity is one thing a customer did in the community, for their record's timeline.
type Activity struct {
	At     time.Time
	Kind   string // thread, post, idea, vote
	Title  string
	URL    string
	Status Status
	Reason string // a moderator's, when they hid it
}

// ActivityBy lists what a customer did before a time (zero: any), newest first, at most
// limit of each kind: threads and replies, ideas and votes (four queries, joined in Go).
func (s *Service) ActivityBy(ctx context.Context, who bson.ObjectID, before time.Time, limit int) ([]Activity, error) {
	limit = store.Limit(limit, 30, 100)
	newest := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit))
	byAuthor := bson.M{"author_id": who}
	if !before.IsZero() {
		byAuthor["_id"] = bson.M{"$lt": bson.NewObjectIDFromTimestamp(before)}
	}
	posts, err := store.FindAll[Post](ctx, s.posts, byAuthor, newest.SetProjection(bson.M{"history": 0, "body_html": 0}))
	if err != nil {
		return nil, err
	}
	ideas, err := s.findIdeas(ctx, byAuthor, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	voteFilter := bson.M{"customer_id": who}
	if !before.IsZero() {
		voteFilter["at"] = bson.M{"$lt": before}
	}
	votes, err := store.FindAll[IdeaVote](ctx, s.votes, voteFilter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	// Titles of the threads and ideas the posts and votes belong to: two queries.
	var threadIDs, ideaIDs []bson.ObjectID
	for _, p := range posts {
		if p.ParentKind == content.KindIdea {
			ideaIDs = append(ideaIDs, p.ParentID)
		} else {
			threadIDs = append(threadIDs, p.ParentID)
		}
	}
	for _, v := range votes {
		ideaIDs = append(ideaIDs, v.IdeaID)
	}
	threads := map[bson.ObjectID]*Thread{}
	if len(threadIDs) > 0 {
		list, err := s.findThreads(ctx, bson.M{"_id": bson.M{"$in": threadIDs}}, options.Find())
		if err != nil {
			return nil, err
		}
		for _, t := range list {
			threads[t.ID] = t
		}
	}
	parents, err := s.IdeasByID(ctx, ideaIDs)
	if err != nil {
		return nil, err
	}
	var out []Activity
	for _, p := range posts {
		a := Activity{At: p.CreatedAt, Kind: "post", Status: p.Status, Reason: p.ModerationReason}
		if p.Opening {
			a.Kind = "thread"
		}
		if t := threads[p.ParentID]; t != nil {
			a.Title, a.URL = t.Title, t.URL()+"#post-"+p.ID.Hex()
			if p.Opening && a.Reason == "" {
				a.Reason = t.ModerationReason
			}
		} else if i := parents[p.ParentID]; i != nil {
			a.Title, a.URL = i.Title, i.URL()+"#post-"+p.ID.Hex()
		}
		out = append(out, a)
	}
	for _, i := range ideas {
		out = append(out, Activity{At: i.CreatedAt, Kind: "idea", Title: i.Title, URL: i.URL(), Status: i.Status, Reason: i.ModerationReason})
	}
	for _, v := range votes {
		a := Activity{At: v.At, Kind: "vote"}
		if i := parents[v.IdeaID]; i != nil {
			a.Title, a.URL = i.Title, i.URL()
		}
		out = append(out, a)
	}
	return out, nil
}

// EngagedCategories are the forum categories a member takes part in: where they started
// threads or replied, most recent first (two queries by author and one for the threads
// replied to).
func (s *Service) EngagedCategories(ctx context.Context, who bson.ObjectID, limit int) ([]Engagement, error) {
	recent := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(20)
	threads, err := store.FindAll[Thread](ctx, s.threads, bson.M{"author_id": who}, recent)
	if err != nil {
		return nil, err
	}
	posts, err := store.FindAll[Post](ctx, s.posts, bson.M{"author_id": who, "parent_kind": content.KindThread}, recent)
	if err != nil {
		return nil, err
	}
	var parents []bson.ObjectID
	mine := map[bson.ObjectID]bool{}
	for _, p := range posts {
		parents = append(parents, p.ParentID)
		mine[p.ID] = true
	}
	accepted := map[bson.ObjectID]bool{}
	if len(parents) > 0 {
		more, err := store.FindAll[Thread](ctx, s.threads, bson.M{"_id": bson.M{"$in": parents}},
			options.Find().SetProjection(bson.M{"category_id": 1, "accepted_post_id": 1}))
		if err != nil {
			return nil, err
		}
		for _, t := range more {
			if t.AcceptedPostID != nil && mine[*t.AcceptedPostID] {
				accepted[t.CategoryID] = true
			}
		}
		threads = append(threads, more...)
	}
	// Where their answers were accepted first: they know that forum's questions.
	var out []Engagement
	seen := map[bson.ObjectID]bool{}
	for _, first := range []bool{true, false} {
		for _, t := range threads {
			if !seen[t.CategoryID] && accepted[t.CategoryID] == first && len(out) < limit {
				seen[t.CategoryID] = true
				out = append(out, Engagement{CategoryID: t.CategoryID, Accepted: first})
			}
		}
	}
	return out, nil
}

// Engagement is a forum a member takes part in, and whether an answer of theirs was
// accepted there.
type Engagement struct {
	CategoryID bson.ObjectID
	Accepted   bool
}
