package community

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/store"
)

// Listed is a public page for search engines: its address and when it last changed.
type Listed struct {
	URL     string
	Updated time.Time
}

// PublicThreads lists the published threads started in [from, to), oldest first: one
// sitemap's worth, read by _id (an ObjectID holds its creation time) through the
// (status, _id) index.
func (s *Service) PublicThreads(ctx context.Context, from, to time.Time, limit int) ([]Listed, error) {
	list, err := store.FindAll[Thread](ctx, s.threads, createdWithin(from, to),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.M{"slug": 1, "last_post_at": 1, "updated_at": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(list))
	for i, t := range list {
		out[i] = Listed{URL: t.URL(), Updated: later(t.LastPostAt, t.UpdatedAt)}
	}
	return out, nil
}

// PublicIdeas lists the published ideas submitted in [from, to), oldest first.
func (s *Service) PublicIdeas(ctx context.Context, from, to time.Time, limit int) ([]Listed, error) {
	list, err := store.FindAll[Idea](ctx, s.ideas, createdWithin(from, to),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.M{"slug": 1, "updated_at": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(list))
	for i, idea := range list {
		out[i] = Listed{URL: idea.URL(), Updated: idea.UpdatedAt}
	}
	return out, nil
}

// FirstPublic is when the oldest published thread and idea were made (zero: none yet).
func (s *Service) FirstPublic(ctx context.Context) (threads, ideas time.Time, err error) {
	first := func(coll *mongo.Collection) (time.Time, error) {
		var doc struct {
			ID bson.ObjectID `bson:"_id"`
		}
		err := coll.FindOne(ctx, bson.M{"status": content.StatusPublished},
			options.FindOne().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(bson.M{"_id": 1})).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return time.Time{}, nil
		}
		return doc.ID.Timestamp(), err
	}
	if threads, err = first(s.threads); err != nil {
		return
	}
	ideas, err = first(s.ideas)
	return
}

func createdWithin(from, to time.Time) bson.M {
	return bson.M{"status": content.StatusPublished,
		"_id": bson.M{"$gte": bson.NewObjectIDFromTimestamp(from), "$lt": bson.NewObjectIDFromTimestamp(to)}}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
